"""GPT-Live transcript, turns, usage and cost over event logs whose every event the SDK accepts.

Each event is checked against the ``openai`` SDK's Live types (``ConnectServerEvent`` for what
the data channel and the sideband receive, ``ConnectClientEvent`` for what is sent, and the
Responses stream events nested in ``response.event``), with no field the SDK does not know.
"""

from __future__ import annotations

import math
import typing
from typing import Any

import pandas as pd
import pytest
from openai.types.live import ConnectClientEvent, ConnectServerEvent
from openai.types.realtime import RealtimeServerEvent
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter, ValidationError

from rt_widget import EventLog
from rt_widget.gptlive import analysis as live
from rt_widget.gptlive.analysis import LIVE_PRICES, LivePrices, TokenPrices
from tests.conformance import assert_server_event as assert_realtime_event
from tests.conformance import unknown_fields

_SERVER = TypeAdapter(ConnectServerEvent)
_CLIENT = TypeAdapter(ConnectClientEvent)
# The Responses stream union is not discriminated for pydantic: pick the member by its type.
_NESTED = {
    typing.get_args(m.model_fields["type"].annotation)[0]: TypeAdapter(m)
    for m in typing.get_args(typing.get_args(ResponseStreamEvent)[0])
}

T0 = 1_790_000_000.0  # Unix seconds when the data channel opened
BACKEND = "gpt-5.5"
DECIDER = "gpt-decider-test"
SESSION = {
    "id": "live_test1",
    "expires_at": 1_790_007_200,
    "model": "gpt-live-1.1",
    "status": "active",
    "audio": {"output": {"voice": "marin"}},
    "delegation": {
        "type": "responses",
        "responses": {
            "model": BACKEND,
            "tools": [{"type": "function", "name": "book_table", "parameters": {"type": "object", "properties": {}}}],
        },
    },
}


def sdk_valid(adapter: TypeAdapter[Any], event: dict[str, Any]) -> dict[str, Any]:
    """``event``, after failing the test unless the SDK parses it with no unknown field."""
    try:
        model = adapter.validate_python(event)
    except ValidationError as exc:
        pytest.fail(f"not a valid openai SDK event: {event}\n{exc}")
    extras = unknown_fields(model, str(event.get("type")))
    if extras:
        pytest.fail(f"fields unknown to the openai SDK: {extras} in {event}")
    if event["type"] == "response.event":
        sdk_valid(_NESTED[event["event"]["type"]], event["event"])
    return event


class Live:
    """Builds an EventLog of a GPT-Live session; ``t`` is seconds after :data:`T0`."""

    def __init__(self) -> None:
        self.log = EventLog()
        self.count = 0
        self.sequence = 0

    def server(self, type_: str, t: float, event_id: str | None = None, **fields: Any) -> dict[str, Any]:
        self.count += 1
        event = sdk_valid(_SERVER, {"type": type_, "event_id": event_id or f"evt_{self.count}", **fields})
        self.log.append(event, direction="server", t_browser=T0 + t)
        return event

    def client(self, type_: str, t: float, **fields: Any) -> None:
        self.log.append(sdk_valid(_CLIENT, {"type": type_, **fields}), direction="client", t_browser=T0 + t)

    def said(self, who: str, text: str, start_ms: int, end_ms: int, t: float) -> dict[str, Any]:
        kind = "session.input_transcript.delta" if who == "user" else "session.output_transcript.delta"
        return self.server(kind, t, delta=text, start_ms=start_ms, end_ms=end_ms)

    def backend(self, t: float, delegation_id: str, kind: str, **fields: Any) -> None:
        self.sequence += 1
        nested = {"type": kind, "sequence_number": self.sequence, **fields}
        self.server("response.event", t, delegation_id=delegation_id, event=nested)


def response(response_id: str, status: str, tokens: tuple[int, int, int, int] | None = None) -> dict[str, Any]:
    """A slim Responses lifecycle snapshot (output and tools cleared, as Live sends it)."""
    body: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": int(T0),
        "model": BACKEND,
        "status": status,
        "output": [],
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
    if tokens is not None:
        fresh_in, cached, out, reasoning = tokens
        body["usage"] = {
            "input_tokens": fresh_in + cached,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": out,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": fresh_in + cached + out,
        }
    return body


# Backend tokens: (uncached input, cached input, output, of which reasoning).
FIRST = (1000, 200, 300, 100)
SECOND = (500, 1000, 80, 0)
ACTIVE_S, PAUSED_S = 1722, 138


