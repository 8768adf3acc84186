"""Issue 13, the network edge: hostile hosts and servers on loopback never hang the client, never
make it follow a secret elsewhere, never exhaust its memory, and never leak what the host hides."""

from __future__ import annotations

import gzip
import signal
import socket
import threading
import time
import tracemalloc

import pytest

from capnb import BasicAuth, Client, OAuth
from capnb.config import DEFAULT_MAX_BODY_BYTES, is_loopback, resolve_host
from capnb.errors import (
    ApiError,
    CapnbError,
    ConfigError,
    ResponseFormatError,
    TransportError,
)
from tests.scripted import RawServer, Scripted, ScriptedServer

TOKEN = {"data": {"accessToken": "tok", "ttlSeconds": 60}, "errors": None}


@pytest.mark.parametrize("host", [
    "http://evil.example\\@127.0.0.1:8765",
    "http://evil.example\\@localhost:8765",
    "https://evil.example\\@127.0.0.1",
    "http://127.0.0.1\\@evil.example",
    "http://127.0.0.1:8765\\path",
])
def test_host_with_backslash_is_refused(host: str) -> None:
    """urllib3 reads ``http://evil.example\\@127.0.0.1`` as host evil.example; the check must
    not read it as loopback."""
    with pytest.raises(ConfigError):
        resolve_host(host)
    assert not is_loopback(host)


def test_loopback_is_decided_from_the_dialled_host() -> None:
    assert is_loopback("http://127.0.0.1:8765")
    assert is_loopback("http://localhost:1")
    assert is_loopback("http://[::1]:1")
    assert not is_loopback("http://evil.example\\@127.0.0.1:8765")
    assert not is_loopback("http://evil.example#@127.0.0.1")


@pytest.mark.parametrize("host", [
    "https://store.server:hunter2-secret@eu.api.capillarytech.com",
    "http://store.server:hunter2-secret@127.0.0.1:8765",
    "store.server:hunter2-secret@eu.api.capillarytech.com",
    "https://hunter2-secret@eu.api.capillarytech.com",
])
def test_userinfo_in_host_is_refused_without_echoing_it(host: str) -> None:
    with pytest.raises(ConfigError) as raised:
        resolve_host(host)
    assert "hunter2" not in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        Client(host, BasicAuth("till", "pw"))
    assert "hunter2" not in str(raised.value)
    assert "hunter2" not in repr(raised.value)


def test_bad_host_messages_never_echo_userinfo() -> None:
    """Every refusal of a host with userinfo hides it, whatever else is wrong with the URL."""
    for host in ("ftp://u:hunter2@x.example", "http://u:hunter2@evil.example",
                 "https://u:hunter2@x.example/?q=1", "https://u:hunter2@[::1"):
        with pytest.raises(CapnbError) as raised:
            resolve_host(host)
        assert "hunter2" not in str(raised.value), host


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_token_request_never_follows_a_redirect(scripted, status: int) -> None:
    """The token POST carries the client secret: a redirect must not carry it elsewhere."""
    elsewhere = ScriptedServer()
    try:
        elsewhere.add(Scripted(200, TOKEN))
        location = elsewhere.url.replace("127.0.0.1", "localhost") + "/steal"
        scripted.add(Scripted(status, {}, {"Location": location}))
        client = Client(scripted.url, OAuth("key", "very-secret"), max_retries=0)
        with pytest.raises(ApiError) as raised:
            client.programs()
        assert elsewhere.requests == []
        assert len(scripted.requests) == 1
        assert str(status) in str(raised.value)
        assert "localhost" in str(raised.value)
        assert "very-secret" not in str(raised.value)
    finally:
        elsewhere.close()


def trickle(head: bytes, drip: bytes = b"x", every: float = 0.25, count: int = 200):
    def respond(conn: socket.socket, stop: threading.Event, request: bytes) -> None:
        conn.sendall(head)
        for _ in range(count):  # bounded: at most count * every seconds
            if stop.wait(every):
                return
            conn.sendall(drip)
    return respond


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 150\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Slow: ",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
], ids=["body", "headers", "chunked"])
def test_a_trickling_server_cannot_hold_an_attempt_past_its_deadline(head: bytes) -> None:
    """``timeout`` bounds the whole attempt (connect, headers and body), not each read."""
    server = RawServer(trickle(head, b"x" if b"chunked" not in head else b"1\r\nx\r\n"))
    try:
        client = Client(server.url, BasicAuth("till", "pw"), timeout=1.0, max_retries=0)
        started = time.monotonic()
        with pytest.raises(TransportError, match="timed out"):
            client.programs()
        assert time.monotonic() - started < 3.0
    finally:
        server.close()


