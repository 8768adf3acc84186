"""The sandbox's sockets, threads and lifecycle.

:class:`Sandbox` runs a threaded HTTP/1.1 server in a background thread (``start``/``stop``, or
``serve_forever``); ``_Handler`` and ``_Server`` only move bytes (keep-alive, one write per
response, no Nagle delay) between a socket and :class:`~capnb.sandbox.app.SandboxApp`, which
decides every answer.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from capnb.sandbox.app import (
    SANDBOX_CLIENT_KEY,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_PASSWORD,
    SANDBOX_TILL_ID,
    Request,
    Response,
    SandboxApp,
    v3_error,
)
from capnb.sandbox.data import SandboxData
from capnb.sandbox.faults import FaultPlan

__all__ = ["Sandbox"]

logger = logging.getLogger("capnb.sandbox")


class _Handler(BaseHTTPRequestHandler):
    """Moves bytes between a socket and :class:`SandboxApp`; decides nothing itself."""

    protocol_version = "HTTP/1.1"
    server_version = "capnb-sandbox"
    # A buffered wfile plus no Nagle: headers and body leave in one segment, so keep-alive
    # clients never wait for a delayed ACK (40 ms per request otherwise).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    timeout = 300  # idle keep-alive connections are closed after this many seconds
    server: _Server

    def _dispatch(self) -> None:
        length = self.headers.get("Content-Length")
        try:
            size = int(length) if length else 0
            if size < 0:
                raise ValueError(length)
        except ValueError:
            self.send_error(400, "Invalid Content-Length")
            return
        body = self.rfile.read(size) if size else b""
        request = Request(self.command, self.path, self.headers, body)
        try:
            response = self.server.app.respond(request)
        except Exception:
            logger.exception("sandbox failed to answer %s %s", self.command, self.path)
            response = v3_error(500, 500, "Internal server error")
            response.headers.append(("X-Cap-Requestid", self.server.app.next_request_id()))
        self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if response.reset_after is None:
            self.wfile.write(response.body)
        else:  # an injected fault: the connection dies mid-body
            self.wfile.write(response.body[: response.reset_after])
            self.wfile.flush()
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def send_error(self, code: int, message: str | None = None, explain: str | None = None
                   ) -> None:
        """Malformed requests (bad request line, oversized headers...) also get JSON."""
        self.close_connection = True
        response = v3_error(code, code, message or HTTPStatus(code).phrase)
        response.headers.append(("X-Cap-Requestid", self.server.app.next_request_id()))
        response.headers.append(("Connection", "close"))
        self._write(response)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the per-request stderr log of ``BaseHTTPRequestHandler``."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up on every open keep-alive connection so their threads end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Only socket-level failures reach here (the handler answers 500 for its own errors):
        # a client hanging up mid-request is normal, not worth a traceback.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Sandbox:
    """A local Capillary API emulation serving :class:`~capnb.sandbox.data.SandboxData`.

    Parameters
    ----------
    customers, seed
        Size and seed of the generated data (see :class:`SandboxData`).
    host, port
        Where to listen; ``port=0`` picks a free port (read it back from :attr:`url`).
    latency_ms
        Each API request waits ``latency_ms * uniform(0.8, 1.2)`` milliseconds before answering.
    rate_limit_per_min
        Requests accepted per API key (till id or OAuth client key) in any sliding 60-second
        window; more get HTTP 429 with ``Retry-After`` (whole seconds until the oldest accepted
        request leaves the window, at least 1). Refused requests do not count; token generation
        is never limited. None disables the limit.
    token_ttl
        Lifetime in seconds of OAuth tokens.
    error_status
        HTTP status sent with codes 9001, 9002, 3013, 2010 and 4029 (the docs do not say).
    summary_envelope
        ``"v3"`` wraps the action summary in ``{"data", "errors", "warnings"}``; ``"bare"`` sends
        the bare object, as the docs' first example shows.
    rate_limit_window
        Length in seconds of the rate-limit window (60 = the documented per-minute limit; a
        shorter window lets tests exercise limits quickly).
    faults
        A :class:`~capnb.sandbox.faults.FaultPlan` (or its ``{kind: rate}`` dict, seeded with
        ``seed``): API requests fail at those rates in the ways real networks and APIs do.
    promotion_data_variant, extra_promotions
        How ``promotionData`` answers: ``"documented"``, ``"no_timelines"`` (an org without
        ``customerPromotionTimelines``) or ``"older"`` (the ``data``-keyed shape), and how many
        ended, unused promotions it lists before the program's own (see
        :mod:`capnb.sandbox.promotion_data`).

    Use it as a context manager (``start``/``stop``), or ``serve_forever()`` to block.
    """

    def __init__(
        self,
        customers: int = 5000,
        seed: int = 0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        rate_limit_per_min: int | None = None,
        token_ttl: float = 3600,
        error_status: int = 404,
        summary_envelope: str = "v3",
        rate_limit_window: float = 60.0,
        faults: FaultPlan | Mapping[str, float] | None = None,
        promotion_data_variant: str = "documented",
        extra_promotions: int = 0,
    ) -> None:
        self.data = SandboxData(customers, seed)
        if faults is not None and not isinstance(faults, FaultPlan):
            faults = FaultPlan(faults, seed=seed)
        self._app = SandboxApp(self.data, latency_ms=latency_ms,
                               rate_limit_per_min=rate_limit_per_min, token_ttl=token_ttl,
                               error_status=error_status, summary_envelope=summary_envelope,
                               rate_limit_window=rate_limit_window, faults=faults,
                               promotion_data_variant=promotion_data_variant,
                               extra_promotions=extra_promotions)
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._serving = False
        self._lifecycle = threading.Lock()

    def __repr__(self) -> str:
        where = self.url if self._server else "not started"
        return (f"Sandbox(customers={self.data.customers}, seed={self.data.seed}, {where})")

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (the sandbox must be started)."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running: call start() or use `with Sandbox()`")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _bind(self) -> _Server:
        if self._server is None:
            self._server = _Server(self._address, self._app)
        return self._server

    def start(self) -> Sandbox:
        """Listen and serve in a daemon thread; returns self."""
        if self._thread is None and not self._serving:
            server = self._bind()
            self._serving = True
            self._thread = threading.Thread(target=server.serve_forever,
                                            kwargs={"poll_interval": 0.05},
                                            name=f"capnb-sandbox-{self.url}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (from any thread), hang up open connections, release the port.

        Idempotent.
        """
        with self._lifecycle:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        if self._serving:
            server.shutdown()  # returns once serve_forever, in whichever thread, has ended
            self._serving = False
        if thread is not None:
            thread.join()
        server.server_close()
        server.close_connections()

    def serve_forever(self, ready: Callable[[str], object] | None = None) -> None:
        """Serve in the calling thread until interrupted or :meth:`stop` is called (for
        ``capnb sandbox --port``).

        ``ready``, if given, is called with :attr:`url` once the port is bound (useful with
        ``port=0``), just before serving starts.
        """
        server = self._bind()
        self._serving = True
        try:
            if ready is not None:
                ready(self.url)
            server.serve_forever(poll_interval=0.25)
        finally:
            with self._lifecycle:
                owned = self._server is server
                if owned:
                    self._server = None
                    self._serving = False
            if owned:
                server.server_close()
                server.close_connections()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- data and counters -----------------------------------------------------------------

    def catalog(self) -> dict[str, Any]:
        """``org_id``, ``program_id``, ``promotions`` (id, program_id, name, offer_type, status,
        start, end) and ``customer_ids`` (a ``range``, never materialised)."""
        return self.data.catalog()

    def stats(self) -> dict[str, Any]:
        """``requests``, ``by_path`` (route template -> n), ``status_counts`` ("200" -> n),
        ``rate_limited`` (429s sent) and ``tokens_issued`` since the last reset."""
        return self._app.stats()

    def reset_stats(self) -> None:
        self._app.reset_stats()

    def expire_tokens(self) -> None:
        """Make every OAuth token issued so far invalid (the API then answers 401)."""
        self._app.expire_tokens()

    def environ(self, auth: str = "basic") -> dict[str, str]:
        """The ``CAPILLARY_*`` variables that point a client here, with ``"basic"`` or
        ``"oauth"`` credentials: ``capnb.connect(sb.environ())`` configures a client exactly as
        for a real cluster, so the client never knows it talks to the sandbox."""
        if auth == "basic":
            credentials = {"CAPILLARY_TILL_ID": SANDBOX_TILL_ID,
                           "CAPILLARY_PASSWORD": SANDBOX_PASSWORD}
        elif auth == "oauth":
            credentials = {"CAPILLARY_CLIENT_KEY": SANDBOX_CLIENT_KEY,
                           "CAPILLARY_CLIENT_SECRET": SANDBOX_CLIENT_SECRET}
        else:
            raise ValueError(f"auth must be 'basic' or 'oauth', got {auth!r}")
        return {"CAPILLARY_HOST": self.url, **credentials}
