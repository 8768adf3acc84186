"""Capillary authentication: ``BasicAuth`` (till id + MD5) and ``OAuth`` (client credentials).

An auth object only produces headers. Secrets are kept in private attributes, never shown in
``repr``/``str``, and never placed in URLs, logs or exception messages.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections.abc import Callable

from capnb.errors import ConfigError

OAUTH_HEADER = "X-CAP-API-OAUTH-TOKEN"
TOKEN_PATH = "/v3/oauth/token/generate"
# Renew this many seconds before the token's stated expiry (or a tenth of its life if shorter).
RENEW_MARGIN_SECONDS = 60.0

_MD5_HEX = re.compile(r"[0-9a-fA-F]{32}")

TokenGenerator = Callable[[str, str], tuple[str, float]]
"""Called as ``generate(client_key, client_secret)``; returns ``(token, ttl_seconds)``."""


class Auth:
    """Base class: something that adds authentication headers to a request."""

    def headers(self, generate_token: TokenGenerator) -> dict[str, str]:
        """Return the headers that authenticate one request."""
        raise NotImplementedError

    def renew_after_401(self, sent_headers: dict[str, str]) -> bool:
        """Forget credentials that got a 401; return True when retrying could help."""
        return False

    @property
    def identity(self) -> str:
        """A non-secret name for these credentials (till id or client key), for logs and keys."""
        raise NotImplementedError


class BasicAuth(Auth):
    """HTTP Basic auth as Capillary documents it: ``base64(till_id + ":" + md5hex(password))``.

    >>> BasicAuth("store.server", "server123")
    BasicAuth(till_id='store.server')
    """

    def __init__(self, till_id: str, password: str) -> None:
        if not isinstance(password, str) or not password:
            raise ConfigError("BasicAuth needs a non-empty password")
        self._init(till_id, hashlib.md5(password.encode("utf-8")).hexdigest())

    @classmethod
    def from_md5(cls, till_id: str, md5hex: str) -> BasicAuth:
        """Build from the stored MD5 hex digest of the password instead of the password."""
        if not isinstance(md5hex, str) or not _MD5_HEX.fullmatch(md5hex.strip()):
            raise ConfigError("BasicAuth.from_md5 needs a 32-character hex MD5 digest")
        self = cls.__new__(cls)
        self._init(till_id, md5hex.strip().lower())
        return self

    def _init(self, till_id: str, md5hex: str) -> None:
        if not isinstance(till_id, str) or not till_id.strip() or ":" in till_id:
            raise ConfigError("BasicAuth needs a till id without ':'")
        self._till_id = till_id.strip()
        token = base64.b64encode(f"{self._till_id}:{md5hex}".encode()).decode("ascii")
        self._header = f"Basic {token}"

    @property
    def identity(self) -> str:
        return self._till_id

    def headers(self, generate_token: TokenGenerator) -> dict[str, str]:
        return {"Authorization": self._header}

    def __repr__(self) -> str:
        return f"BasicAuth(till_id={self._till_id!r})"


class OAuth(Auth):
    """OAuth client credentials: key and secret buy a token sent as ``X-CAP-API-OAUTH-TOKEN``.

    The token is cached and shared by all threads, renewed shortly before it expires and once
    after a 401 (there is no refresh token: the same endpoint is called again).
    """

    def __init__(self, client_key: str, client_secret: str) -> None:
        if not isinstance(client_key, str) or not client_key.strip():
            raise ConfigError("OAuth needs a non-empty client key")
        if not isinstance(client_secret, str) or not client_secret:
            raise ConfigError("OAuth needs a non-empty client secret")
        self._client_key = client_key.strip()
        self._client_secret = client_secret
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()
        self.tokens_generated = 0

    @property
    def identity(self) -> str:
        return self._client_key

    def headers(self, generate_token: TokenGenerator) -> dict[str, str]:
        with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                token, ttl = generate_token(self._client_key, self._client_secret)
                margin = min(RENEW_MARGIN_SECONDS, ttl / 10)
                self._token, self._renew_at = token, time.monotonic() + ttl - margin
                self.tokens_generated += 1
            return {OAUTH_HEADER: self._token}

    def renew_after_401(self, sent_headers: dict[str, str]) -> bool:
        with self._lock:
            # Only drop the token that failed: another thread may already have renewed it.
            if self._token is not None and sent_headers.get(OAUTH_HEADER) == self._token:
                self._token = None
        return True

    def __repr__(self) -> str:
        return f"OAuth(client_key={self._client_key!r})"
