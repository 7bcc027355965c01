"""The loopback link: a real WebSocket server on 127.0.0.1 and a real client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from rt_widget.loopback import LoopbackServer, PageLink


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[dict[str, Any], PageLink, str]] = []
        self.fallback: list[dict[str, Any]] = []
        self.arrived = threading.Event()

    def on_message(self, msg: dict[str, Any], page: PageLink) -> None:
        self.messages.append((msg, page, threading.current_thread().name))
        self.arrived.set()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


def join(server: LoopbackServer, token: str) -> ClientConnection:
    ws = connect(server.url, open_timeout=5)
    ws.send(json.dumps({"kind": "hello", "token": token}))
    assert json.loads(ws.recv(5)) == {"kind": "ready"}
    return ws


def test_only_loopback_is_listened_on(server: LoopbackServer):
    assert server.url == f"ws://127.0.0.1:{server.port}"


def test_a_page_with_the_token_reaches_the_handler_on_the_link_thread(server: LoopbackServer):
    recorder = Recorder()
    token = server.route(recorder.on_message, recorder.fallback.append)
    with join(server, token) as ws:
        ws.send(json.dumps({"kind": "stats", "t": 1}))
        assert recorder.arrived.wait(5)
        msg, _page, thread = recorder.messages[0]
        assert msg == {"kind": "stats", "t": 1}
        assert thread == "rt-widget-loopback"  # not the kernel's main thread: no waiting for idle


def test_event_batches_are_acknowledged_by_their_last_seq(server: LoopbackServer):
    recorder = Recorder()
    with join(server, server.route(recorder.on_message, recorder.fallback.append)) as ws:
        ws.send(json.dumps({"kind": "events", "stream": "p", "events": [{"seq": 4}, {"seq": 5}]}))
        assert json.loads(ws.recv(5)) == {"kind": "ack", "seq": 5}


def test_an_unknown_token_is_refused(server: LoopbackServer):
    recorder = Recorder()
    server.route(recorder.on_message, recorder.fallback.append)
    with connect(server.url, open_timeout=5) as ws:
        ws.send(json.dumps({"kind": "hello", "token": "guess"}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4003
    assert recorder.messages == []


def test_a_dropped_token_no_longer_joins(server: LoopbackServer):
    recorder = Recorder()
    token = server.route(recorder.on_message, recorder.fallback.append)
    server.drop(token)
    with connect(server.url, open_timeout=5) as ws:
        ws.send(json.dumps({"kind": "hello", "token": token}))
        with pytest.raises(ConnectionClosed):
            ws.recv(5)


def page_of(ws: ClientConnection, recorder: Recorder) -> PageLink:
    """The kernel side of a joined page (it shows with the page's first message)."""
    ws.send(json.dumps({"kind": "stats"}))
    assert recorder.arrived.wait(5)
    return recorder.messages[0][1]


def test_messages_to_the_page_keep_their_order(server: LoopbackServer):
    recorder = Recorder()
    with join(server, server.route(recorder.on_message, recorder.fallback.append)) as ws:
        page = page_of(ws, recorder)
        sender = threading.Thread(target=lambda: [page.send({"kind": "send", "n": n}) for n in range(500)])
        sender.start()  # from another thread, as the kernel's main thread would
        sender.join()
        assert [json.loads(ws.recv(5))["n"] for _ in range(500)] == list(range(500))
    assert recorder.fallback == []


def test_after_the_page_leaves_messages_go_to_the_fallback(server: LoopbackServer):
    recorder = Recorder()
    with join(server, server.route(recorder.on_message, recorder.fallback.append)) as ws:
        page = page_of(ws, recorder)
    deadline = time.monotonic() + 5
    while page.open and time.monotonic() < deadline:
        time.sleep(0.01)
    page.send({"kind": "hangup"})
    assert recorder.fallback == [{"kind": "hangup"}]


def test_a_malformed_message_does_not_end_the_link(server: LoopbackServer):
    recorder = Recorder()
    with join(server, server.route(recorder.on_message, recorder.fallback.append)) as ws:
        ws.send("{not json")
        ws.send(json.dumps({"kind": "stats"}))
        assert recorder.arrived.wait(5)
        assert [m for m, _, _ in recorder.messages] == [{"kind": "stats"}]
