"""Transcript, turns, usage and cost over logs recorded from the emulator, checked by hand."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rt_widget import EventLog
from rt_widget.analysis import PRICES, cost, prices_for, transcript, turns, usage
from rt_widget.beta import event_to_ga, server_event_to_beta
from rt_widget.emulator.listener import Listener
from rt_widget.emulator.speaker import Speaker
from tests.harness import Harness, drain, run
from tests.samples import REFERENCE_USAGE
from tests.test_listener import say, silence, speech_24k

TOOL = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}


def user_text(text: str, **extra: Any) -> dict[str, Any]:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return {"type": "conversation.item.create", "item": item, **extra}


def recorded(h: Harness) -> EventLog:
    log = EventLog()
    for event in h.events:
        log.append(event, direction="server", call_id="rtc_test")
    return log


def text_session() -> EventLog:
    async def body() -> Harness:
        h = Harness()
        await h.send(
            {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"], "tools": [TOOL]}}
        )
        await h.send(user_text("hello"))
        await h.send({"type": "response.create"})
        await h.settle()
        await h.send(user_text("please call get_weather city=Oslo"))
        await h.send({"type": "response.create"})
        await h.settle()
        call = next(e for e in reversed(h.events) if e["type"] == "response.function_call_arguments.done")
        output = {"type": "function_call_output", "call_id": call["call_id"], "output": '{"sky": "clear"}'}
        await h.send({"type": "conversation.item.create", "item": output})
        await h.send({"type": "response.create"})
        await h.settle()
        await h.send(user_text("first of all", previous_item_id="root"))
        return h

    holder: list[Harness] = []

    async def wrapper() -> None:
        holder.append(await body())

    run(wrapper)
    return recorded(holder[0])


def test_transcript_follows_conversation_order_not_arrival():
    table = transcript(text_session())
    assert list(table["role"]) == ["user", "user", "assistant", "user", "assistant", "tool", "assistant"]
    assert table["text"].iloc[0] == "first of all"  # inserted at the root, arrived last
    assert table["text"].iloc[1] == "hello"
    assert table["text"].iloc[2].startswith("Hello! I am the local emulator")
    assert list(table["kind"])[4:6] == ["function_call", "function_call_output"]
    assert table["text"].iloc[4] == 'get_weather({"city": "Oslo"})'
    assert "sky clear" in table["text"].iloc[6]
    assert not table["interrupted"].any()
    assert (table["end"] >= table["start"]).all()


def test_usage_and_cost_match_the_events_by_hand():
    log = text_session()
    table = usage(log)
    done = log.of_type("response.done")
    assert len(table) == len(done) + 1
    for row, event in zip(table.iloc[:-1].to_dict("records"), done, strict=True):
        u = event["response"]["usage"]
        assert row["input_tokens"] == u["input_tokens"]
        assert row["input_text"] == u["input_token_details"]["text_tokens"]
        assert row["cached_text"] == u["input_token_details"]["cached_tokens_details"]["text_tokens"]
        assert row["output_text"] == u["output_token_details"]["text_tokens"]
    assert table.iloc[-1]["total_tokens"] == sum(e["response"]["usage"]["total_tokens"] for e in done)

    priced = cost(log)
    p = PRICES["gpt-realtime"]
    by_hand = sum(
        (
            (e["response"]["usage"]["input_token_details"]["text_tokens"]
             - e["response"]["usage"]["input_token_details"]["cached_tokens_details"]["text_tokens"]) * p.text_in
            + e["response"]["usage"]["input_token_details"]["cached_tokens_details"]["text_tokens"] * p.text_cached
            + e["response"]["usage"]["output_token_details"]["text_tokens"] * p.text_out
        )
        / 1e6
        for e in done
    )  # fmt: skip
    assert math.isclose(priced.iloc[-1]["usd"], by_hand)
    assert priced.iloc[-1]["model"] == "gpt-realtime"


def test_reference_worked_example_costs_a_cent():
    log = EventLog()
    log.append({"type": "session.created", "session": {"model": "gpt-realtime-2025-08-28"}}, direction="server")
    log.append(
        {"type": "response.done", "response": {"id": "resp_1", "status": "completed", "usage": REFERENCE_USAGE}},
        direction="server",
    )
    assert round(cost(log).iloc[-1]["usd"], 7) == 0.0106136


def test_unknown_models_say_how_to_price_them():
    with pytest.raises(KeyError, match="No price for model 'my-deployment'"):
        prices_for("my-deployment")
    assert prices_for("gpt-4o-realtime-preview-2024-12-17") is PRICES["gpt-4o-realtime-preview"]


def second_reply_stopped(h: Harness) -> bool:
    done = [e["response"]["id"] for e in h.events if e["type"] == "response.done"]
    stopped = {e["response_id"] for e in h.events if e["type"] == "output_audio_buffer.stopped"}
    return len(done) >= 2 and done[1] in stopped


def spoken_session_with_barge_in() -> EventLog:
    holder: list[Harness] = []

    async def body() -> None:
        speaker = Speaker()
        h = Harness(speaker=speaker)
        holder.append(h)
        puller = drain(speaker)
        listener = Listener(h.engine)
        await h.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}},
            }
        )
        await say(listener, np.concatenate([silence(0.3), speech_24k("hello there"), silence(0.4)]))
        while "output_audio_buffer.started" not in h.types():
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        await say(listener, np.concatenate([speech_24k("what is the weather"), silence(0.4)]))
        # Until the second reply's own audio has stopped (on a slow machine the first reply may
        # have drained before the barge-in cancelled it, and then it says "stopped" too).
        while not second_reply_stopped(h):
            await asyncio.sleep(0.02)
        puller.cancel()

    run(body)
    return recorded(holder[0])


def test_turns_with_an_interruption():
    log = spoken_session_with_barge_in()
    table = turns(log)
    assert len(table) == 2
    first, second = table.iloc[0], table.iloc[1]
    assert first["user_text"] == "hello there"
    assert first["status"] == "cancelled"  # the second question barged in
    assert second["user_text"] == "what is the weather"
    assert second["status"] == "completed"
    for turn in (first, second):
        assert turn["speech_started"] < turn["speech_stopped"] <= turn["committed"]
        assert turn["committed"] <= turn["response_created"] <= turn["first_audio"]
        assert turn["latency_s"] == pytest.approx(turn["first_audio"] - turn["speech_stopped"])
        assert 0 < turn["latency_s"] < 5
    assert second["audio_stopped"] >= second["response_done"]
    texts = transcript(log)
    assert bool(texts[texts["role"] == "assistant"]["interrupted"].iloc[0]) is True


def test_a_beta_log_gives_the_same_tables():
    ga = text_session()
    beta = EventLog()
    for record in ga:
        as_beta = server_event_to_beta(record["event"])
        if as_beta is not None:  # beta has no conversation.item.done
            beta.append(event_to_ga(as_beta), direction="server", call_id="rtc_test")
    assert list(transcript(beta)["text"]) == list(transcript(ga)["text"])
    pd.testing.assert_frame_equal(usage(beta), usage(ga))


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_save_and_load_round_trip_exactly(tmp_path, suffix):
    log = text_session()
    log.append({"type": "response.create"}, direction="client", seq=7, call_id="rtc_test", t_browser=1_700_000_000.123)
    path = log.save(tmp_path / f"run{suffix}")
    loaded = EventLog.load(path)
    assert list(loaded) == list(log)
    pd.testing.assert_frame_equal(transcript(loaded), transcript(log))
    pd.testing.assert_frame_equal(turns(loaded), turns(log))
    pd.testing.assert_frame_equal(usage(loaded), usage(log))


def test_bad_paths_are_explained(tmp_path):
    with pytest.raises(ValueError, match=r"use a \.jsonl or \.parquet"):
        EventLog().save(tmp_path / "run.csv")
    with pytest.raises(FileNotFoundError, match="No event log at"):
        EventLog.load(tmp_path / "missing.jsonl")


def test_dataframe_filter_and_folding():
    log = text_session()
    frame = log.df
    assert list(frame.columns[:8]) == [
        "seq",
        "call_id",
        "direction",
        "type",
        "event_id",
        "item_id",
        "response_id",
        "previous_item_id",
    ]
    assert len(frame) == len(log)
    deltas = log.filter("response.output_text.delta")
    folded = log.folded()
    assert len(folded) < len(log)
    joined = [r["event"]["delta"] for r in folded if r["type"] == "response.output_text.delta"]
    assert joined[0] == log.of_type("response.output_text.done")[0]["text"]
    assert sum(r["event"].get("count", 1) for r in folded if r["type"] == "response.output_text.delta") == len(deltas)
    assert len(log.filter("response.")) > 0
    assert all(r["type"].startswith("response.") for r in log.filter("response."))
    assert len(log.filter(contains="get_weather")) > 0


def test_autosave_appends_and_a_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "live.jsonl"
    log = EventLog()
    log.append({"type": "before"}, direction="server")
    log.autosave(path)
    log.append({"type": "after"}, direction="server", seq=1)
    log.flush()
    assert [r["type"] for r in EventLog.load(path)] == ["before", "after"]
    with path.open("a") as out:
        out.write('{"seq": 2, "type": "torn')  # the kernel died mid-write
    assert [r["type"] for r in EventLog.load(path)] == ["before", "after"]
    with pytest.raises(ValueError, match=r"use a \.jsonl file name"):
        log.autosave(tmp_path / "live.parquet")


def test_plots_draw_each_turn_and_the_timeline(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rt_widget.plots import latency_waterfall, timeline

    log = spoken_session_with_barge_in()
    ax = latency_waterfall(log)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["turn 1", "turn 2"]
    assert {"user speaking", "to first audio", "model speaking"} <= {c.get_label() for c in ax.containers}
    assert any(t.get_text().endswith(" ms") for t in ax.texts)
    ax.figure.savefig(tmp_path / "waterfall.png")
    ax2 = timeline(log)
    assert len(ax2.patches) == len(transcript(log))
    ax2.figure.savefig(tmp_path / "timeline.png")
    assert (tmp_path / "waterfall.png").stat().st_size > 5000
    plt.close("all")
