"""Headless calls on every provider flow, against the real emulator over real HTTP and WebRTC.

One test per flow (unified, Azure, the legacy beta shape, the emulator provider): a spoken WAV
of a known phrase goes in as the microphone, the emulator transcribes it as that phrase, and
the model's voice comes back captured, not silent, as long as its transcript takes to say.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import rt_widget as rt
from rt_widget import Emulator
from rt_widget._loop import io_loop
from rt_widget.config import SessionConfig
from rt_widget.emulator import tts
from rt_widget.providers import Azure, Beta, ConnectError, DirectCall, Local, OpenAI, Provider
from rt_widget.providers.base import is_loopback_url, post_offer
from tests.samples import spoken_wav

TRANSCRIBE = "gpt-4o-mini-transcribe"
VOICE = "alloy"
PHRASE = "hello there"
LOUD = 500
# An ephemeral key as it would show in a log line (not "ek_" inside the repr of some bytes).
EPHEMERAL_KEY = re.compile(r"(?<![A-Za-z0-9\\])ek_[A-Za-z0-9_-]{8,}")
"""A sample above this (of 32767) is voice, not the silence between replies."""

FLOWS: dict[str, Callable[[Emulator], Provider]] = {
    "unified": lambda emu: OpenAI(api_key=emu.api_key, base_url=emu.base_url),
    "azure": lambda emu: Azure(endpoint=f"http://127.0.0.1:{emu.port}", deployment="my-realtime", api_key=emu.api_key),
    "beta": lambda emu: Beta(api_key=emu.api_key, base_url=emu.base_url),
    "emulator": lambda emu: Local(emu),
}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def voiced_s(samples: np.ndarray, rate: int) -> float:
    """Seconds from the first to the last loud sample: the voice without the silence around it."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > LOUD)
    return float(loud[-1] - loud[0]) / rate if loud.size else 0.0


RAN_ON: list[str] = []


def get_weather(city: str) -> dict[str, str]:
    """The weather in a city."""
    RAN_ON.append(threading.current_thread().name)
    return {"sky": "sunny"}  # short: the reply that says it is spoken in real time


def says_something(event: dict[str, Any]) -> bool:
    """A response that speaks (not one that only calls a tool)."""
    return any(o.get("type") == "message" for o in event["response"].get("output", []))


@pytest.mark.parametrize("flow", list(FLOWS))
def test_a_spoken_wav_is_heard_and_the_reply_is_captured(emu, tmp_path, caplog, flow):
    provider = FLOWS[flow](emu)
    caplog.set_level(logging.DEBUG)
    with rt.Call(provider=provider, transcription=TRANSCRIBE, voice=VOICE) as call:
        assert call.status == "connected"
        assert call.call_id.startswith("rtc_")
        call.play(spoken_wav(tmp_path / "hello.wav", PHRASE)).wait(15)
        done = call.wait("response.done", timeout=30)
        call.wait("output_audio_buffer.stopped", timeout=15)
    assert call.status == "closed"
    assert done["response"]["status"] == "completed"

    heard = call.events.of_type("conversation.item.input_audio_transcription.completed")
    assert [e["transcript"].strip(" .!").lower() for e in heard] == [PHRASE]
    transcript = call.events.of_type("response.output_audio_transcript.done")[-1]["transcript"]
    assert transcript.startswith("Hello!")  # the reply to a greeting, under GA names on every flow

    audio = call.audio
    assert int(np.abs(audio.samples.astype(np.int32)).max()) > 5 * LOUD  # not silence
    reference = tts.speak(transcript, VOICE)  # the same words from the emulator's own TTS
    expected = voiced_s(reference.samples, reference.rate)
    assert voiced_s(audio.samples, audio.rate) == pytest.approx(expected, rel=0.25)

    # No key, minted or standard, reaches the event log or a log line.
    logged = json.dumps(list(call.events), default=str)
    for text in (logged, caplog.text, call.error):
        assert emu.api_key not in text
        assert EPHEMERAL_KEY.search(text) is None, EPHEMERAL_KEY.search(text)


