"""A scripted HTTP server on loopback: it answers from a queue of planned answers and records
every request, for client and transport tests that need answers the sandbox never gives."""

from __future__ import annotations

import json
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
