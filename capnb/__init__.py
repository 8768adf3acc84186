"""capnb: Capillary loyalty promotion analytics for JupyterLab.

Fetch the *Get Customer Promotion Details* (``actionSummary``) and *Get Loyalty Promotion by ID*
endpoints as typed pandas DataFrames, from a real cluster or the embedded sandbox::

    import capnb
    with capnb.sandbox.Sandbox(customers=1000) as sb:
        client = sb.client()
        summary = client.action_summary(388000001, 3334, 1133600978)
"""

import logging

__version__ = "0.1.0"

from capnb.auth import BasicAuth, OAuth  # noqa: E402
from capnb.client import Client, connect  # noqa: E402
from capnb.cohort import Cohort, FetchInterrupted, fetch_cohort  # noqa: E402
from capnb.errors import (  # noqa: E402
    ApiError,
    AuthenticationError,
    BadRequest,
    CapnbError,
    CapnbWarning,
    ConfigError,
    CustomerNotFound,
    NotFound,
    PermissionDenied,
    ProgramNotFound,
    PromotionNotFound,
    RateLimited,
    ReportError,
    ResponseFormatError,
    ServerError,
    StoreError,
    TransportError,
    ValidationError,
)
from capnb.exact_usage import ExactUsage, fetch_exact_usage  # noqa: E402
from capnb.models import ActionSummary, ApiWarning, Promotion  # noqa: E402
from capnb.parse import parse_action_summary, parse_promotion  # noqa: E402
from capnb.ratelimit import RateLimiter  # noqa: E402
from capnb.store import Store  # noqa: E402

logging.getLogger("capnb").addHandler(logging.NullHandler())

__all__ = [
    "ActionSummary",
    "ApiError",
    "ApiWarning",
    "AuthenticationError",
    "BadRequest",
    "BasicAuth",
    "CapnbError",
    "CapnbWarning",
    "Client",
    "Cohort",
    "ConfigError",
    "CustomerNotFound",
    "ExactUsage",
    "FetchInterrupted",
    "NotFound",
    "OAuth",
    "PermissionDenied",
    "ProgramNotFound",
    "Promotion",
    "PromotionNotFound",
    "RateLimited",
    "RateLimiter",
    "ReportError",
    "ResponseFormatError",
    "ServerError",
    "Store",
    "StoreError",
    "TransportError",
    "ValidationError",
    "__version__",
    "connect",
    "fetch_cohort",
    "fetch_exact_usage",
    "parse_action_summary",
    "parse_promotion",
]


def __getattr__(name: str):  # pragma: no cover - trivial
    # ``capnb.sandbox`` is imported on first use so ``import capnb`` stays light.
    if name == "sandbox":
        import importlib

        return importlib.import_module("capnb.sandbox")
    raise AttributeError(f"module 'capnb' has no attribute {name!r}")