def test_a_python_tool_runs_during_a_headless_beta_call(emu, tmp_path):
    provider = FLOWS["beta"](emu)
    with rt.Call(provider=provider, transcription=TRANSCRIBE, tools=[get_weather]) as call:
        call.play(spoken_wav(tmp_path / "tool.wav", "call get weather")).wait(15)
        call.wait("response.done", timeout=30, predicate=says_something)
    heard = call.events.of_type("conversation.item.input_audio_transcription.completed")
    assert [e["transcript"] for e in heard] == ["call get weather"]
    calls = call.tool_calls
    assert list(calls["name"]) == ["get_weather"]
    assert calls["status"].iloc[0] == "ok"
    assert json.loads(calls["output"].iloc[0]) == {"sky": "sunny"}
    assert RAN_ON  # it ran...
    assert threading.current_thread().name not in RAN_ON  # ...on the peer's side, while this thread waited
    spoken = call.events.of_type("response.output_audio_transcript.done")[-1]["transcript"]
    assert spoken == "The get_weather tool says: sky sunny."


def test_the_ga_ephemeral_flow_is_still_refused(emu):
    with pytest.raises(ValueError, match=r"no meaning without a browser"):
        rt.Call(provider=OpenAI(api_key=emu.api_key, base_url=emu.base_url, flow="ephemeral"))


def test_a_refused_direct_offer_says_why_without_the_key(emu):
    token = "ek_" + "0" * 32  # shaped like a minted key, but never minted
    url = f"{emu.base_url}/realtime?model=gpt-realtime"
    with pytest.raises(ConnectError) as refused:
        io_loop().run(post_offer(url, token, "v=0\r\n"))
    assert refused.value.status == 401
    assert not refused.value.retryable
    assert "connect again" in str(refused.value)
    assert token not in str(refused.value)

    with pytest.raises(ConnectError) as unreachable:
        io_loop().run(post_offer("http://127.0.0.1:9/v1/realtime?model=x", token, "v=0\r\n"))
    assert unreachable.value.status is None
    assert unreachable.value.retryable
    assert "Could not reach http://127.0.0.1:9/v1/realtime" in str(unreachable.value)
    assert token not in str(unreachable.value)


class BetaPostingNowhere(Beta):
    """The beta shape, minting a real key but sending the offer to a port nobody listens on."""

    def __init__(self, api_key: str, base_url: str) -> None:
        super().__init__(api_key=api_key, base_url=base_url)
        self.minted: list[str] = []

    async def connect(self, offer_sdp: str, config: SessionConfig) -> DirectCall:
        direct = await super().connect(offer_sdp, config)
        self.minted.append(direct.token)
        return DirectCall("http://127.0.0.1:9/v1/realtime?model=gpt-realtime", direct.token)


def test_a_beta_call_whose_offer_cannot_be_posted_fails_with_a_clear_error(emu):
    provider = BetaPostingNowhere(api_key=emu.api_key, base_url=emu.base_url)
    call = rt.Call(provider=provider)
    with pytest.raises(ConnectError, match=r"Could not reach http://127.0.0.1:9/v1/realtime \(") as info:
        call.start(20)
    assert info.value.retryable
    assert info.value.__suppress_context__  # no traceback from inside the library
    assert call.status == "error"
    assert call.error == str(info.value)
    token = provider.minted[-1]
    assert token.startswith("ek_")
    for text in (call.error, json.dumps(list(call.events), default=str)):
        assert token not in text


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8765/v1", True),
        ("http://127.3.4.5/v1", True),
        ("http://localhost:1/openai/v1", True),
        ("http://[::1]:80/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://192.0.2.2:8765/v1", False),
        ("not a url", False),
    ],
)
def test_loopback_urls(url, loopback):
    assert is_loopback_url(url) is loopback
