"""Secrets never leak: reprs, DEBUG logs, exceptions, tracebacks, the store; TLS stays on."""

from __future__ import annotations

import hashlib
import inspect
import logging
import ssl
import subprocess
import threading
import traceback
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import capnb
from capnb.sandbox import SANDBOX_CLIENT_SECRET, SANDBOX_PASSWORD, SANDBOX_TILL_ID

WRONG = "-".join(["wrong", "password", "123"])  # never spelled out where a traceback shows it


def _secrets(*clients: capnb.Client) -> list[str]:
    md5 = hashlib.md5(SANDBOX_PASSWORD.encode()).hexdigest()
    found = [SANDBOX_PASSWORD, md5, SANDBOX_CLIENT_SECRET, WRONG]
    for client in clients:
        token = getattr(client.auth, "_token", None)
        if token:
            found.append(token)
        header = getattr(client.auth, "_header", None)
        if header:
            found.append(header.split()[1])  # the base64 of till:md5
    return found


def test_whole_flow_leaks_no_secret(sandbox, catalog, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # capnb, urllib3 and everything else at DEBUG
    program, promotion = catalog["program_id"], catalog["promotions"][0]["id"]
    ids = list(catalog["customer_ids"][:50])
    basic, oauth = capnb.connect(sandbox.environ("basic")), capnb.connect(sandbox.environ("oauth"))
    texts = []
    store = capnb.Store(tmp_path / "store")
    for client in (basic, oauth):
        summary = client.action_summary(ids[0], program, promotion)
        promo = client.promotion(program, promotion)
        cohort = capnb.fetch_cohort(client, ids + [1, "bad"], program, promotion, store=store,
                                    refresh=True, progress=False)
        texts += [repr(client), str(client), repr(client.auth), repr(summary), repr(promo),
                  repr(cohort), repr(store), cohort.customers.to_string()]
    failures = []
    for call in (lambda: capnb.Client(sandbox.url, capnb.BasicAuth(
                     SANDBOX_TILL_ID, WRONG)).promotion(program, promotion),
                 lambda: capnb.Client(sandbox.url, capnb.OAuth(
                     "sandbox-key", WRONG)).promotion(program, promotion),
                 lambda: basic.action_summary(1, program, promotion)):
        with pytest.raises(capnb.CapnbError) as info:
            call()
        failures.append("".join(traceback.format_exception(info.value)))
    texts += failures + [record.getMessage() for record in caplog.records]
    stored = b"".join(path.read_bytes() for path in store.path.rglob("*") if path.is_file())
    for secret in _secrets(basic, oauth):
        for text in texts:
            assert secret not in text
        assert secret.encode() not in stored
    assert any("actionSummary" in r.getMessage() for r in caplog.records)  # logs did happen


def test_tls_verification_is_on_and_cannot_be_switched_off(tmp_path):
    assert "verify" not in inspect.signature(capnb.Client).parameters
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        client = capnb.Client(f"https://127.0.0.1:{server.server_address[1]}",
                              capnb.BasicAuth("till", "pw"), max_retries=0, timeout=5)
        with pytest.raises(capnb.TransportError, match="SSL"):
            client.promotion(3334, 7)  # self-signed: refused, credentials never sent
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("kwargs", "parameter"), [
    ({"timeout": 0}, "timeout"), ({"timeout": "30"}, "timeout"),
    ({"max_retries": -1}, "max_retries"), ({"max_retries": 1.5}, "max_retries"),
    ({"pool_size": 0}, "pool_size"), ({"backoff": -1}, "backoff"),
])
def test_client_arguments_validated(kwargs, parameter):
    with pytest.raises(capnb.ValidationError) as info:
        capnb.Client("eu", capnb.BasicAuth("till", "pw"), **kwargs)
    assert info.value.parameter == parameter
