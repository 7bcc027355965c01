"""Realtime's message handling, with the kernel side of the comm captured."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

import anywidget
import pytest
from websockets.sync.client import connect

import rt_widget as rt
from rt_widget.config import SessionConfig
from rt_widget.providers import Beta, CallAnswer, ConnectError, Local, Provider, Sideband
from rt_widget.session import PageTransport
from tests.conformance import assert_client_event
from tests.samples import REFERENCE_USAGE


class Captured:
    """Collects what the widget sends to the browser."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.arrived = threading.Event()

    def __call__(self, content: dict[str, Any], buffers: Any = None) -> None:
        self.messages.append(content)
        self.arrived.set()

    def wait(self, timeout: float = 15) -> dict[str, Any]:
        assert self.arrived.wait(timeout), "the widget sent nothing"
        return self.messages[-1]


@pytest.fixture
def sent(monkeypatch) -> Captured:
    captured = Captured()
    monkeypatch.setattr(PageTransport, "reply", lambda self, content, page: captured(content))
    return captured


def browser_says(widget: rt.Realtime, msg: dict[str, Any]) -> None:
    widget._on_message(msg)


def test_offer_is_answered_through_the_provider(emulator, rtc_client, sent):
    widget = rt.Realtime(provider=Local(emulator), instructions="Be brief.", voice="marin")
    browser_says(widget, {"kind": "offer", "id": "req-1", "sdp": rtc_client.offer()})

    reply = sent.wait()
    assert reply["kind"] == "answer"
    assert reply["id"] == "req-1"
    assert reply["call_id"].startswith("rtc_")
    assert widget.call_id == reply["call_id"]
    rtc_client.accept(reply["sdp"])
    session = rtc_client.wait_for("session.created")["session"]
    assert session["instructions"] == "Be brief."
    assert session["audio"]["output"]["voice"] == "marin"


class Refusing(Provider):
    name = "refusing"

    async def connect(self, offer_sdp: str, config: SessionConfig) -> CallAnswer:
        raise ConnectError("Creating the call failed with HTTP 401: bad key. Check the API key.")


class Crashing(Provider):
    async def connect(self, offer_sdp: str, config: SessionConfig) -> CallAnswer:
        raise RuntimeError("boom")


def test_provider_errors_go_back_to_the_browser(sent):
    widget = rt.Realtime(provider=Refusing())
    browser_says(widget, {"kind": "offer", "id": "r", "sdp": "v=0"})
    reply = sent.wait()
    assert reply == {
        "kind": "answer",
        "id": "r",
        "error": "Creating the call failed with HTTP 401: bad key. Check the API key.",
    }


def test_unexpected_failures_are_reported_not_swallowed(sent):
    widget = rt.Realtime(provider=Crashing())
    browser_says(widget, {"kind": "offer", "id": "r", "sdp": "v=0"})
    assert sent.wait()["error"] == "Unexpected RuntimeError while creating the call: boom"


class Leaking(Provider):
    """A provider of the user's own whose error text carries its key."""

    async def connect(self, offer_sdp: str, config: SessionConfig) -> CallAnswer:
        raise RuntimeError("Illegal header value b'Bearer sk-proj-a1b2c3d4e5f6g7h8\\n'")


def test_an_unexpected_failures_text_is_redacted(sent, caplog):
    widget = rt.Realtime(provider=Leaking())
    with caplog.at_level(logging.DEBUG):
        browser_says(widget, {"kind": "offer", "id": "r", "sdp": "v=0"})
        error = sent.wait()["error"]
    assert "connect failed" in caplog.text  # the traceback was logged, at DEBUG...
    assert "a1b2c3d4" not in caplog.text  # ...without the key
    assert error.startswith("Unexpected RuntimeError while creating the call: Illegal header value")
    assert "a1b2c3d4" not in error


def wire(seq: int, type_: str, direction: str = "server") -> dict[str, Any]:
    return {
        "seq": seq,
        "direction": direction,
        "t": 1_700_000_000_000 + seq,
        "call_id": "rtc_1",
        "event": {"type": type_},
    }