def session() -> EventLog:
    """Four user turns: a plain one, a delegated one with a tool, one barged in on, and the barge-in."""
    s = Live()
    s.server("session.started", 0.0, session=SESSION)
    # Turn 1: the user's last words are transcribed late, after the model's first (allowed:
    # each side is in order, the two sides interleave).
    s.said("user", "What is the", 600, 800, 0.9)
    s.said("user", " weather", 800, 1000, 1.1)
    s.said("assistant", "It is", 1800, 2100, 1.9)
    late = s.said("user", " in Paris?", 1000, 1300, 2.0)
    s.log.append(late, direction="server", t_browser=T0 + 2.05)  # the same fragment from the sideband
    s.said("assistant", " sunny", 2100, 2400, 2.2)
    s.said("assistant", " today.", 2400, 2900, 2.5)
    s.server("session.started", 3.0, session=SESSION)  # a sideband attaching replays it: same session
    s.server("session.input_audio.muted", 3.2)
    s.server("session.input_audio.unmuted", 3.5)
    # Turn 2: delegated to Responses, which calls a tool; the acknowledgement and the answer
    # are two spoken turns (2.1 s apart) answering the same user turn.
    s.said("user", "Book a table", 4000, 4500, 4.6)
    s.said("user", " for two.", 4500, 4900, 5.0)
    delegation = {"id": "dlg_1", "type": "delegation", "target": "responses", "response_id": "resp_1"}
    s.server("session.delegation.created", 5.1, delegation=delegation, offset_ms=5000)
    s.backend(5.2, "dlg_1", "response.created", response=response("resp_1", "in_progress"))
    s.said("assistant", "Sure, one sec.", 5300, 5900, 5.4)
    call = {"type": "function_call", "call_id": "call_1", "name": "book_table", "arguments": '{"people":2}'}
    s.backend(5.6, "dlg_1", "response.output_item.done", output_index=0, item={**call, "id": "fc_1"})
    done = {"response": response("resp_1", "completed", FIRST)}
    s.backend(5.7, "dlg_1", "response.completed", **done)
    s.backend(5.75, "dlg_1", "response.completed", **done)  # again, from the other stream
    s.client("response.item.create", 5.8, item={"type": "function_call_output", "call_id": "call_1", "output": "ok"})
    s.client("response.create", 5.8)
    s.backend(6.5, "dlg_1", "response.completed", response=response("resp_2", "completed", SECOND))
    s.server("session.usage.updated", 60.0, usage={"seconds": 60, "active_seconds": 60, "paused_seconds": 0})
    s.said("assistant", "Booked for", 8000, 8400, 8.1)
    s.said("assistant", " seven.", 8400, 8800, 8.5)
    # Turn 3: the user barges in while the model speaks; the model stops.
    s.said("user", "Thanks.", 10000, 10400, 10.5)
    s.said("assistant", "You're welcome, and", 10900, 11600, 11.0)
    s.said("assistant", " by the way", 11600, 12100, 11.7)
    s.said("user", "Wait,", 12000, 12300, 12.4)
    s.said("assistant", " tomorrow", 12100, 12500, 12.45)
    s.said("user", " one more thing.", 12300, 12900, 13.0)
    # Turn 4: the barge-in, answered.
    s.said("assistant", "Yes?", 13300, 13600, 13.4)
    usage = {
        "input_tokens": 90,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 4,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 94,
    }
    answer = {"type": "predicate", "probability": 0.9, "name": "wants_more"}
    decision = {"answers": [answer], "model": DECIDER, "usage": usage}
    s.server(
        "decision.event",
        13.1,
        event={"type": "decision.completed", "decision": decision},
        source_event_id="evt_27",
        source_event_type="session.input_transcript.delta",
        trigger_id="trg_1",
    )
    s.server("session.paused", 20.0)
    s.server("session.resumed", 158.0)
    usage = {"seconds": ACTIVE_S + PAUSED_S, "active_seconds": ACTIVE_S, "paused_seconds": PAUSED_S}
    s.server("session.usage.updated", 1800.0, usage=usage, context_window={"usage_ratio": 0.04})
    s.client("session.close", 1860.0)
    s.server("session.closed", 1860.1, reason="close_requested", session=SESSION, usage=usage)
    return s.log


# -- transcript ---------------------------------------------------------------------------------


