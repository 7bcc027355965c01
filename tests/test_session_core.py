"""The session core, driven without any widget: its import, ingestion, callbacks, state and a call."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from rt_widget.config import SessionConfig
from rt_widget.providers import Beta, CallAnswer, ConnectError, Local, Provider, Sideband
from rt_widget.session import Session
from tests.samples import REFERENCE_USAGE


class Recorded:
    """A transport that keeps what the session posts; ``live`` says whether events come directly."""

    def __init__(self, live: bool = False) -> None:
        self.posted: list[dict[str, Any]] = []
        self.live = live

    def post(self, message: dict[str, Any]) -> None:
        self.posted.append(message)

    def direct(self) -> bool:
        return self.live


def session_with(transport: Recorded | None = None, **kwargs: Any) -> Session:
    return Session(provider=kwargs.pop("provider", Local()), transport=transport or Recorded(), **kwargs)


def test_importing_the_core_leaves_the_widget_libraries_out():
    code = (
        "import sys, rt_widget.session, rt_widget.session.core, rt_widget.session.page, rt_widget.session.transport\n"
        "loaded = [m for m in ('anywidget', 'ipywidgets', 'traitlets', 'rt_widget._widget') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


def test_events_are_logged_once_under_ga_names_and_without_mcp_credentials():
    session = session_with(provider=Beta(api_key="sk-test", base_url="http://127.0.0.1:9/v1"))
    session.ingest({"type": "response.text.delta", "event_id": "e0"}, "server", call_id="rtc_1")
    session.ingest({"type": "response.text.delta", "event_id": "e0"}, "server", call_id="rtc_1")  # the other path
    tool = {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example", "authorization": "tok-9f3"}
    session.ingest({"type": "session.updated", "event_id": "e1", "session": {"tools": [tool]}}, "server")
    assert session.events.types == ["response.output_text.delta", "session.updated"]
    assert "tok-9f3" not in str(list(session.events))


def test_callbacks_and_wait_for_see_each_event():
    session = session_with(Recorded(live=True))
    seen: list[str] = []
    session.on("*", lambda e: seen.append(e["type"]))

    threads: list[threading.Thread] = []

    async def waiting() -> dict[str, Any]:
        done = asyncio.ensure_future(session.wait_for("response.done", predicate=lambda e: e["response"]["ok"]))
        await asyncio.sleep(0.05)
        for i, ok in enumerate([False, True]):  # from another thread, as the link or the sideband brings them
            event = {"type": "response.done", "event_id": f"e{i}", "response": {"id": f"r{i}", "ok": ok}}
            threads.append(threading.Thread(target=session.ingest, args=(event, "server")))
            threads[-1].start()
        return await done

    assert asyncio.run(waiting())["response"]["id"] == "r1"  # the first did not match the predicate
    for thread in threads:
        thread.join(5)
    assert seen == ["response.done", "response.done"]


def test_wait_for_without_a_direct_path_says_what_to_do():
    session = session_with(Recorded(live=False))
    with pytest.raises(RuntimeError, match="loopback link"):
        asyncio.run(session.wait_for("response.done"))


def test_state_changes_reach_observers_with_only_what_changed():
    session = session_with()
    changes: list[dict[str, Any]] = []
    session.subscribe(changes.append)
    session.set_state(status="connecting")
    session.set_state(status="connecting")  # no change: no news
    session.call_started("rtc_1")
    session.set_state(status="connected", error="")
    assert changes == [{"status": "connecting"}, {"call_id": "rtc_1"}, {"status": "connected"}]
    assert (session.status, session.call_id, session.error) == ("connected", "rtc_1", "")
    session.unsubscribe(changes.append)
    session.set_state(status="closed")
    assert len(changes) == 3


def test_commands_go_through_the_transport_and_need_a_call():
    transport = Recorded()
    session = session_with(transport)
    with pytest.raises(RuntimeError, match="there is no call yet"):
        session.say("hi")
    session.connect()
    session.set_state(status="connected")
    session.say("hi")
    session.hangup()
    assert [m["kind"] for m in transport.posted] == ["connect", "send", "send", "hangup"]
    assert [m["event"]["type"] for m in transport.posted if m["kind"] == "send"] == [
        "conversation.item.create",
        "response.create",
    ]


def test_the_budget_hangs_up_and_says_so():
    transport = Recorded()
    session = session_with(transport, budget_usd=0.02)
    errors: list[str] = []
    session.subscribe(lambda change: errors.append(change["error"]) if "error" in change else None)
    for i in range(2):
        response = {"id": f"resp_{i}", "status": "completed", "usage": REFERENCE_USAGE}
        session.ingest({"type": "response.done", "event_id": f"e{i}", "response": response}, "server")
    assert transport.posted == [{"kind": "hangup"}]
    assert errors == ["The budget of $0.0200 was reached ($0.0212 spent), so the call was ended."]


class Refusing(Provider):
    name = "refusing"

    async def connect(self, offer_sdp: str, config: SessionConfig) -> CallAnswer:
        raise ConnectError("Creating the call failed with HTTP 401: bad key. Check the API key.")


def answer_to(session: Session, sdp: str) -> dict[str, Any]:
    answered = threading.Event()
    answers: list[dict[str, Any]] = []

    def reply(answer: dict[str, Any]) -> None:
        answers.append(answer)
        answered.set()

    session.offer(sdp, reply)
    assert answered.wait(15), "the offer was never answered"
    return answers[0]


def test_a_refused_offer_is_answered_with_the_reason():
    session = session_with(provider=Refusing())
    assert answer_to(session, "v=0") == {"error": "Creating the call failed with HTTP 401: bad key. Check the API key."}
    assert session.call_id == ""


def test_a_session_runs_a_call_with_no_widget(emulator, rtc_client):
    # The test's WebRTC client is the peer; a few lines of transport connect it to the session.
    client = rtc_client

    class Peer(Recorded):
        def post(self, message: dict[str, Any]) -> None:
            super().post(message)
            if message["kind"] == "send":
                client.send(message["event"])

    session = session_with(Peer(live=True), provider=Local(emulator), instructions="Be brief.")
    answer = answer_to(session, client.offer())
    assert answer["call_id"].startswith("rtc_")
    assert session.call_id == answer["call_id"]
    client.accept(answer["sdp"])
    client.wait_for("session.created")
    session.set_state(status="connected")

    stop = threading.Event()

    def forward() -> None:  # the peer's server events, into the session, as a page would send them
        done = 0
        while not stop.is_set():
            for event in client.events[done:]:
                session.ingest(event, "server", call_id=session.call_id)
                done += 1
            time.sleep(0.01)

    forwarder = threading.Thread(target=forward, daemon=True)
    forwarder.start()

    async def ask() -> dict[str, Any]:
        reply = asyncio.ensure_future(session.wait_for("response.done", timeout=20))
        await asyncio.sleep(0)
        session.say("Hello there")
        return await reply

    try:
        done = asyncio.run(ask())
    finally:
        stop.set()
        forwarder.join(5)
    assert done["response"]["status"] == "completed"
    assert "session.created" in session.events.types
    transcript = session.transcript()
    assert transcript["role"].tolist()[0] == "user"
    assert transcript["text"].tolist()[0] == "Hello there"
    assert "assistant" in transcript["role"].tolist()


class NoSideband(Refusing):
    def sideband(self, call_id: str) -> Sideband:
        raise ConnectError("The token provider failed (RuntimeError). Check the Entra ID credentials.")


def test_the_session_owns_the_call_state_and_the_widget_mirrors_it():
    import traitlets

    import rt_widget as rt

    widget = rt.Realtime(provider=NoSideband(), sideband=True)
    page = widget._on_message  # what the page sends over the comm
    page({"kind": "state", "status": "connecting", "error": ""})  # the page reports; the session decides
    assert widget.session.status == widget.status == "connecting"
    widget.session.call_started("rtc_1")  # the session's news reaches the traits
    assert widget.call_id == "rtc_1"
    assert widget.error.startswith("The sideband could not join call rtc_1")
    # The page reports status and error together; clearing error must not hide the sideband's failure.
    page({"kind": "state", "status": "connected", "error": ""})
    assert widget.status == widget.session.status == "connected"
    assert widget.error == widget.session.error
    assert widget.error.startswith("The sideband could not join call rtc_1")
    page({"kind": "state", "status": "closed", "error": ""})
    assert widget.session.error == widget.error == ""
    # A page's sync of the traits, or a user's assignment, does not change the session's state.
    widget.set_state({"status": "connected", "error": "from the page"})
    assert widget.session.status == "closed"
    assert widget.session.error == ""
    with pytest.raises(traitlets.TraitError, match="read-only"):
        widget.status = "connected"
    page({"kind": "state", "status": "bogus", "error": ""})  # not a state: dropped with a warning
    assert widget.session.status == "closed"
    widget.close()


def test_a_call_the_session_ended_with_an_error_stays_an_error_when_the_page_closes_it():
    import rt_widget as rt

    widget = rt.Realtime()
    page = widget._on_message
    page({"kind": "state", "status": "connected", "error": ""})
    widget.session.call_started("rtc_1")
    # The sideband hears session_expired before the page does: the session ends the call...
    expired = {"type": "invalid_request_error", "code": "session_expired"}
    widget.session.ingest({"type": "error", "error": expired}, "server")
    assert widget.status == "error"
    assert "60-minute limit" in widget.error
    # ...and the page's report that its call closed (its channel went first) does not hide why.
    page({"kind": "state", "status": "closed", "error": ""})
    assert widget.status == "error"
    assert "60-minute limit" in widget.error
    page({"kind": "state", "status": "connecting", "error": ""})  # a new call clears it
    assert (widget.status, widget.error) == ("connecting", "")
    widget.close()
