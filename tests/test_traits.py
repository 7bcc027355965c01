"""The conversation traits: observers see every change in order, from whichever thread brings it;
synced traits are throttled, end on the final value, and hold nothing secret or large."""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

import anywidget
import pytest
from websockets.sync.client import connect

import rt_widget as rt
from rt_widget import throttle
from rt_widget.providers import Local
from rt_widget.session import PageTransport
from rt_widget.throttle import Throttle
from tests.samples import REFERENCE_USAGE

KERNEL_ONLY = ("last_event", "transcript_rows")
SYNCED = ("event_count", "active_response", "cost_usd", "caption")


class Seen:
    """Every change of the observed traits, with the thread it ran on."""

    def __init__(self, widget: rt.Realtime, names: tuple[str, ...]) -> None:
        self.changes: list[tuple[str, Any, str]] = []
        widget.observe(self._record, names=list(names))

    def _record(self, change: dict[str, Any]) -> None:
        self.changes.append((change["name"], change["new"], threading.current_thread().name))

    def values(self, name: str) -> list[Any]:
        return [value for trait, value, _ in self.changes if trait == name]

    def threads(self, name: str) -> set[str]:
        return {thread for trait, _, thread in self.changes if trait == name}


def conversation(call_id: str = "rtc_1") -> list[dict[str, Any]]:
    """A spoken turn and its reply, as the service sends them."""
    user = {"id": "item_u", "type": "message", "role": "user", "content": [{"type": "input_audio", "transcript": None}]}
    reply = {"id": "item_a", "type": "message", "role": "assistant", "content": []}
    done = {"id": "resp_1", "status": "completed"}
    spoken = {"item_id": "item_a", "response_id": "resp_1"}
    said = {**reply, "status": "completed", "content": [{"type": "output_audio", "transcript": "Hi there."}]}
    events = [
        {"type": "session.created", "session": {"id": "sess_1", "model": "gpt-realtime"}},
        {"type": "input_audio_buffer.speech_started", "item_id": "item_u"},
        {"type": "input_audio_buffer.committed", "item_id": "item_u", "previous_item_id": None},
        {"type": "conversation.item.added", "item": user},
        {"type": "conversation.item.input_audio_transcription.delta", "item_id": "item_u", "delta": "Hello"},
        {"type": "conversation.item.input_audio_transcription.completed", "item_id": "item_u", "transcript": "Hello."},
        {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}},
        {"type": "conversation.item.added", "item": reply, "previous_item_id": "item_u"},
        *({"type": "response.output_audio_transcript.delta", **spoken, "delta": d} for d in ("Hi", " th", "ere.")),
        {"type": "response.output_audio_transcript.done", "item_id": "item_a", "transcript": "Hi there."},
        {"type": "conversation.item.done", "item": said},
        {"type": "response.done", "response": {**done, "output": [said], "usage": REFERENCE_USAGE}},
    ]
    return [{**event, "event_id": f"event_{i}"} for i, event in enumerate(events)]


def settle(widget: rt.Realtime, name: str, value: Any, timeout: float = 5) -> None:
    """Wait until the throttled trait ``name`` shows ``value`` (or ``value()``, while events still come)."""
    deadline = time.monotonic() + timeout
    while getattr(widget, name) != (value() if callable(value) else value):
        assert time.monotonic() < deadline, f"{name} stayed {getattr(widget, name)!r}, not {value!r}"
        time.sleep(0.01)