def test_event_batches_land_in_order_without_duplicates():
    widget = rt.Realtime(provider=Local())
    browser_says(widget, {"kind": "events", "events": [wire(0, "session.created"), wire(1, "a")]})
    browser_says(widget, {"kind": "events", "events": [wire(1, "a"), wire(2, "b", "client")]})

    assert widget.events.types == ["session.created", "a", "b"]
    records = list(widget.events)
    assert [r["seq"] for r in records] == [0, 1, 2]
    assert records[2]["direction"] == "client"
    assert records[0]["call_id"] == "rtc_1"
    assert records[0]["t_browser"] == pytest.approx(1_700_000_000.0)
    assert records[0]["t_kernel"] == pytest.approx(time.time(), abs=60)
    assert list(widget.events.df.columns)[:4] == ["seq", "call_id", "direction", "type"]


def test_each_page_numbers_its_own_events():
    # A reloaded page (or a second one) starts again from 0: its events are not repeats.
    widget = rt.Realtime(provider=Local())
    browser_says(widget, {"kind": "events", "stream": "page-1", "events": [wire(0, "a"), wire(1, "b")]})
    browser_says(widget, {"kind": "events", "stream": "page-2", "events": [wire(0, "c")]})
    browser_says(widget, {"kind": "events", "stream": "page-1", "events": [wire(1, "b"), wire(2, "d")]})
    assert widget.events.types == ["a", "b", "c", "d"]


def test_the_link_is_offered_on_loopback_with_a_token_kept_out_of_state(sent):
    widget = rt.Realtime(provider=Local())
    browser_says(widget, {"kind": "link", "id": "r1"})
    reply = sent.wait()
    assert reply["kind"] == "link"
    assert reply["id"] == "r1"
    assert reply["url"].startswith("ws://127.0.0.1:")
    assert len(reply["token"]) >= 32
    assert reply["token"] not in repr(widget.get_state())

    without = rt.Realtime(provider=Local(), loopback=False)
    browser_says(without, {"kind": "link", "id": "r2"})
    assert sent.wait() == {"kind": "link", "id": "r2", "url": None}


def test_a_page_on_the_link_gets_its_answer_and_the_calls_commands_over_it(emulator, rtc_client, monkeypatch):
    comm = Captured()
    monkeypatch.setattr(anywidget.AnyWidget, "send", lambda self, content, buffers=None: comm(content))
    widget = rt.Realtime(provider=Local(emulator))
    browser_says(widget, {"kind": "link", "id": "r1"})
    offer = comm.wait()
    with connect(offer["url"], open_timeout=5) as link:
        link.send(json.dumps({"kind": "hello", "token": offer["token"]}))
        assert json.loads(link.recv(5)) == {"kind": "ready"}
        link.send(json.dumps({"kind": "offer", "id": "o1", "sdp": rtc_client.offer()}))
        answer = json.loads(link.recv(15))
        assert answer["kind"] == "answer"
        assert answer["id"] == "o1"
        rtc_client.accept(answer["sdp"])
        rtc_client.wait_for("session.created")
        widget._on_message({"kind": "state", "status": "connected", "error": ""})
        widget.send({"type": "response.create"})
        assert json.loads(link.recv(5)) == {"kind": "send", "event": {"type": "response.create"}}
        assert widget._linked()
    assert comm.messages == [offer]  # only the link's own offer went over the comm


def test_commands_reach_the_browser(sent):
    widget = rt.Realtime(provider=Local())
    assert widget._repr_mimebundle_() is not None  # what displaying it does
    widget.connect()
    widget._on_message({"kind": "state", "status": "connected", "error": ""})
    widget.send({"type": "response.create"})
    widget.hangup()
    assert sent.messages == [
        {"kind": "connect"},
        {"kind": "send", "event": {"type": "response.create"}},
        {"kind": "hangup"},
    ]


def test_send_rejects_non_events():
    widget = rt.Realtime(provider=Local())
    with pytest.raises(TypeError, match="a dict with a 'type' string"):
        widget.send({"no_type": 1})


def test_no_secret_in_synced_state(emulator):
    widget = rt.Realtime(provider=Local(emulator))
    state = widget.get_state()
    assert emulator.api_key not in repr(state)
    assert state["provider_name"] == "emulator"


