"""Headless calls: rt.Call against the real emulator, over real HTTP and real WebRTC."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rt_widget as rt
from rt_widget import Emulator
from rt_widget.peer import Clip
from rt_widget.providers import ConnectError, Local
from rt_widget.session import Session
from rt_widget.session.kernel import KernelTransport
from tests.samples import speech, spoken_wav

TRANSCRIBE = "gpt-4o-mini-transcribe"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def hello_wav(path: Path) -> Path:
    return spoken_wav(path, "hello there")


def records(call: rt.Call, type_: str) -> list[dict[str, Any]]:
    """The log's records (direction, times, event) of one type."""
    return [r for r in call.events if r["type"] == type_]


def payloads(call: rt.Call, type_: str) -> list[dict[str, Any]]:
    return call.events.of_type(type_)


def get_weather(city: str) -> dict:
    """The weather in a city."""
    return {"city": city, "sky": "sunny", "ran_on": threading.current_thread().name}


def test_async_call_plays_a_wav_and_captures_the_reply(emu, tmp_path):
    async def body() -> rt.Call:
        async with rt.Call(provider=Local(emu), transcription=TRANSCRIBE) as call:
            assert call.status == "connected"
            assert call.call_id.startswith("rtc_")
            done = asyncio.ensure_future(call.wait_for("response.done", timeout=30))
            playback = await call.play(hello_wav(tmp_path / "hello.wav"))
            assert playback.ended_at is not None
            await done
            await call.wait_for("output_audio_buffer.stopped", timeout=15)
        assert call.status == "closed"
        return call

    call = asyncio.run(body())  # awaited inside a running event loop, as in a notebook cell
    heard = payloads(call, "conversation.item.input_audio_transcription.completed")
    assert [e["transcript"].strip(" .!").lower() for e in heard] == ["hello there"]
    done = payloads(call, "response.done")
    assert done[-1]["response"]["status"] == "completed"
    spoken = payloads(call, "response.output_audio_transcript.done")
    assert spoken[-1]["transcript"].startswith("Hello! I am the local emulator")
    audio = call.audio
    assert audio.duration_s > 1.0
    assert int(np.abs(audio.samples.astype(np.int32)).max()) > 1000  # not silence
    server = [r for r in call.events if r["direction"] == "server"]
    assert all(r["t_browser"] is not None and r["t_browser"] <= r["t_kernel"] for r in server)  # receive time
    assert not call.transcript().empty
    assert call.usage()["total_tokens"].iloc[-1] > 0
    turn = call.turns().iloc[0]
    said = speech("hello there")
    last_loud = np.flatnonzero(np.abs(said.samples.astype(np.int32)) > 64)[-1] / said.rate
    played = call._played[0]
    assert turn["input_ended"] == pytest.approx(played.started_at + last_loud, abs=0.05)
    assert turn["input_ended"] < turn["speech_stopped"]  # the server's VAD waits out its silence first
    assert turn["first_heard"] >= turn["response_created"]
    assert turn["first_heard"] == pytest.approx(turn["first_audio"], abs=0.25)  # heard as the event says
    assert turn["audio_latency_s"] == pytest.approx(turn["first_heard"] - turn["input_ended"])
    assert turn["audio_latency_s"] > turn["latency_s"] > 0


def test_blocking_call_say_and_a_python_tool(emu):
    with rt.Call(provider=Local(emu), tools=[get_weather], output_modalities=["text"]) as call:
        call.say("hello")
        reply = call.wait("response.done", timeout=15)
        assert reply["response"]["status"] == "completed"
        call.say("get weather in Paris")
        call.wait(
            "response.done",
            timeout=15,
            predicate=lambda e: any(o.get("type") == "message" for o in e["response"].get("output", [])),
        )
    assert call.status == "closed"
    calls = call.tool_calls
    assert list(calls["name"]) == ["get_weather"]
    assert calls["status"].iloc[0] == "ok"
    output = json.loads(calls["output"].iloc[0])
    assert output["city"] == "Paris"
    sent = records(call, "conversation.item.create")
    assert all(e["direction"] == "client" for e in sent)  # client events reach the log
    assert any(e["event"]["item"]["type"] == "function_call_output" for e in sent)
    texts = [e["text"] for e in payloads(call, "response.output_text.done")]
    assert texts[0].startswith("Hello! I am the local emulator")
    assert "The get_weather tool says" in texts[-1]


def test_play_accepts_text_arrays_and_clips(emu):
    said = speech("hello there")
    with rt.Call(provider=Local(emu), output_modalities=["text"], turn_detection=None) as call:
        played = [
            call.play((said.samples, said.rate)).wait(10),
            call.play(Clip.silence(0.1)).wait(10),
            call.play("hi").wait(10),
        ]
    assert [p.clip.label.split()[0] for p in played][2] == "text"
    assert all(p.ended_at is not None for p in played)
    with pytest.raises(RuntimeError, match="not connected"):
        call.play(Clip.silence(0.1))
    with pytest.raises(FileNotFoundError, match="No audio file"):
        call.play("missing.wav")
    with pytest.raises(TypeError, match="Cannot play a int"):
        call.play(3)  # type: ignore[arg-type]


def test_malformed_message_is_logged_and_blocking_form_runs_in_a_loop(emu):
    from rt_widget.emulator import Faults

    async def cell() -> rt.Call:
        # The blocking form, called where an event loop is already running (a notebook cell).
        with rt.Call(provider=Local(emu), output_modalities=["text"]) as call:
            call.say("hello")
            call.wait("response.done", timeout=15)
        return call

    emu.faults = Faults(malformed_event=True)
    try:
        call = asyncio.run(cell())
    finally:
        emu.faults = Faults()
    malformed = records(call, "rt_widget.malformed_event")
    assert malformed
    assert all(r["direction"] == "server" and isinstance(r["event"]["data"], str) for r in malformed)


