"""Generated bad input against the real loopback link, before and after the token.

Before the token: any frame (binary, not JSON, wrong types, too big), no frame at all, a foreign
``Origin`` or a crowd of connections is refused cheaply. After it: any frame is handled or
dropped with a warning, and the link goes on. Each case ends with a good page joining and
getting its events through, a page joined throughout keeps working, and nothing reaches stderr.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from rt_widget.loopback import (
    HELLO_MAX_BYTES,
    HELLO_TIMEOUT_S,
    MAX_UNAUTHENTICATED,
    MESSAGE_MAX_BYTES,
    LoopbackServer,
    PageLink,
    loopback_origin,
)
from rt_widget.streams import Stream

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Widget:
    """What a widget does with link messages: event batches go through a Stream, in order."""

    def __init__(self) -> None:
        self.stream = Stream()
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def on_message(self, msg: dict[str, Any], page: PageLink) -> None:
        if msg["kind"] == "boom":
            raise RuntimeError("a handler that fails")
        if msg["kind"] == "events":
            with self.lock:
                self.events += self.stream.accept(msg.get("events") or [])

    def seqs(self) -> list[int]:
        with self.lock:
            return [e["seq"] for e in self.events]


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def widget(server: LoopbackServer) -> tuple[Widget, str]:
    widget = Widget()
    return widget, server.route(widget.on_message, lambda msg: None)


@pytest.fixture(scope="module")
def steady(server: LoopbackServer) -> Iterator[tuple[ClientConnection, Widget]]:
    """A page that stays joined through every case: its link must keep working."""
    widget = Widget()
    ws = join(server, server.route(widget.on_message, lambda msg: None))
    yield ws, widget
    ws.close()


@pytest.fixture(autouse=True)
def quiet(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    assert capfd.readouterr().err == ""
    failures = [r for r in caplog.records if r.name.endswith("websocket") and r.levelname in ("ERROR", "CRITICAL")]
    assert failures == [], failures[0].getMessage()
    assert not [r for r in caplog.records if r.name == "asyncio" and r.levelname == "ERROR"]


def join(server: LoopbackServer, token: str, origin: str | None = None) -> ClientConnection:
    ws = connect(server.url, open_timeout=5, origin=origin, max_size=None)  # type: ignore[arg-type]
    ws.send(json.dumps({"kind": "hello", "token": token}))
    assert json.loads(ws.recv(5)) == {"kind": "ready"}
    return ws


_next_seq = iter(range(10**9))


def still_serving(server: LoopbackServer, widget: tuple[Widget, str], steady: tuple[ClientConnection, Widget]):
    """A new page joins and gets a batch through; the page joined all along does too."""
    page, token = widget
    for ws, who in ((join(server, token), page), (steady[0], steady[1])):
        seq = who.stream.next_seq
        ws.send(json.dumps({"kind": "events", "stream": "p", "events": [{"seq": seq, "event": {"type": "ok"}}]}))
        assert json.loads(ws.recv(5)) == {"kind": "ack", "seq": seq}
        deadline = time.monotonic() + 5
        while seq not in who.seqs() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert seq in who.seqs()
        if ws is not steady[0]:
            ws.close()


def closed_code(ws: ClientConnection) -> int | None:
    """The code the server closed with (after any messages still on the way)."""
    try:
        while True:
            ws.recv(HELLO_TIMEOUT_S + 3)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


# -- before the token ----------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
HELLOS = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300),
    JSON_VALUES.map(json.dumps),
    st.dictionaries(st.sampled_from(["kind", "token", "id"]), JSON_VALUES, max_size=3).map(json.dumps),
    st.builds(lambda n: "[" * n, st.integers(1, HELLO_MAX_BYTES)),  # deep nesting within the cap
    st.just(json.dumps({"kind": "hello", "token": "x" * 32})),
)


@FUZZ
@given(frame=HELLOS)
def test_no_frame_without_the_token_joins(frame: str | bytes, server, widget, steady):
    with connect(server.url, open_timeout=5) as ws:
        ws.send(frame)
        assert closed_code(ws) in (4003, 1009, 1008)
    still_serving(server, widget, steady)


def test_a_big_frame_before_the_token_is_refused_unread(server, widget, steady):
    with connect(server.url, open_timeout=5, max_size=None) as ws:
        ws.send(json.dumps({"kind": "hello", "token": "x" * HELLO_MAX_BYTES}))
        assert closed_code(ws) == 1009
    still_serving(server, widget, steady)


def raw_handshake(server: LoopbackServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    return sock


def test_a_400_mb_frame_header_is_refused_before_its_payload(server, widget, steady):
    sock = raw_handshake(server)
    length = 400 * 2**20
    header = bytes([0x81, 0xFF]) + length.to_bytes(8, "big") + os.urandom(4)  # text, masked, 64-bit length
    started = time.monotonic()
    sock.sendall(header + b"\0" * 2**16)
    try:
        while sock.recv(65536):  # the close frame, then the end of the stream
            pass
    except ConnectionResetError:  # closed while we were still sending
        pass
    assert time.monotonic() - started < HELLO_TIMEOUT_S + 1
    sock.close()
    still_serving(server, widget, steady)


REQUESTS = st.one_of(
    st.binary(max_size=400),
    st.builds(lambda h: b"GET / HTTP/1.1\r\nHost: x\r\n" + h + b"\r\n\r\n", st.binary(max_size=200)),
    st.just(b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 100_000 + b"\r\n\r\n"),
)


@settings(FUZZ, max_examples=20)
@given(request=REQUESTS)
def test_raw_bytes_instead_of_a_handshake_are_refused_quietly(request: bytes, server, widget, steady):
    with socket.create_connection(("127.0.0.1", server.port), timeout=HELLO_TIMEOUT_S + 3) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)  # the end of the request: no waiting for more
        try:
            reply = sock.recv(64)
        except (ConnectionResetError, TimeoutError):
            reply = b""
    assert not reply.startswith(b"HTTP/1.1 101")
    still_serving(server, widget, steady)


def test_a_connection_that_says_nothing_is_closed_after_the_hello_timeout(server, widget, steady):
    started = time.monotonic()
    with connect(server.url, open_timeout=5) as ws:
        assert closed_code(ws) == 1008
    assert HELLO_TIMEOUT_S - 0.5 < time.monotonic() - started < HELLO_TIMEOUT_S + 2
    still_serving(server, widget, steady)


def test_a_crowd_of_unauthenticated_connections_is_capped(server, widget, steady):
    crowd: list[ClientConnection] = []
    refused = []
    try:
        for _ in range(MAX_UNAUTHENTICATED + 10):
            try:
                crowd.append(connect(server.url, open_timeout=5))
            except InvalidStatus as exc:
                refused.append(exc.response.status_code)
    finally:
        for ws in crowd:
            ws.close()
    assert len(crowd) == MAX_UNAUTHENTICATED
    assert refused == [503] * 10
    time.sleep(0.2)  # the server notices the closes
    still_serving(server, widget, steady)


BAD_ORIGINS = [
    "http://evil.example",
    "https://localhost.evil.example",
    "http://127.0.0.1.nip.io:8888",
    "null",
    "file://",
    "http://[::2]:8888",
    "http://192.168.1.5:8888",
    "ftp://localhost",
    "http://localhost:8888/path",
    "http://user@localhost:8888",
    "http://localhost:99999",
]
GOOD_ORIGINS = ["http://localhost:8888", "https://127.0.0.1", "http://127.1.2.3:1", "http://[::1]:8888"]
GOOD_ORIGINS += ["http://lab.localhost:8888", "http://LOCALHOST:8888", None]


@pytest.mark.parametrize("origin", BAD_ORIGINS)
def test_a_page_of_another_origin_is_refused(origin: str, server, widget, steady):
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url, open_timeout=5, origin=origin)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    still_serving(server, widget, steady)


@FUZZ
@given(origin=st.text(max_size=40).filter(lambda o: "localhost" not in o.lower() and "127." not in o))
def test_generated_origins_are_refused(origin: str, server, widget, steady):
    assert not loopback_origin(origin)
    if origin.isprintable() and origin.isascii() and origin.strip() == origin and origin:
        with pytest.raises(InvalidStatus):
            connect(server.url, open_timeout=5, origin=origin)  # type: ignore[arg-type]


@pytest.mark.parametrize("origin", GOOD_ORIGINS)
def test_a_loopback_page_joins(origin: str | None, server, widget):
    join(server, widget[1], origin).close()


# -- after the token -----------------------------------------------------------------------------

BAD_ITEMS = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries({"seq": JSON_VALUES, "event": JSON_VALUES}),
    st.fixed_dictionaries({"seq": st.integers(), "event": st.just({}), "t": JSON_VALUES, "call_id": JSON_VALUES}),
)
HUGE_SEQ = '{"kind": "events", "events": [{"seq": %s, "event": {}}, {"seq": 5, "event": {}, "t": %s}]}'

FRAMES = st.one_of(
    st.binary(max_size=500),
    st.text(max_size=500),
    JSON_VALUES.map(json.dumps),
    st.fixed_dictionaries({"kind": JSON_VALUES}).map(json.dumps),
    st.fixed_dictionaries({"kind": st.just("events"), "events": JSON_VALUES}).map(json.dumps),
    st.fixed_dictionaries({"kind": st.just("events"), "events": st.lists(BAD_ITEMS, max_size=4)}).map(json.dumps),
    st.builds(lambda n: "[" * n + "]" * n, st.integers(900, 20_000)),  # deeper than json.loads can go
    st.builds(lambda n: '{"kind": "events", "events": [' + "9" * n + "]}", st.integers(4000, 6000)),
    st.builds(lambda n: HUGE_SEQ % ("9" * n, "9" * n), st.integers(20, 6000)),
    st.just('{"kind": "boom"}'),
    st.just('{"kind": "events", "events": [{"seq": "\\ud83d", "event": {"text": "\\ud83d"}}]}'),
)


@FUZZ
@given(frames=st.lists(FRAMES, min_size=1, max_size=4))
def test_bad_frames_after_the_token_never_end_the_link(frames: list[str | bytes], server, widget, steady):
    page, token = widget
    ws = join(server, token)
    for frame in frames:
        ws.send(frame)
    seq = page.stream.next_seq
    ws.send(json.dumps({"kind": "events", "stream": "p", "events": [{"seq": seq, "event": {"type": "ok"}}]}))
    acks = []
    while not acks or acks[-1]["seq"] != seq:
        acks.append(json.loads(ws.recv(5)))
    assert all(a["kind"] == "ack" for a in acks)
    ws.close()
    still_serving(server, widget, steady)


def test_a_frame_that_is_not_an_object_is_dropped_with_a_warning(server, widget, caplog):
    with join(server, widget[1]) as ws:
        ws.send(b"\xff\xfe not utf-8")
        ws.send("[1, 2]")
        ws.send('{"kind": "events", "events": [{"seq": -1, "event": {}}, "x"]}')
        ws.send('{"kind": "stats"}')  # in order after the others: once it is handled, they were too
        deadline = time.monotonic() + 5
        while caplog.text.count("was dropped") < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert caplog.text.count("it is not a JSON object with a 'kind'") == 2
    assert "A browser event was dropped: it has no whole, non-negative 'seq'" in caplog.text
    assert "A browser event was dropped: it has a str, not an object" in caplog.text


def test_a_frame_over_the_cap_closes_only_its_own_link(server, widget, steady):
    with join(server, widget[1]) as ws:
        ws.send(json.dumps({"kind": "stats", "pad": "x" * MESSAGE_MAX_BYTES}))
        assert closed_code(ws) == 1009
    still_serving(server, widget, steady)


def test_a_batch_just_under_the_cap_goes_through(server, widget, steady):
    page, token = widget
    with join(server, token) as ws:
        seq = page.stream.next_seq
        big = {"seq": seq, "event": {"type": "conversation.item.create", "image": "x" * (MESSAGE_MAX_BYTES - 2000)}}
        ws.send(json.dumps({"kind": "events", "stream": "p", "events": [big]}))
        assert json.loads(ws.recv(10)) == {"kind": "ack", "seq": seq}
    still_serving(server, widget, steady)


def test_a_message_json_cannot_carry_is_refused_when_sent_not_later(server, widget):
    page_link: list[PageLink] = []
    token = server.route(lambda msg, page: page_link.append(page), lambda msg: None)
    with join(server, token) as ws:
        ws.send('{"kind": "stats"}')
        deadline = time.monotonic() + 5
        while not page_link and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(ValueError, match=r"cannot go to the page as JSON"):
            page_link[0].send({"kind": "send", "x": float("nan")})
        page_link[0].send({"kind": "send", "x": 1})
        assert json.loads(ws.recv(5)) == {"kind": "send", "x": 1}


@pytest.mark.parametrize(
    ("origin", "ok"),
    [("http://localhost", True), ("https://a.b.localhost:1", True), ("http://[::1]", True), ("http://[::1", False)],
)
def test_loopback_origin(origin: str, ok: bool):
    assert loopback_origin(origin) is ok