def connected_widget(sent: Captured, **settings: Any) -> rt.Realtime:
    widget = rt.Realtime(provider=Local(), **settings)
    widget._on_message({"kind": "state", "status": "connected", "error": ""})
    return widget


def client_events(sent: Captured) -> list[dict[str, Any]]:
    return [m["event"] for m in sent.messages if m.get("kind") == "send"]


def test_every_client_event_from_python_is_valid_ga(sent):
    widget = connected_widget(sent, voice="marin")
    widget.say("hello")
    widget.update(instructions="Be brief.", threshold=0.7, transcription="whisper-1", voice="cedar")
    widget.update(turn_detection=None, noise_reduction="far_field", tools=[], tool_choice="none")
    widget._ingest({"type": "response.created", "response": {"id": "resp_1"}}, "server")
    widget.interrupt()
    widget.send({"type": "input_audio_buffer.commit"})
    events = client_events(sent)
    assert [e["type"] for e in events] == [
        "conversation.item.create",
        "response.create",
        "session.update",
        "session.update",
        "response.cancel",
        "output_audio_buffer.clear",
        "input_audio_buffer.commit",
    ]
    for event in events:
        assert_client_event(event)
    first_update = events[2]["session"]
    assert first_update["audio"]["input"]["turn_detection"] == {"type": "server_vad", "threshold": 0.7}
    assert first_update["audio"]["output"]["voice"] == "cedar"
    assert "model" not in first_update  # only what changed goes out
    assert events[3]["session"]["audio"]["input"]["turn_detection"] is None


def test_interrupt_without_a_response_only_clears_audio(sent):
    widget = connected_widget(sent)
    widget.interrupt()
    assert [e["type"] for e in client_events(sent)] == ["output_audio_buffer.clear"]


def test_mute_is_a_synced_trait(sent):
    widget = connected_widget(sent)
    widget.mute()
    assert widget.muted is True
    widget.mute(False)
    assert widget.get_state()["muted"] is False


def test_callbacks_and_off():
    widget = rt.Realtime(provider=Local())
    seen, everything = [], []
    widget.on("response.done", seen.append)
    widget.on("*", everything.append)
    browser_says(widget, {"kind": "events", "events": [wire(0, "response.done"), wire(1, "x")]})
    widget.off("response.done", seen.append)
    browser_says(widget, {"kind": "events", "events": [wire(2, "response.done")]})
    assert [e["type"] for e in seen] == ["response.done"]
    assert [e["type"] for e in everything] == ["response.done", "x", "response.done"]


def test_a_failing_callback_does_not_stop_delivery():
    widget = rt.Realtime(provider=Local())
    seen = []
    widget.on("rate_limits.updated", lambda e: 1 / 0)
    widget.on("rate_limits.updated", seen.append)
    browser_says(widget, {"kind": "events", "events": [wire(0, "rate_limits.updated")]})
    assert len(seen) == 1
    assert widget.events.types == ["rate_limits.updated"]


def test_beta_events_are_logged_under_ga_names():
    widget = rt.Realtime(provider=Beta(api_key="sk-test", base_url="http://127.0.0.1:9/v1"))
    beta_events = [
        {"seq": 0, "direction": "server", "t": 1, "event": {"type": "response.text.delta", "event_id": "e0"}},
        {"seq": 1, "direction": "server", "t": 2, "event": {"type": "conversation.item.created", "event_id": "e1"}},
    ]
    browser_says(widget, {"kind": "events", "events": beta_events})
    assert widget.events.types == ["response.output_text.delta", "conversation.item.added"]


def test_sideband_and_browser_copies_merge_by_event_id():
    widget = rt.Realtime(provider=Local())
    event = {"type": "response.done", "event_id": "event_same"}
    widget._ingest(event, "server", call_id="rtc_1")  # from the sideband
    browser_says(widget, {"kind": "events", "events": [{"seq": 0, "direction": "server", "t": 1, "event": event}]})
    assert widget.events.types == ["response.done"]


