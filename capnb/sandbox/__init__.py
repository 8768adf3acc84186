"""The embedded sandbox: a local, seeded emulation of the Capillary endpoints capnb uses.

``data`` generates the org, program, promotions and per-customer events deterministically from a
seed; ``server`` serves them over HTTP exactly in the documented shapes. Nothing here imports
the client: ``capnb.connect(sb.environ())`` points one at a running sandbox.
"""

from capnb.sandbox.app import (
    SANDBOX_CLIENT_KEY,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_PASSWORD,
    SANDBOX_TILL_ID,
)
from capnb.sandbox.catalog import SANDBOX_AS_OF
from capnb.sandbox.data import SandboxData
from capnb.sandbox.faults import FAULT_KINDS, FaultPlan
from capnb.sandbox.generate import Event
from capnb.sandbox.server import Sandbox

__all__ = [
    "SANDBOX_AS_OF",
    "SANDBOX_CLIENT_KEY",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_PASSWORD",
    "SANDBOX_TILL_ID",
    "Event",
    "FAULT_KINDS",
    "FaultPlan",
    "Sandbox",
    "SandboxData",
]
