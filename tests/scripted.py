"""Servers on loopback for client and transport tests that need answers the sandbox never
gives: a scripted HTTP server answering from a queue and recording every request, and a raw
socket server whose answers are bytes (lying headers, trickles, broken handshakes)."""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Scripted:
    """One planned answer of the scripted server."""

    status: int = 200
    body: object = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class ScriptedServer:
    """A real HTTP server on loopback answering from a queue; records every request it gets."""

    def __init__(self) -> None:
        self.plan: deque[Scripted] = deque()
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append({"method": self.command, "path": self.path,
                                        "headers": dict(self.headers), "body": body})
                answer = server.plan.popleft() if server.plan else Scripted(
                    500, {"errors": [{"code": 500, "message": "script exhausted"}]})
                raw = answer.body if isinstance(answer.body, bytes) else json.dumps(
                    answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("X-Cap-Requestid", f"req-{len(server.requests)}")
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def add(self, *answers: Scripted) -> None:
        self.plan.extend(answers)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class RawServer:
    """A loopback socket server answering each connection with ``respond(conn, stop, head)``,
    where ``head`` is the request's line and headers (empty with ``on_connect``)."""

    def __init__(self, respond, *, on_connect: bool = False) -> None:
        self.on_connect = on_connect  # answer at once, before any request arrives (TLS)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.respond = respond
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                data = b""
                while not self.on_connect and b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                self.respond(conn, self.stop, data)
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