def test_budget_hangs_up_when_exceeded(sent):
    widget = connected_widget(sent, budget_usd=0.02)

    def done(seq: int) -> dict[str, Any]:
        response = {"id": f"resp_{seq}", "status": "completed", "usage": REFERENCE_USAGE}
        return {"seq": seq, "direction": "server", "t": seq, "event": {"type": "response.done", "response": response}}

    browser_says(widget, {"kind": "events", "events": [done(0)]})
    assert {"kind": "hangup"} not in sent.messages
    browser_says(widget, {"kind": "events", "events": [done(1)]})
    assert {"kind": "hangup"} in sent.messages
    assert widget.error == "The budget of $0.0200 was reached ($0.0212 spent), so the call was ended."


def test_budget_needs_a_priceable_model():
    with pytest.raises(KeyError, match="No price for model 'my-deployment'"):
        rt.Realtime(provider=Local(), model="my-deployment", budget_usd=1)
    with pytest.raises(ValueError, match="budget_usd=-1 is not valid"):
        rt.Realtime(provider=Local(), budget_usd=-1)
    assert rt.Realtime(provider=Local(), model="my-deployment").config.model == "my-deployment"  # no budget: fine


def server_events(*events: dict[str, Any], start: int = 0) -> dict[str, Any]:
    batch = [
        {"seq": start + i, "direction": "server", "t": 1_700_000_000_000, "call_id": "rtc_1", "event": e}
        for i, e in enumerate(events)
    ]
    return {"kind": "events", "events": batch}


def a_call(name: str, arguments: str, call_id: str = "call_1") -> list[dict[str, Any]]:
    return [
        {"type": "response.created", "event_id": f"e1{call_id}", "response": {"id": "resp_1"}},
        {
            "type": "response.function_call_arguments.done",
            "event_id": f"e2{call_id}",
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
        },
        {"type": "response.done", "event_id": f"e3{call_id}", "response": {"id": "resp_1", "status": "completed"}},
    ]


def test_a_tool_registered_while_connected_updates_the_session_and_runs(sent):
    widget = rt.Realtime(provider=Local(), tools=[])
    widget._on_message({"kind": "state", "status": "connected", "error": ""})

    @widget.tool
    def double(x: int) -> int:
        """Twice x."""
        return 2 * x

    update = sent.messages[-1]["event"]
    assert_client_event(update)
    assert [t["name"] for t in update["session"]["tools"]] == ["double"]
    assert widget.config.tools == (rt.Tool(double).definition,)

    sent.arrived.clear()
    browser_says(widget, server_events(*a_call("double", '{"x": 21}')))
    deadline = time.monotonic() + 5
    while len(sent.messages) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    output, create = (m["event"] for m in sent.messages[-2:])
    assert output["item"] == {"type": "function_call_output", "call_id": "call_1", "output": "42"}
    assert create == {"type": "response.create"}
    assert widget.tool_calls[["name", "status", "output"]].to_dict("records") == [
        {"name": "double", "status": "ok", "output": "42"}
    ]


def test_approval_from_the_widget_or_from_python(sent):
    ran: list[str] = []

    def wipe(table: str) -> str:
        """Empties a table."""
        ran.append(table)
        return "wiped"

    widget = rt.Realtime(provider=Local(), tools=[rt.Tool(wipe, needs_approval=True)])
    widget._on_message({"kind": "state", "status": "connected", "error": ""})
    browser_says(widget, server_events(*a_call("wipe", '{"table": "users"}')))
    assert widget._approvals == [{"call_id": "call_1", "name": "wipe", "arguments": '{"table": "users"}'}]
    with pytest.raises(ValueError, match="No call 'call_9' waits for approval"):
        widget.approve("call_9")
    browser_says(widget, {"kind": "approval", "call_id": "call_1", "approved": False})
    assert widget._approvals == []
    assert "denied" in sent.messages[-2]["event"]["item"]["output"]
    with pytest.raises(ValueError, match=r"No call waits for approval"):
        widget.deny()

    browser_says(widget, server_events(*a_call("wipe", '{"table": "logs"}', "call_2"), start=3))
    widget.approve()
    deadline = time.monotonic() + 5
    while not ran and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ran == ["logs"]