def test_fragments_group_into_turns_in_spoken_order():
    table = live.transcript(session())
    spoken = table[table["kind"] == "message"]
    assert list(zip(spoken["role"], spoken["text"], strict=True)) == [
        ("user", "What is the weather in Paris?"),
        ("assistant", "It is sunny today."),
        ("user", "Book a table for two."),
        ("assistant", "Sure, one sec."),
        ("assistant", "Booked for seven."),
        ("user", "Thanks."),
        ("assistant", "You're welcome, and by the way tomorrow"),
        ("user", "Wait, one more thing."),
        ("assistant", "Yes?"),
    ]
    first = spoken.iloc[0]
    assert first["item_id"] == "evt_2"  # its first fragment's event_id
    assert (first["start_ms"], first["end_ms"], first["fragments"]) == (600, 1300, 3)  # the copy is not counted
    assert first["start"] == pytest.approx(T0 + 0.9)
    assert first["end"] == pytest.approx(T0 + 2.0)
    assert list(spoken["interrupted"]) == [False] * 6 + [True, False, False]
    assert list(table.columns[:7]) == ["item_id", "role", "kind", "text", "start", "end", "interrupted"]


def test_function_calls_sit_at_their_delegation_on_the_timeline():
    table = live.transcript(session())
    assert list(table["kind"][3:6]) == ["function_call", "function_call_output", "message"]
    call, output = table.iloc[3], table.iloc[4]
    assert (call["role"], call["text"], call["item_id"]) == ("assistant", 'book_table({"people":2})', "fc_1")
    assert (output["role"], output["text"]) == ("tool", "ok")
    assert call["start_ms"] == output["start_ms"] == 5000
    assert call["delegation_id"] == "dlg_1"


def test_pause_ms_decides_when_one_speaker_starts_a_new_turn():
    table = live.transcript(session(), pause_ms=2500)
    replies = table[(table["role"] == "assistant") & (table["kind"] == "message")]["text"]
    assert "Sure, one sec.Booked for seven." in list(replies)  # 2.1 s apart: one turn now


# -- turns --------------------------------------------------------------------------------------


def test_turn_timeline_and_latency_come_from_fragment_times():
    table = live.turns(session())
    assert list(table["user_text"]) == [
        "What is the weather in Paris?",
        "Book a table for two.",
        "Thanks.",
        "Wait, one more thing.",
    ]
    assert list(table["speech_stopped_ms"]) == [1300, 4900, 10400, 12900]
    assert list(table["first_audio_ms"]) == [1800, 5300, 10900, 13300]
    assert list(table["latency_s"]) == pytest.approx([0.5, 0.4, 0.5, 0.4])
    assert list(table["audio_stopped_ms"]) == [2900, 8800, 12500, 13600]
    assert table["reply_text"][1] == "Sure, one sec. Booked for seven."
    assert list(table["delegations"]) == [0, 1, 0, 0]
    assert list(table["tool_calls"]) == [0, 1, 0, 0]
    assert list(table["interrupted"]) == [False, False, True, False]
    assert table["speech_stopped"][0] == pytest.approx(T0 + 2.0)  # when the late fragment arrived
    assert table["first_audio"][0] == pytest.approx(T0 + 1.9)


def test_a_turn_without_a_reply_has_no_latency():
    s = Live()
    s.server("session.started", 0.0, session=SESSION)
    s.said("user", "Hello?", 500, 900, 1.0)
    row = live.turns(s.log).iloc[0]
    assert row["user_text"] == "Hello?"
    assert row["reply_text"] == ""
    assert pd.isna(row["latency_s"])
    assert pd.isna(row["first_audio_ms"])


# -- usage and cost -----------------------------------------------------------------------------


def test_usage_takes_the_final_snapshot_and_counts_each_backend_response_once():
    table = live.usage(session())
    row = table.iloc[0]
    assert (row["session_id"], row["model"], row["final"]) == ("live_test1", "gpt-live-1.1", True)
    assert (row["seconds"], row["active_seconds"], row["paused_seconds"]) == (ACTIVE_S + PAUSED_S, ACTIVE_S, PAUSED_S)
    assert row["active_minutes"] == pytest.approx(ACTIVE_S / 60)
    assert row["standby_minutes"] == pytest.approx(PAUSED_S / 60)
    assert len(table) == 2  # the replayed session.started opened no second session
    assert row["backend_calls"] == 3
    assert row["input_tokens"] == sum(FIRST[:2]) + sum(SECOND[:2]) + 90
    assert row["cached_tokens"] == FIRST[1] + SECOND[1]
    assert row["output_tokens"] == FIRST[2] + SECOND[2] + 4
    assert row["reasoning_tokens"] == FIRST[3]
    assert table.iloc[-1]["session_id"] == "total"
    assert table.iloc[-1]["input_tokens"] == row["input_tokens"]
    backend = live.backend_usage(session())
    assert list(backend["api"]) == ["responses", "responses", "decisions"]
    assert list(backend["response_id"][:2]) == ["resp_1", "resp_2"]
    assert list(backend["model"]) == [BACKEND, BACKEND, DECIDER]
    assert list(backend["delegation_id"][:2]) == ["dlg_1", "dlg_1"]
    assert pd.isna(backend["delegation_id"][2])


