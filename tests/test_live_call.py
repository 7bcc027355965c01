"""GPT-Live headless calls: rt.Call with a gpt-live model against the emulator's Live endpoint.

Real HTTP, real WebRTC, the emulator's own VAD and recognizer; what each command means on Live.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import rt_widget as rt
from rt_widget import Emulator
from rt_widget.gptlive.session import LiveSession
from rt_widget.peer import Clip
from rt_widget.providers import Beta, Local, OpenAI
from tests.conformance import unknown_fields
from tests.samples import spoken_wav


@pytest.fixture(scope="module")
def emu():
    with Emulator() as emulator:
        yield emulator


def texts(call: rt.Call, type_: str) -> str:
    return "".join(e["delta"] for e in call.events.of_type(type_))


def test_a_spoken_turn_on_gpt_live(emu, tmp_path):
    wav = spoken_wav(tmp_path / "hello.wav", "hello there")

    async def body() -> tuple[rt.Call, Any, Any]:
        async with rt.Call(provider=Local(emu), model="gpt-live-1", instructions="Be brief.") as call:
            assert isinstance(call.session, LiveSession)
            assert call.call_id.startswith("live_") or call.call_id  # the Live session's id
            await call.wait_for("session.started", timeout=10)
            heard = asyncio.ensure_future(call.wait_for("session.output_transcript.delta", timeout=30))
            await call.play(Clip.silence(0.3))
            await call.play(wav)
            await heard
            await asyncio.sleep(3)  # the rest of the reply
            transcript, turns = call.transcript(), call.turns()
        return call, transcript, turns

    call, transcript, turns = asyncio.run(body())
    assert "hello there" in texts(call, "session.input_transcript.delta").lower()
    assert texts(call, "session.output_transcript.delta").strip()
    assert list(transcript["role"][:2]) == ["user", "assistant"]
    assert "hello there" in transcript["text"].iloc[0].lower()
    assert len(turns) == 1
    assert turns["latency_s"].iloc[0] is not None
    assert call.audio.duration_s > 0.5  # the reply was spoken
    assert call.events.of_type("session.closed"), [
        (r["direction"], r["type"]) for r in call.events
    ]  # hung up: the service closed the session


def test_live_commands_do_what_live_offers(emu):
    async def body() -> rt.Call:
        async with rt.Call(provider=Local(emu), model="gpt-live-1") as call:
            with pytest.raises(ValueError, match="no typed user turns"):
                call.say("hello")
            with pytest.raises(ValueError, match="speak over the model"):
                call.session.interrupt()
            with pytest.raises(ValueError, match="delegation and triggers"):
                call.session.update(voice="cedar")
            with pytest.raises(ValueError, match="not a GPT-Live client event"):
                call.send({"type": "response.cancel"})
            call.session.append_instructions("Answer in French.")
            await call.wait_for("session.instructions.appended", timeout=10)
            call.session.mute()
            await call.wait_for("session.input_audio.muted", timeout=10)
            call.session.unmute()
            await call.wait_for("session.input_audio.unmuted", timeout=10)
        return call

    call = asyncio.run(body())
    sent = [r["type"] for r in call.events if r["direction"] == "client"]
    assert sent == [
        "session.instructions.append",
        "session.input_audio.mute",
        "session.input_audio.unmute",
        "session.close",  # hang-up asks the service to close first
    ]


def test_live_sessions_are_chosen_by_model_or_api_and_checked_first():
    assert isinstance(rt.Call(provider="emulator", model="gpt-live-1").session, LiveSession)
    assert not isinstance(rt.Call(provider="emulator", model="gpt-realtime").session, LiveSession)
    assert isinstance(rt.Call(provider="emulator", api="live", model="gpt-live-1.1").session, LiveSession)
    with pytest.raises(ValueError, match="api='beta' is not valid"):
        rt.Call(provider="emulator", api="beta")
    with pytest.raises(ValueError, match="renew=True"):
        rt.Call(provider="emulator", model="gpt-live-1", renew=True)
    with pytest.raises(ValueError, match="budget_usd"):
        rt.Call(provider="emulator", model="gpt-live-1", budget_usd=1.0)
    with pytest.raises(Exception, match="ResponsesDelegation"):
        rt.Call(provider="emulator", model="gpt-live-1", tools=[print])


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: rt.Realtime(provider=Beta(api_key="sk-test-0123456789"), model="gpt-live-1"), "beta shape belongs"),
        (
            lambda: rt.Realtime(provider=OpenAI(api_key="sk-test-0123456789", flow="ephemeral"), api="live"),
            "no ephemeral",
        ),
        (lambda: rt.Realtime(provider=Local(flow="ephemeral"), model="gpt-live-1.1"), "no ephemeral flow"),
        (lambda: rt.Realtime(provider="emulator", model="gpt-live-1", api="beta"), "api='beta' is not valid"),
        (lambda: rt.Realtime(provider="emulator", model="gpt-live-1", voice=7), "voice"),
        (lambda: rt.Realtime(provider="emulator", model="gpt-live-1", sideband="yes"), "sideband='yes'"),
    ],
)
def test_a_provider_or_option_live_cannot_use_is_refused_at_once(make: Any, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        make()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (lambda s: s.session.append_instructions(""), "needs some text"),
        (lambda s: s.session.append_thinking(3), "needs some text"),
        (lambda s: s.session.append_commentary("   "), "needs some text"),
        (lambda s: s.update(), "delegation=... or triggers="),
        (lambda s: s.update(instructions="Be verbose."), "cannot change"),
        (lambda s: s.update(triggers=None), "triggers=None is not valid"),
        (lambda s: s.send({"type": "response.cancel"}), "not a GPT-Live client event"),
        (lambda s: s.send("session.close"), "a dict with a 'type' string"),
    ],
)
def test_a_bad_live_command_is_a_clear_error_before_anything_is_sent(command: Any, expected: str) -> None:
    widget = rt.Realtime(provider="emulator", model="gpt-live-1")
    sent: list[Any] = []
    widget._on_message({"kind": "state", "status": "connected", "error": ""})
    widget._page.post = sent.append  # type: ignore[method-assign]
    with pytest.raises((ValueError, TypeError), match=expected):
        command(widget)
    assert sent == []
    widget.close()


def test_the_widget_speaks_live_too():
    s = rt.Realtime(provider="emulator", model="gpt-live-1")
    assert s.session.api == "live"
    assert unknown_fields is not None
    with pytest.raises(ValueError, match="no typed user turns"):
        s.say("hi")


def get_weather(city: str) -> dict:
    """The weather in a city."""
    return {"city": city, "sky": "sunny and 21 C"}


def test_a_python_tool_runs_through_responses_delegation(emu, tmp_path):
    from rt_widget.gptlive.delegation import ResponsesDelegation

    wav = spoken_wav(tmp_path / "hello.wav", "hello there")
    backend = ResponsesDelegation(model="gpt-5.5", tools=(get_weather,), tool_choice="required")

    async def body() -> rt.Call:
        async with rt.Call(provider=Local(emu), model="gpt-live-1", delegation=backend) as call:
            said = asyncio.ensure_future(
                call.wait_for("session.output_transcript.delta", timeout=30, predicate=lambda e: "sunny" in e["delta"])
            )
            await call.play(Clip.silence(0.3))
            await call.play(wav)
            await said
        return call

    call = asyncio.run(body())
    (ran,) = call.session.tool_calls.to_dict("records")
    assert ran["name"] == "get_weather"
    assert ran["status"] == "ok"
    sent = [r["event"] for r in call.events if r["direction"] == "client"]
    outputs = [e for e in sent if e["type"] == "response.item.create"]
    assert outputs[0]["item"]["type"] == "function_call_output"
    assert outputs[0]["item"]["call_id"] == ran["call_id"]
    assert [e["type"] for e in sent[:2]] == ["response.item.create", "response.create"]  # output, then a reply
    assert "The get_weather tool says" in texts(call, "session.output_transcript.delta")  # its output reached the model
    assert "sunny" in texts(call, "session.output_transcript.delta")


def test_a_live_session_the_service_expires_says_so(emu):
    async def body() -> rt.Call:
        async with rt.Call(provider=Local(emu), model="gpt-live-1") as call:
            await call.wait_for("session.started", timeout=10)
            emu.call(call.call_id).faults.session_expired_after_s = 0  # GPT-Live's two hours, shortened
            closed = await call.wait_for("session.closed", timeout=10)
            assert closed["reason"] == "expired"
            for _ in range(50):
                if call.status == "error":
                    break
                await asyncio.sleep(0.1)
        return call

    call = asyncio.run(body())
    assert call.status == "error"
    assert "duration limit" in call.error
    assert "Connect again" in call.error
    assert not call.events.of_type("error")  # Live's own way of ending, not a Realtime error event


def slow_weather(city: str) -> dict:
    """The weather in a city (slowly)."""
    import time

    time.sleep(2)
    return {"city": city}


def broken_weather(city: str) -> dict:
    """The weather in a city (broken)."""
    raise RuntimeError("the weather service is down")


def test_live_tools_wait_for_approval_and_report_errors_and_timeouts(emu, tmp_path):
    from rt_widget.gptlive.delegation import ResponsesDelegation

    wav = spoken_wav(tmp_path / "hello.wav", "hello there")

    async def run(tool: Any, approve: bool = False) -> rt.Call:
        backend = ResponsesDelegation(model="gpt-5.5", tools=(tool,), tool_choice="required")
        async with rt.Call(provider=Local(emu), model="gpt-live-1", delegation=backend) as call:
            said = asyncio.ensure_future(
                call.wait_for("session.output_transcript.delta", timeout=30, predicate=lambda e: "tool" in e["delta"])
            )
            await call.play(Clip.silence(0.3))
            await call.play(wav)
            if approve:
                for _ in range(100):  # the call waits for a person (or Python) to approve it
                    if call.session.approvals:
                        break
                    await asyncio.sleep(0.1)
                assert [a["name"] for a in call.session.approvals] == ["get_weather"]
                assert list(call.session.tool_calls["status"]) == ["awaiting approval"]  # not run yet
                call.session.approve()
            await said
        return call

    async def body() -> list[rt.Call]:
        return list(
            await asyncio.gather(
                run(rt.Tool(get_weather, needs_approval=True), approve=True),
                run(broken_weather),
                run(rt.Tool(slow_weather, timeout=0.3)),
            )
        )

    approved, broken, slow = asyncio.run(body())
    results = {}
    for call in (approved, broken, slow):
        (ran,) = call.session.tool_calls.to_dict("records")
        results[ran["name"]] = ran
        outputs = [e["event"] for e in call.events if e["type"] == "response.item.create"]
        assert outputs[0]["item"]["output"] == ran["output"]  # what the backend was told
    assert results["get_weather"]["status"] == "ok"
    assert "sunny" in results["get_weather"]["output"]
    assert results["broken_weather"]["status"] == "error"
    assert "the weather service is down" in results["broken_weather"]["output"]
    assert results["slow_weather"]["status"] == "timeout"
    assert "did not finish within 0.3 s" in results["slow_weather"]["output"]