def test_tools_that_cannot_be_offered_fail_at_registration():
    widget = rt.Realtime(provider=Local())
    with pytest.raises(TypeError, match="parameter 'x' needs a type hint"):
        widget.tool(lambda_free)
    with pytest.raises(TypeError, match="timeout=0 is not valid"):
        rt.Tool(len_of, timeout=0)
    with pytest.raises(ValueError, match="Two tools are named 'len_of'"):
        rt.Realtime(provider=Local(), tools=[len_of, rt.Tool(len_of)])


def lambda_free(x):  # type: ignore[no-untyped-def]
    """No hints."""
    return x


def len_of(text: str) -> int:
    """Length of a text."""
    return len(text)


# -- what a user sees: the text repr, connect without a view, state messages, the sideband -------


def test_the_text_repr_says_what_the_session_is_and_never_a_key(emulator):
    widget = rt.Realtime(provider=Local(emulator), voice="marin", model="gpt-realtime-mini")
    browser_says(widget, {"kind": "events", "events": [wire(0, "session.created"), wire(1, "response.done")]})
    widget._on_message({"kind": "call", "call_id": "rtc_abc"})
    text = repr(widget)
    assert text == (
        "Realtime(status='idle', provider='emulator', api='realtime', model='gpt-realtime-mini', voice='marin', "
        "events=2, call_id='rtc_abc')"
    )
    assert emulator.api_key not in text
    live = rt.Realtime(provider=Local(emulator), model="gpt-live-1.1", voice={"id": "voice_123"})
    assert repr(live) == (
        "Realtime(status='idle', provider='emulator', api='live', model='gpt-live-1.1', voice='voice_123', "
        "events=0, call_id=None)"
    )
    live.close()
    data, _metadata = widget._repr_mimebundle_()
    assert data["text/plain"] == text  # what nbconvert and a plain-text front end show
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id  # the view still draws


def test_connect_with_no_view_says_to_display_the_widget(sent, monkeypatch, caplog):
    monkeypatch.setattr("rt_widget._widget.VIEW_WAIT_S", 0.05)
    widget = rt.Realtime(provider=Local())
    widget.connect()
    assert sent.messages == [{"kind": "connect"}]  # a page may still draw it (inside a container)
    deadline = time.monotonic() + 5
    while not widget.error and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "Display the widget (put `s` at the end of a cell) and then press Connect" in widget.error
    assert "connect() found no view" in caplog.text


def test_a_widget_shown_in_a_container_connects_without_a_complaint(sent, monkeypatch):
    monkeypatch.setattr("rt_widget._widget.VIEW_WAIT_S", 0.05)
    widget = rt.Realtime(provider=Local())
    widget.connect()  # display(VBox([s])); s.connect() in one cell: the view comes a moment later
    browser_says(widget, {"kind": "view"})
    time.sleep(0.2)
    assert widget.error == ""


def test_a_page_that_speaks_up_counts_as_a_view(sent):
    # Shown inside a container (no display of its own), or from an earlier kernel session's page.
    widget = rt.Realtime(provider=Local())
    browser_says(widget, {"kind": "view"})
    widget.connect()
    assert sent.messages == [{"kind": "connect"}]


@pytest.mark.parametrize(
    ("status", "error", "says"),
    [
        ("idle", "", "Cannot say 'hi': there is no call yet. Press Connect in the widget or call connect()"),
        ("error", "Could not reach http://127.0.0.1:9 (ConnectError).", "the last connect failed (Could not reach"),
        ("error", "", "the last connect failed (no reason was given). Once that is fixed, press Connect"),
        ("closed", "", "Cannot say 'hi': the call has ended. Press Connect or call connect() to start a new one."),
    ],
)
def test_say_without_a_call_says_why_in_words(status, error, says):
    widget = rt.Realtime(provider=Local())
    widget.session.set_state(status=status, error=error)
    with pytest.raises(RuntimeError) as info:
        widget.say("hi")
    assert says in str(info.value)
    assert f"is {status}" not in str(info.value)  # not "the call is error."


def test_say_while_connecting_goes_to_the_page(sent):
    widget = rt.Realtime(provider=Local())
    widget._on_message({"kind": "state", "status": "connecting", "error": ""})
    widget.say("hi")
    assert [m["event"]["type"] for m in sent.messages] == ["conversation.item.create", "response.create"]