def test_a_trickling_tls_handshake_cannot_hold_an_attempt_past_its_deadline() -> None:
    """urllib3 shakes hands before the request arms the watchdog; CPython's ssl bounds the whole
    handshake by the socket timeout, so a server trickling it still cannot hold the attempt."""
    record = b"\x16\x03\x03\x3f\xff"  # a TLS handshake record of 16 KB, sent a byte at a time
    server = RawServer(trickle(record, b"\x00"), on_connect=True)
    try:
        client = Client(server.url.replace("http:", "https:"), BasicAuth("till", "pw"),
                        timeout=1.0, max_retries=0)
        started = time.monotonic()
        with pytest.raises(TransportError):
            client.programs()
        assert time.monotonic() - started < 3.0
    finally:
        server.close()


def bomb(decoded_mb: int) -> bytes:
    return gzip.compress(b'{"data": "' + b"a" * (decoded_mb << 20) + b'"}', compresslevel=9)


def test_a_decompression_bomb_is_cut_off_at_the_cap(scripted) -> None:
    """A small gzip answer that decodes to 48 MB: read in a streaming way, stopped past the
    cap, never held whole in memory, and not retried."""
    scripted.add(*[Scripted(200, bomb(48), {"Content-Encoding": "gzip"})] * 3)
    client = Client(scripted.url, BasicAuth("till", "pw"), max_retries=2, max_body_bytes=1 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(ResponseFormatError, match="larger than"):
            client.programs()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    assert len(scripted.requests) == 1


def test_the_body_cap_has_a_documented_default_for_plain_and_gzip_bodies(scripted) -> None:
    assert DEFAULT_MAX_BODY_BYTES == 32 << 20
    client = Client(scripted.url, BasicAuth("till", "pw"), max_retries=0)
    assert client.max_body_bytes == DEFAULT_MAX_BODY_BYTES
    scripted.add(Scripted(200, bomb(40), {"Content-Encoding": "gzip"}),
                 Scripted(200, b'{"data": "' + b"a" * (40 << 20) + b'"}'))
    for _ in range(2):
        with pytest.raises(ResponseFormatError, match="larger than"):
            client.programs()
    with pytest.raises(CapnbError, match="max_body_bytes"):
        Client(scripted.url, BasicAuth("till", "pw"), max_body_bytes=0)


@pytest.mark.parametrize("body", [
    b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"data": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}",
    b'{"data": "\xff\xfe\xfa"}',
    b"\xef\xbb\xbf\xff",
], ids=["deep-list", "deep-object", "bad-utf8", "bad-bom"])
def test_undecodable_bodies_are_response_format_errors(scripted, body: bytes) -> None:
    scripted.add(Scripted(200, body))
    client = Client(scripted.url, BasicAuth("till", "pw"), max_retries=0)
    with pytest.raises(ResponseFormatError):
        client.programs()


def failing_forever(scripted, count: int = 20) -> None:
    scripted.add(*[Scripted(503, {}, {"Retry-After": "3"})] * count)


def programs_in_a_thread(client: Client) -> tuple[threading.Thread, list[BaseException]]:
    """``client.programs()`` running in a thread; what it raised lands in the list."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            client.programs()
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    return worker, outcome


def test_cancel_stops_the_retries_of_requests_already_running(scripted) -> None:
    """After ``cancel`` a running request makes no new attempt: its retry sleep ends at once."""
    failing_forever(scripted)
    client = Client(scripted.url, BasicAuth("till", "pw"), max_retries=5)
    worker, outcome = programs_in_a_thread(client)
    deadline = time.monotonic() + 5
    while not scripted.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    started = time.monotonic()
    client.cancel()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert time.monotonic() - started < 1.0
    assert len(scripted.requests) == 1
    assert isinstance(outcome[0], TransportError) and "cancel" in str(outcome[0])
    # A request started after the cancellation runs as usual.
    scripted.plan.clear()
    scripted.add(Scripted(200, {"data": [], "errors": None}))
    client.programs()


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="Ctrl-C reaches the main thread only")
def test_ctrl_c_in_the_calling_thread_stops_the_retries_of_other_threads(
        scripted, default_sigint) -> None:
    """Ctrl-C while the calling thread waits to retry stops the other threads' retries too."""
    failing_forever(scripted)
    client = Client(scripted.url, BasicAuth("till", "pw"), max_retries=5)
    worker, outcome = programs_in_a_thread(client)
    main = threading.main_thread().ident
    timer = threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT))  # a real Ctrl-C
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        client.programs()
    started = time.monotonic()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert time.monotonic() - started < 1.0
    assert len(scripted.requests) == 2
    assert isinstance(outcome[0], TransportError)
