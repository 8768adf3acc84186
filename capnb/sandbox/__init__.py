"""The embedded sandbox: a local, seeded emulation of the Capillary endpoints capnb uses.

Data: ``catalog`` (the org, program and promotions, their restriction settings and promotion
objects), ``behaviour`` (the candidate events customers bring), ``generate`` (the events the
restrictions admit, and their usage) and ``data`` (:class:`SandboxData`, deterministic from a
seed). HTTP: ``v2`` and ``gateway`` shape the /v2 and api_gateway answers, ``app``
(:class:`~capnb.sandbox.app.SandboxApp`) decides every response (routing, auth, rate limits,
``faults``, stats) and ``server`` (:class:`Sandbox`) serves it over sockets. Restriction names
come from :mod:`capnb.restrictions`; nothing here imports the client:
``capnb.connect(sb.environ())`` points one at a running sandbox.
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
