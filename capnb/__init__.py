"""capnb: Capillary loyalty promotion analytics for JupyterLab.

Fetch the *Get Customer Promotion Details* (``actionSummary``) and *Get Loyalty Promotion by ID*
endpoints as typed pandas DataFrames, from a real cluster or the embedded sandbox::

    import capnb
    with capnb.sandbox.Sandbox(customers=1000) as sb:
        client = capnb.connect(sb.environ())
        summary = client.action_summary(388000001, 3334, 1133600978)
"""

import logging

from capnb._version import __version__
from capnb.api.auth import BasicAuth, OAuth
from capnb.api.client import Client, connect
from capnb.api.promotion import parse_promotion
from capnb.api.summary import parse_action_summary
from capnb.errors import (
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
from capnb.fetch.cohort import Cohort, FetchInterrupted
from capnb.fetch.exact_usage import ExactUsage, fetch_exact_usage
from capnb.fetch.program import fetch_program
from capnb.fetch.ratelimit import RateLimiter
from capnb.fetch.sampling import Sample, draw_sample
from capnb.fetch.sequential import fetch_sample
from capnb.fetch.store import Store
from capnb.fetch.summaries import fetch_cohort
from capnb.models import ActionSummary, ApiWarning, Promotion, PromotionsV3

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
    "PromotionsV3",
    "RateLimited",
    "RateLimiter",
    "ReportError",
    "ResponseFormatError",
    "Sample",
    "ServerError",
    "Store",
    "StoreError",
    "TransportError",
    "ValidationError",
    "__version__",
    "connect",
    "draw_sample",
    "fetch_cohort",
    "fetch_exact_usage",
    "fetch_program",
    "fetch_sample",
    "parse_action_summary",
    "parse_promotion",
]


def __getattr__(name: str):  # pragma: no cover - trivial
    # ``capnb.sandbox`` is imported on first use so ``import capnb`` stays light.
    if name == "sandbox":
        import importlib

        return importlib.import_module("capnb.sandbox")
    raise AttributeError(f"module 'capnb' has no attribute {name!r}")