def test_usage_before_the_session_closed_uses_the_latest_update():
    s = Live()
    s.server("session.started", 0.0, session=SESSION)
    s.server("session.usage.updated", 60.0, usage={"seconds": 60})
    s.server("session.usage.updated", 120.0, usage={"seconds": 120})
    s.server("session.usage.updated", 120.1, event_id="evt_2", usage={"seconds": 60})  # a stale copy
    row = live.usage(s.log, total=False).iloc[0]
    assert (row["final"], row["seconds"], row["active_seconds"], row["paused_seconds"]) == (False, 120, 120, 0)


def test_cost_prices_active_and_standby_minutes_to_the_cent():
    p = LIVE_PRICES["gpt-live-1.1"]
    assert (p.active, p.standby) == (0.05, 0.02)
    assert live.LIVE_PRICES_AS_OF == "2026-11-20"
    table = live.cost(session())
    row = table.iloc[0]
    assert row["usd_active"] == pytest.approx(ACTIVE_S * p.active / 60)
    assert p.standby is not None
    assert row["usd_standby"] == pytest.approx(PAUSED_S * p.standby / 60)
    assert round(row["usd"], 2) == 1.48  # 28.7 active minutes at $0.05, 2.3 standby at $0.02
    assert math.isnan(row["usd_backend"])
    assert math.isnan(row["usd_total"])
    assert math.isnan(table.iloc[-1]["usd_total"])
    assert table.iloc[-1]["usd"] == pytest.approx(row["usd"])


def test_cost_prices_backend_tokens_from_a_given_table():
    tokens, decider = TokenPrices(input=1.25, cached=0.125, output=10.0), TokenPrices(0.1, 0.01, 0.4)
    row = live.cost(session(), backend_prices={BACKEND: tokens, DECIDER: decider}).iloc[0]
    by_hand = (
        sum(
            (fresh * tokens.input + cached * tokens.cached + out * tokens.output) / 1e6
            for fresh, cached, out, _ in (FIRST, SECOND)
        )
        + (90 * decider.input + 4 * decider.output) / 1e6
    )
    assert row["usd_backend"] == pytest.approx(by_hand)
    assert row["usd_total"] == pytest.approx(row["usd"] + by_hand)


def test_standby_without_a_published_rate_stays_unpriced():
    row = live.cost(session(), model="gpt-live-1").iloc[0]
    assert row["usd_active"] == pytest.approx(ACTIVE_S * 0.05 / 60)
    assert math.isnan(row["usd_standby"])
    assert math.isnan(row["usd"])
    own = live.cost(session(), prices={"gpt-live-1.1": LivePrices(active=0.06, standby=0.01)}).iloc[0]
    assert own["usd"] == pytest.approx((ACTIVE_S * 0.06 + PAUSED_S * 0.01) / 60)


# -- which log, and bad input ---------------------------------------------------------------------


def realtime_log() -> EventLog:
    log = EventLog()
    for event in (
        {"type": "input_audio_buffer.speech_started", "event_id": "e1", "audio_start_ms": 100, "item_id": "item_1"},
        {"type": "input_audio_buffer.speech_stopped", "event_id": "e2", "audio_end_ms": 900, "item_id": "item_1"},
    ):
        assert_realtime_event(event)
        log.append(event, direction="server")
    return log


def test_live_events_are_the_sdk_live_events_realtime_does_not_send():
    def names(union: Any) -> set[str]:
        members = typing.get_args(typing.get_args(union)[0])
        return {typing.get_args(m.model_fields["type"].annotation)[0] for m in members}

    assert names(ConnectServerEvent) - names(RealtimeServerEvent) == live.LIVE_EVENTS
    assert live.is_live(session())
    assert not live.is_live(realtime_log())
    assert not live.is_live(EventLog())


@pytest.mark.parametrize("function", [live.transcript, live.turns, live.usage, live.backend_usage, live.cost])
def test_a_realtime_log_is_refused_with_the_way_to_read_it(function: Any):
    instead = "usage" if function is live.backend_usage else function.__name__
    with pytest.raises(ValueError, match=rf"reads GPT-Live events.*rt_widget\.analysis\.{instead}\(log\)"):
        function(realtime_log())


