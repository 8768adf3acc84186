"""Configuration: cluster presets and host URLs, client defaults, and the connection settings.

The connection settings are the ``CAPILLARY_*`` variables (:data:`ENV_VARIABLES`), read from
``os.environ`` or a given mapping by :func:`settings_from_env` and nowhere else.
(``CAPNB_PROGRESS`` and ``CI``, which decide whether progress bars show, are read by
:mod:`capnb.fetch.progress`.) The report settings ``CAPNB_DATA_DIR`` and ``CAPNB_CHROMIUM`` are
read by :func:`report_setting`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import Url, parse_url

from capnb.errors import ConfigError

HOST_PRESETS: dict[str, str] = {
    "eu": "https://eu.api.capillarytech.com",
    "apac": "https://apac.api.capillarytech.com",
    "apac2": "https://apac2.api.capillarytech.com",
    "us": "https://us.api.capillarytech.com",
    "north-america": "https://north-america.api.capillarytech.com",
    "china": "https://api.capillarytech.cn.com",
}

DEFAULT_TIMEOUT = 30.0
"""Seconds each attempt of a request may take as a whole (connect, headers and body)."""
DEFAULT_MAX_RETRIES = 5
"""Retries after the first attempt for retryable failures (connection, timeout, 429, 5xx)."""
DEFAULT_BACKOFF = 0.5
"""Base of the exponential backoff in seconds: 0.5, 1, 2, 4, ... with full jitter."""
DEFAULT_MAX_BACKOFF = 30.0
"""No single wait between retries is longer than this (a longer Retry-After is capped here)."""
DEFAULT_REMOTE_RATE_LIMIT = 100
"""Requests per minute used for non-loopback hosts unless told otherwise: the smallest limit the
Capillary docs mention (demo clusters), so a default run can never trip a brand's limit."""
DEFAULT_WORKERS = 16
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
"""Largest answer body read, in bytes after decompression (32 MiB); a larger one (a
decompression bomb, say) is cut off there and is a ``ResponseFormatError``."""

ENV_HOST = "CAPILLARY_HOST"
ENV_TILL_ID = "CAPILLARY_TILL_ID"
ENV_PASSWORD = "CAPILLARY_PASSWORD"
ENV_PASSWORD_MD5 = "CAPILLARY_PASSWORD_MD5"
ENV_CLIENT_KEY = "CAPILLARY_CLIENT_KEY"
ENV_CLIENT_SECRET = "CAPILLARY_CLIENT_SECRET"
ENV_DATA_DIR = "CAPNB_DATA_DIR"
"""Folder where a report's downloads (``capnb.reports.downloads.download``) are also written as
CSV and Parquet; ``capnb report --data-dir`` sets it for the kernel only."""
ENV_CHROMIUM = "CAPNB_CHROMIUM"
"""The Chromium (or Chrome) executable ``capnb report --pdf`` prints with; default the
``chromium`` or ``chromium-browser`` found on ``PATH``."""
ENV_VARIABLES = (ENV_HOST, ENV_TILL_ID, ENV_PASSWORD, ENV_PASSWORD_MD5, ENV_CLIENT_KEY,
                 ENV_CLIENT_SECRET)

_HOW_TO_CONFIGURE = (
    f"Set {ENV_HOST} (a cluster preset such as 'eu' or an https:// URL) and either "
    f"{ENV_TILL_ID} + {ENV_PASSWORD} (or {ENV_PASSWORD_MD5}) for Basic auth, or "
    f"{ENV_CLIENT_KEY} + {ENV_CLIENT_SECRET} for OAuth. To work offline instead, use the "
    "embedded sandbox: `with capnb.sandbox.Sandbox() as sb: client = "
    "capnb.connect(sb.environ())`."
)


def _shown(host: str) -> str:
    """``host`` for an error message: never what a ``user:password@`` part may hide."""
    return "the host (not shown: it contains '@')" if "@" in host else f"host {host!r}"