def wait_until(condition: Any, timeout: float = 10) -> None:
    """Wait (busy, as a running cell would be) until ``condition()`` is true."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not true after {timeout} s"
        time.sleep(0.005)


def test_observers_see_every_change_in_order():
    widget = rt.Realtime(provider=Local())
    seen = Seen(widget, KERNEL_ONLY)
    events = conversation()
    for event in events:
        widget._ingest(event, "server", call_id="rtc_1")

    summaries = seen.values("last_event")
    assert [s["index"] for s in summaries] == list(range(len(events)))  # each event once, in log order
    assert [s["type"] for s in summaries] == widget.events.types
    assert summaries[-1] == {
        "index": len(events) - 1,
        "type": "response.done",
        "direction": "server",
        "call_id": "rtc_1",
        "item_id": "",
        "response_id": "resp_1",
    }
    texts = [[(row["role"], row["text"]) for row in rows] for rows in seen.values("transcript_rows")]
    assert texts == [
        [("user", "")],
        [("user", "Hello")],
        [("user", "Hello.")],
        [("user", "Hello."), ("assistant", "")],
        [("user", "Hello."), ("assistant", "Hi")],
        [("user", "Hello."), ("assistant", "Hi th")],
        [("user", "Hello."), ("assistant", "Hi there.")],
    ]
    # The live rows end where the analysis of the whole log does.
    final = [(r["item_id"], r["role"], r["text"]) for r in widget.transcript_rows]
    assert final == list(widget.transcript()[["item_id", "role", "text"]].itertuples(index=False, name=None))
    assert seen.threads("last_event") == {threading.current_thread().name}  # comm batches: the main thread


def test_a_kept_value_is_not_changed_by_later_events():
    widget = rt.Realtime(provider=Local())
    events = conversation()
    for event in events[:9]:
        widget._ingest(event, "server", call_id="rtc_1")
    kept = widget.transcript_rows
    for event in events[9:]:
        widget._ingest(event, "server", call_id="rtc_1")
    assert kept[-1]["text"] == "Hi"  # a new list and new rows at each change: no copy of the log
    assert widget.transcript_rows[-1]["text"] == "Hi there."


def test_synced_traits_end_on_the_final_values():
    widget = rt.Realtime(provider=Local())
    for event in conversation():
        widget._ingest(event, "server", call_id="rtc_1")
    settle(widget, "event_count", len(widget.events))
    assert widget.cost_usd == pytest.approx(float(widget.cost()["usd"].iloc[-1]))
    assert widget.cost_usd == pytest.approx(0.0106136)  # the protocol reference's worked example
    assert widget.active_response == ""  # resp_1 is done
    assert widget.caption == {"role": "assistant", "text": "Hi there."}
    state = widget.get_state()
    assert all(name in state for name in SYNCED)
    assert not any(name in state for name in KERNEL_ONLY)  # kernel-only: not synced, not saved


def test_the_response_in_progress_and_an_unpriced_model():
    widget = rt.Realtime(provider=Local(), price_model="my-azure-deployment")  # no price for it
    assert widget.cost_usd is None
    events = conversation()
    for event in events[:9]:
        widget._ingest(event, "server", call_id="rtc_1")
    settle(widget, "active_response", "resp_1")
    for event in events[9:]:
        widget._ingest(event, "server", call_id="rtc_1")
    settle(widget, "active_response", "")
    assert widget.cost_usd is None  # still unknown, not a made-up 0


def test_changes_from_the_loopback_link_arrive_while_the_main_thread_is_busy(monkeypatch):
    offers: list[dict[str, Any]] = []
    monkeypatch.setattr(anywidget.AnyWidget, "send", lambda self, content, buffers=None: offers.append(content))
    widget = rt.Realtime(provider=Local())
    seen = Seen(widget, KERNEL_ONLY)
    widget._on_message({"kind": "link", "id": "r1"})
    offer = offers[-1]
    events = conversation()
    batch = [
        {"seq": i, "direction": "server", "t": 1_700_000_000_000 + i, "call_id": "rtc_1", "event": event}
        for i, event in enumerate(events)
    ]
    with connect(offer["url"], open_timeout=5) as link:
        link.send(json.dumps({"kind": "hello", "token": offer["token"]}))
        assert json.loads(link.recv(5)) == {"kind": "ready"}
        for i in range(0, len(batch), 3):  # as the page sends them, a few at a time
            link.send(json.dumps({"kind": "events", "stream": "page-1", "events": batch[i : i + 3]}))
        # A cell runs: the main thread is busy and takes no comm message, yet the changes come.
        wait_until(lambda: len(seen.values("last_event")) >= len(events))
    assert [s["index"] for s in seen.values("last_event")] == list(range(len(events)))
    assert seen.values("transcript_rows")[-1][-1]["text"] == "Hi there."
    threads = seen.threads("last_event") | seen.threads("transcript_rows")
    assert len(threads) == 1
    assert threading.current_thread().name not in threads  # the link's own thread
    widget.close()


def test_events_from_several_threads_are_told_once_each_in_log_order():
    widget = rt.Realtime(provider=Local())
    seen = Seen(widget, ("last_event",))
    per_thread, threads = 300, 4

    def bring(n: int) -> None:  # the link, the sideband and the comm at once
        for i in range(per_thread):
            widget._ingest({"type": "rate_limits.updated", "event_id": f"e{n}_{i}"}, "server", call_id="rtc_1")

    workers = [threading.Thread(target=bring, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    summaries = seen.values("last_event")
    assert [s["index"] for s in summaries] == list(range(per_thread * threads))
    settle(widget, "event_count", per_thread * threads)


def test_an_observer_whose_action_logs_an_event_hears_of_it_after_the_current_one():
    widget = rt.Realtime(provider=Local())
    order: list[str] = []

    def react(change: dict[str, Any]) -> None:
        order.append(change["new"]["type"])
        if change["new"]["type"] == "response.done":  # e.g. a send over the sideband, logged at once
            widget._ingest({"type": "response.create"}, "client")

    widget.observe(react, names="last_event")
    widget._ingest({"type": "response.done", "event_id": "e1", "response": {"id": "r1"}}, "server")
    widget._ingest({"type": "response.created", "event_id": "e2", "response": {"id": "r2"}}, "server")
    assert order == ["response.done", "response.create", "response.created"]


def test_a_real_reply_over_the_sideband_reaches_the_traits_while_a_cell_runs(emulator, rtc_client, monkeypatch):
    answers: list[dict[str, Any]] = []
    monkeypatch.setattr(PageTransport, "reply", lambda self, content, page: answers.append(content))
    widget = rt.Realtime(provider=Local(emulator), sideband=True, output_modalities="text", turn_detection=None)
    seen = Seen(widget, ("transcript_rows", "event_count"))
    widget._on_message({"kind": "offer", "id": "o1", "sdp": rtc_client.offer()})
    wait_until(lambda: answers, timeout=15)
    rtc_client.accept(answers[-1]["sdp"])
    sideband = widget._sideband
    assert sideband is not None
    sideband.wait_ready(15)
    widget.session.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Say hello."}]},
        }
    )
    widget.session.send({"type": "response.create"})
    sent = len(seen.changes)  # the sends log client events on this thread (telling what came meanwhile)
    # The cell goes on running; the sideband's thread brings the reply into the traits.
    wait_until(lambda: widget.events.of_type("response.done"), timeout=20)
    table = widget.transcript()
    replies = [r for r in widget.transcript_rows if r["role"] == "assistant"]
    assert replies
    assert replies[-1]["text"] == table[table["role"] == "assistant"]["text"].iloc[-1]
    assert [r["text"] for r in widget.transcript_rows if r["role"] == "user"] == ["Say hello."]
    later = {thread for name, _, thread in seen.changes[sent:] if name == "transcript_rows"}
    assert len(later) == 1
    assert threading.current_thread().name not in later  # the sideband's thread, while this one is busy
    settle(widget, "event_count", lambda: len(widget.events))
    assert seen.threads("event_count") == {"rt-widget-throttle"}
    widget.hangup()
    widget.close()


def test_throttling_delivers_a_few_updates_a_second_and_the_final_value():
    delivered: list[tuple[float, dict[str, Any]]] = []
    gate = Throttle(lambda changes: delivered.append((time.monotonic(), changes)), interval=0.1)
    start = time.monotonic()
    for i in range(2000):  # a burst of one second
        gate.push({"n": i, **({"odd": i} if i % 2 else {})})
        time.sleep(0.0005)
    pushed_for = time.monotonic() - start
    wait_until(lambda: delivered and delivered[-1][1]["n"] == 1999, timeout=2)
    assert delivered[-1][1]["n"] == 1999  # the last value always arrives
    assert delivered[-1][0] - start <= pushed_for + 0.5  # and soon after the last push
    assert len(delivered) <= pushed_for / 0.1 + 2  # at most one delivery per interval
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(delivered)]
    assert min(gaps) >= 0.05  # an interval apart (less the scheduling of a busy machine)
    odd = [changes["odd"] for _, changes in delivered if "odd" in changes]
    assert odd == sorted(odd)  # fields merge: each delivery has each field's latest value
    assert odd[-1] == 1999
    gate.close()


def test_a_quiet_throttle_delivers_at_once_and_its_thread_comes_back(monkeypatch):
    monkeypatch.setattr(throttle, "IDLE_S", 0.05)
    delivered: list[dict[str, Any]] = []
    gate = Throttle(delivered.append, interval=0.05)
    for value in (1, 2):
        gate.push({"n": value})
        wait_until(lambda value=value: {"n": value} in delivered, timeout=2)
        assert delivered[-1] == {"n": value}
        wait_until(lambda: gate._thread is None, timeout=2)  # idle: its thread ended
    gate.push({"n": 3})
    gate.close()  # what is pending is delivered by close
    assert delivered[-1] == {"n": 3}
    gate.push({"n": 4})  # closed: nothing more
    time.sleep(0.1)
    assert delivered[-1] == {"n": 3}


def test_a_bad_interval_says_what_to_use():
    with pytest.raises(ValueError, match="seconds above 0"):
        Throttle(print, interval=0)


def test_no_secret_and_nothing_large_in_the_synced_traits(emulator):
    widget = rt.Realtime(provider=Local(emulator))
    tool = {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example", "authorization": "tok-9f3a7c"}
    widget._ingest({"type": "session.updated", "event_id": "e0", "session": {"tools": [tool]}}, "server")
    item = {"id": "item_a", "type": "message", "role": "assistant", "content": []}
    widget._ingest({"type": "conversation.item.added", "event_id": "e1", "item": item}, "server")
    echoed = f"Your key is {emulator.api_key} and the header Bearer sk-proj-a1b2c3d4e5f6g7h8. "
    long_reply = echoed + "word " * 20_000  # a 100 kB reply
    for i in range(0, len(long_reply), 4000):
        delta = {"type": "response.output_text.delta", "item_id": "item_a", "delta": long_reply[i : i + 4000]}
        widget._ingest({**delta, "event_id": f"d{i}"}, "server")
    widget._ingest(
        {"type": "response.output_text.delta", "event_id": "d_end", "item_id": "item_a", "delta": echoed}, "server"
    )
    settle(widget, "event_count", len(widget.events))
    assert "Your key is [redacted] and the header Bearer [redacted]" in widget.caption["text"]  # the end, redacted
    state = widget.get_state()  # what views get and the notebook saves
    for secret in (emulator.api_key, "tok-9f3a7c", "sk-proj-a1b2c3d4e5f6g7h8"):
        assert secret not in json.dumps(state, default=str)
    assert len(json.dumps({name: state[name] for name in SYNCED})) < 1_000  # the caption keeps the reply's end
    assert widget.transcript_rows[-1]["text"] == long_reply + echoed  # the kernel-only rows keep it exactly
    assert "tok-9f3a7c" not in json.dumps(widget.last_event)


def test_synced_traits_cannot_be_set_by_users_or_pages():
    widget = rt.Realtime(provider=Local())
    with pytest.raises(Exception, match="read-only"):
        widget.event_count = 5
    widget.set_state({"event_count": 5, "caption": {"role": "user", "text": "forged"}})  # a page's sync
    assert widget.session.conversation["event_count"] == 0