@pytest.mark.parametrize("function", [live.is_live, live.transcript, live.turns, live.usage, live.cost])
def test_something_that_is_not_an_event_log_is_a_type_error(function: Any):
    with pytest.raises(TypeError, match=r"takes an rt.EventLog.*load it with rt.EventLog.load"):
        function("events.jsonl")


def test_an_empty_log_gives_empty_tables_and_cost_asks_for_a_model():
    empty = EventLog()
    assert live.transcript(empty).empty
    assert live.turns(empty).empty
    assert live.backend_usage(empty).empty
    assert list(live.usage(empty)["session_id"]) == ["total"]
    with pytest.raises(ValueError, match=r"names no GPT-Live model.*cost\(model='gpt-live-1'\)"):
        live.cost(empty)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"model": ""}, TypeError, "GPT-Live model name"),
        (
            {"model": "gpt-live-9"},
            live.UnknownLiveModelError,
            r"No price for model 'gpt-live-9'.*gpt-live-1, gpt-live-1.1",
        ),
        ({"prices": {"gpt-live-1.1": 0.05}}, TypeError, r"dict of model name to LivePrices"),
        ({"backend_prices": {BACKEND: 1.0}}, TypeError, r"dict of model name to TokenPrices"),
        ({"backend_prices": {}}, live.UnknownLiveModelError, r"'gpt-5.5' in cost\(backend_prices=...\)"),
        ({"backend_prices": {BACKEND: TokenPrices(1, 0.1, 2)}}, live.UnknownLiveModelError, DECIDER),
    ],
)
def test_bad_cost_arguments_say_what_to_pass(kwargs: dict[str, Any], error: type[Exception], message: str):
    with pytest.raises(error, match=message):
        live.cost(session(), **kwargs)


@pytest.mark.parametrize("pause_ms", [0, -1, True, "2s", math.nan, math.inf])
def test_bad_pause_is_a_clear_error(pause_ms: Any):
    with pytest.raises(ValueError, match=r"pause_ms=.*positive number such as 2000"):
        live.transcript(session(), pause_ms=pause_ms)


def test_fragments_without_their_fields_are_skipped_not_an_internal_error():
    log = session()
    log.append({"type": "session.input_transcript.delta", "delta": None, "start_ms": "x"}, direction="server")
    log.append({"type": "session.usage.updated", "usage": "none"}, direction="server")
    log.append({"type": "response.event", "event": {"type": "response.completed", "response": 3}}, direction="server")
    log.append(
        {"type": "session.output_transcript.delta", "delta": "x", "start_ms": 10**400, "end_ms": 1}, direction="server"
    )
    log.append({"type": "session.usage.updated", "usage": {"seconds": 10**400}}, direction="server")
    assert len(live.transcript(log)) == len(live.transcript(session()))
    assert live.usage(log, total=False)["seconds"][0] == ACTIVE_S + PAUSED_S


def test_two_sessions_in_one_log_are_priced_each_at_its_model():
    s = Live()
    for n, model in enumerate(("gpt-live-1", "gpt-live-1.1")):
        resource = {**SESSION, "id": f"live_{n}", "model": model, "delegation": {"type": "client"}}
        s.server("session.started", 100.0 * n, session=resource)
        s.server("session.usage.updated", 100.0 * n + 90, usage={"seconds": 90, "active_seconds": 90})
    table = live.cost(s.log)
    assert list(table["session_id"]) == ["live_0", "live_1", "total"]
    assert list(table["model"][:2]) == ["gpt-live-1", "gpt-live-1.1"]
    assert list(table["usd"]) == pytest.approx([0.075, 0.075, 0.15])  # 90 s at $0.05/min, the docs' example
    assert list(table["usd_total"]) == pytest.approx([0.075, 0.075, 0.15])  # no backend: nothing unknown


def test_the_sdk_check_refuses_invented_fields_and_bad_shapes():
    with pytest.raises(pytest.fail.Exception, match="unknown to the openai SDK"):
        sdk_valid(_SERVER, {"type": "session.paused", "event_id": "e", "reason": "idle"})
    with pytest.raises(pytest.fail.Exception, match="not a valid openai SDK event"):
        sdk_valid(_SERVER, {"type": "session.input_transcript.delta", "event_id": "e", "delta": "hi"})
    nested = {"type": "response.completed", "sequence_number": 1, "response": {"id": "r"}}
    with pytest.raises(pytest.fail.Exception, match="not a valid openai SDK event"):
        sdk_valid(_SERVER, {"type": "response.event", "event_id": "e", "event": nested})