def _parse(url: str) -> Url:
    """Parse ``url`` with the parser that opens the connection (urllib3's ``parse_url``).

    Refuses what two URL parsers may read differently: backslashes, whitespace and control
    characters, userinfo (``user:password@``), and any host the standard library reads otherwise.
    """
    if any(ch == "\\" or ch.isspace() or not ch.isprintable() for ch in url):
        raise ConfigError(f"{_shown(url)} contains a backslash, whitespace or a control "
                          "character; give a plain https:// URL")
    try:
        parsed = parse_url(url)
        other = urlsplit(url).hostname
    except (LocationParseError, ValueError):
        raise ConfigError(f"{_shown(url)} is not a valid URL") from None
    if parsed.auth is not None or "@" in (parsed.netloc or ""):
        raise ConfigError("the host URL must not contain a user name or password "
                          "('user:password@'): give credentials through the auth settings")
    dialled = (parsed.host or "").strip("[]").lower()
    if not dialled or dialled != (other or "").lower():
        raise ConfigError(f"{_shown(url)} is ambiguous: its host name cannot be read reliably")
    return parsed


def is_loopback(url: str) -> bool:
    """True when the host that ``url`` dials is this machine (127.0.0.0/8, ::1 or localhost).

    The host is read by the parser that opens the connection; a URL it cannot read without
    ambiguity (see :func:`resolve_host`) is not loopback.
    """
    try:
        host = (_parse(url).host or "").strip("[]").lower()
    except ConfigError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_host(host: str) -> str:
    """Turn a cluster preset or URL into a base URL without trailing slash.

    HTTPS is required for every host that is not loopback. The URL is read by the parser that
    opens the connection (urllib3's), and refused when it carries userinfo
    (``user:password@``, never echoed), a backslash, whitespace, a query or a fragment, or a host
    another parser would read differently.
    """
    if not isinstance(host, str) or not host.strip():
        raise ConfigError(f"host must be a cluster preset ({', '.join(HOST_PRESETS)}) or a URL")
    host = host.strip()
    if host.lower() in HOST_PRESETS:
        return HOST_PRESETS[host.lower()]
    if "://" not in host:
        host = "https://" + host
    parts = _parse(host)
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{_shown(host)} is neither a cluster preset nor an http(s) URL")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"{_shown(host)} uses plain http: credentials would travel unencrypted. "
            "Use https:// (plain http is only allowed for loopback addresses such as the sandbox)."
        )
    if parts.query is not None or parts.fragment is not None:
        raise ConfigError(f"{_shown(host)} must not carry a query string or fragment")
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{parts.host}{port}{(parts.path or '').rstrip('/')}"


@dataclass(frozen=True, repr=False)
class EnvSettings:
    """Connection settings read from the environment. Its repr never shows secrets."""

    host: str
    till_id: str | None = None
    password: str | None = None
    password_md5: str | None = None
    client_key: str | None = None
    client_secret: str | None = None

    def __repr__(self) -> str:
        scheme = "oauth" if self.client_key else "basic"
        return f"EnvSettings(host={self.host!r}, auth={scheme})"


def settings_from_env(environ: Mapping[str, str] | None = None) -> EnvSettings:
    """Read connection settings from ``environ`` (default ``os.environ``).

    Raises ``ConfigError`` naming every variable when the configuration is incomplete.
    """
    env = os.environ if environ is None else environ
    values = {name: (env.get(name) or "").strip() or None for name in ENV_VARIABLES}
    host = values[ENV_HOST]
    if not host:
        raise ConfigError(f"{ENV_HOST} is not set. {_HOW_TO_CONFIGURE}")
    basic = values[ENV_TILL_ID] and (values[ENV_PASSWORD] or values[ENV_PASSWORD_MD5])
    oauth = values[ENV_CLIENT_KEY] and values[ENV_CLIENT_SECRET]
    if not (basic or oauth):
        present = [name for name in ENV_VARIABLES[1:] if values[name]]
        have = f" (found only: {', '.join(present)})" if present else ""
        raise ConfigError(f"No complete credentials in the environment{have}. {_HOW_TO_CONFIGURE}")
    return EnvSettings(
        host=host,
        till_id=values[ENV_TILL_ID],
        password=values[ENV_PASSWORD],
        password_md5=values[ENV_PASSWORD_MD5],
        client_key=values[ENV_CLIENT_KEY],
        client_secret=values[ENV_CLIENT_SECRET],
    )


def report_setting(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of a report setting variable (:data:`ENV_DATA_DIR`, :data:`ENV_CHROMIUM`) in
    ``environ`` (default ``os.environ``), stripped; None when it is unset or blank."""
    if name not in (ENV_DATA_DIR, ENV_CHROMIUM):
        raise ValueError(f"{name!r} is not a capnb report setting")
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return value or None