class RefusingServer:
    """An HTTP server that answers every request, WebSocket upgrades too, with 500."""

    def __init__(self) -> None:
        import http.server

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.send_error(500, "injected")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"ws://127.0.0.1:{self.server.server_address[1]}/v1/realtime"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SidebandTo(Provider):
    name = "sideband-test"

    def __init__(self, url: str) -> None:
        self.url = url

    async def connect(self, offer_sdp: str, config: SessionConfig) -> CallAnswer:
        raise ConnectError("not used here")

    def sideband(self, call_id: str) -> Sideband:
        return Sideband(f"{self.url}?call_id={call_id}", {"Authorization": "Bearer sk-sideband-sentinel"})


def wait_until(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert condition()


def test_a_sideband_that_cannot_join_is_reported(caplog):
    server = RefusingServer()
    try:
        widget = rt.Realtime(provider=SidebandTo(server.url), sideband=True)
        widget._on_message({"kind": "state", "status": "connecting", "error": ""})
        with caplog.at_level("WARNING", logger="rt_widget._widget"):
            widget._on_call("rtc_1")
            wait_until(lambda: widget.error != "")
        assert "The sideband could not join call rtc_1" in widget.error
        assert "500" in widget.error
        assert "wait_for() cannot see them while a cell runs" in widget.error
        assert any("sideband could not join" in r.getMessage() for r in caplog.records)

        widget._on_message({"kind": "state", "status": "connected", "error": ""})  # the page says: no error...
        assert "sideband could not join" in widget.error  # ...and it comes back

        with pytest.raises(RuntimeError) as info:
            asyncio.run(widget.wait_for("response.done"))
        advice = str(info.value)
        assert "the sideband could not join this call" in advice
        assert "Realtime(sideband=True)" not in advice  # it was set: do not advise it
        for text in (widget.error, advice, *(r.getMessage() for r in caplog.records)):
            assert "sk-sideband-sentinel" not in text
    finally:
        server.close()


def test_wait_for_takes_a_predicate_and_star():
    widget = rt.Realtime(provider=Local())
    widget._page.linked = lambda: True  # type: ignore[method-assign]  # as if the page had its link

    async def waiting() -> tuple[dict[str, Any], dict[str, Any]]:
        done = asyncio.ensure_future(
            widget.wait_for("response.done", predicate=lambda e: e["response"]["status"] == "completed")
        )
        anything = asyncio.ensure_future(widget.wait_for("*", timeout=None))
        await asyncio.sleep(0.05)
        for i, status in enumerate(["cancelled", "completed"]):
            event = {"type": "response.done", "event_id": f"e{i}", "response": {"id": f"r{i}", "status": status}}
            threading.Thread(target=widget._ingest, args=(event, "server")).start()
        return await done, await anything

    done, anything = asyncio.run(waiting())
    assert done["response"]["id"] == "r1"  # the cancelled one did not count
    assert anything["type"] == "response.done"


def test_a_failing_predicate_is_raised_by_wait_for():
    widget = rt.Realtime(provider=Local())
    widget._page.linked = lambda: True  # type: ignore[method-assign]

    async def waiting() -> dict[str, Any]:
        waiter = asyncio.ensure_future(widget.wait_for("error", predicate=lambda e: e["missing"]))
        await asyncio.sleep(0.05)
        widget._ingest({"type": "error", "error": {}}, "server")
        return await waiter

    with pytest.raises(KeyError, match="missing"):
        asyncio.run(waiting())


class NoToken(SidebandTo):
    def sideband(self, call_id: str) -> Sideband:
        raise ConnectError("The token provider failed (RuntimeError). Check the Entra ID credentials.")


def test_a_sideband_whose_provider_fails_is_reported_at_once():
    widget = rt.Realtime(provider=NoToken("ws://127.0.0.1:9"), sideband=True)
    widget._on_call("rtc_2")
    assert widget.call_id == "rtc_2"
    assert widget.error.startswith("The sideband could not join call rtc_2 (The token provider failed")
    # a new call starts clean:
    widget._close_sideband()
    assert widget._sideband_error == ""