def test_the_ephemeral_flow_says_it_needs_a_browser(emu):
    with pytest.raises(ValueError, match=r"no meaning without a browser.*unified"):
        rt.Call(provider=Local(emu, flow="ephemeral"))
    # A provider that answers with a direct call anyway: the transport refuses it the same way.
    session = Session(provider=Local(emu, flow="ephemeral"))
    transport = KernelTransport(session, loopback=True)
    session.attach(transport)
    session.connect()
    with pytest.raises(ConnectError, match=r"no meaning without a browser.*unified") as info:
        transport.connecting.result(20)
    assert "ek_" not in str(info.value)
    assert emu.api_key not in str(info.value)
    assert session.status == "error"
    assert "unified" in session.error


def test_a_refused_call_reports_its_error(emu):
    from rt_widget.emulator import Faults

    call = rt.Call(provider=Local(emu))
    emu.faults = Faults(rest_status=500)
    try:
        with pytest.raises(ConnectError) as info:
            call.start(20)
    finally:
        emu.faults = Faults()
    assert info.value.__suppress_context__  # no traceback from inside the library
    assert call.status == "error"
    assert call.error == str(info.value)
    assert emu.api_key not in call.error


def test_importing_call_leaves_the_widget_out():
    code = "import sys, rt_widget.call; print('anywidget' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def _carried(event: dict[str, Any]) -> bool:
    return str(event.get("item", {}).get("id", "")).startswith("rtwc_")


def test_renew_carries_the_conversation_past_session_expired(emu):
    with rt.Call(provider=Local(emu), renew=True, output_modalities=["text"]) as call:
        first = call.call_id
        call.say("hello")
        call.wait("response.done", timeout=15)
        emu.call(first).faults.session_expired_after_s = 0.5  # the service's 60 minutes, shortened
        renewed = call.wait("rt_widget.session_renewed", timeout=10)
        carried = call.wait(
            "conversation.item.done", timeout=15, predicate=lambda e: _carried(e) and e["item"]["role"] == "assistant"
        )
        second = call.call_id
        assert second.startswith("rtc_")
        assert second != first
        assert call.status == "connected"
        call.say("thanks")
        call.wait("response.done", timeout=15)
        items = emu.call(second).engine.items
    assert renewed["previous_call_id"] == first
    assert renewed["carried_items"] == 2
    assert "session_expired" in renewed["reason"]
    assert carried["item"]["content"][0]["text"].startswith("Hello! I am the local emulator")
    # The new call's conversation holds the old one as text, then goes on.
    texts = [(i["role"], (i["content"] or [{}])[0].get("text", "")) for i in items if i["type"] == "message"]
    assert texts[0] == ("user", "hello")
    assert texts[1][0] == "assistant"
    assert texts[1][1].startswith("Hello!")
    assert texts[2] == ("user", "thanks")
    assert texts[3] == ("assistant", "You are welcome!")
    # The log keeps both calls; the analyses count each message once, in order.
    assert {r["call_id"] for r in call.events if r["direction"] == "server"} == {first, second}
    transcript = call.transcript()
    assert list(transcript["role"]) == ["user", "assistant", "user", "assistant"]
    assert list(transcript["text"])[::2] == ["hello", "thanks"]
    assert len(call.turns()) == 2
    assert "renewed" in call.session.notice
    assert "2 messages" in call.session.notice
    assert not call.error


def test_renew_before_the_limit_once_the_reply_is_done(emu):
    with rt.Call(provider=Local(emu), renew=True, renew_after_s=1.0, output_modalities=["text"]) as call:
        first = call.call_id
        call.say("hello")
        renewed = call.wait("rt_widget.session_renewed", timeout=10)
        call.wait("conversation.item.done", timeout=15, predicate=_carried)
        assert call.call_id != first
        replies = [r for r in call.events if r["type"] == "response.done"]
        assert replies
        assert replies[0]["t_kernel"] <= next(
            r["t_kernel"] for r in call.events if r["type"] == "rt_widget.session_renewed"
        )
    assert "60-minute limit" in renewed["reason"]
    assert renewed["carried_items"] == 2


def test_session_expired_without_renew_says_what_to_do(emu):
    with rt.Call(provider=Local(emu), output_modalities=["text"]) as call:
        emu.call(call.call_id).faults.session_expired_after_s = 0.2
        call.wait("error", timeout=10)
        deadline = time.monotonic() + 10
        while call.status != "error" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert call.status == "error"
        assert "renew=True" in call.error


def test_waits_find_a_reply_that_came_first_and_go_through_the_log_in_order(emu):
    with rt.Call(provider=Local(emu), output_modalities=["text"]) as call:
        call.say("hello")
        time.sleep(1.0)  # the reply is in before the wait begins
        created = call.wait("response.created", timeout=5)
        first = call.wait("response.done", timeout=5)
        with pytest.raises(TimeoutError):  # that reply was returned already: no other is coming
            call.wait("response.done", timeout=0.5)
        call.say("thanks")
        second = call.wait("response.done", timeout=15)
    assert created["response"]["id"] == first["response"]["id"] != second["response"]["id"]
    assert [first, second] == call.events.of_type("response.done")
    assert second["response"]["output"][0]["content"][0]["text"] == "You are welcome!"
