"""One experiment across both APIs: a Realtime config and a GPT-Live config, the same inputs, the emulator.

Real HTTP and WebRTC; the same table, with the figures that mean the same thing side by side.
"""

from __future__ import annotations

import json
import math
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rt_widget as rt
from rt_widget import Emulator
from rt_widget.gptlive.delegation import ResponsesDelegation
from rt_widget.providers import ConnectError, Local
from tests.samples import spoken_wav

CONFIGS: dict[str, dict[str, Any]] = {
    "realtime": {"instructions": "Answer in one sentence.", "transcription": "gpt-4o-mini-transcribe"},
    "live": {"model": "gpt-live-1", "instructions": "Answer in one sentence."},
}


def test_a_realtime_and_a_live_config_answer_the_same_inputs(tmp_path: Path) -> None:
    inputs = {"spoken": spoken_wav(tmp_path / "hello.wav", "hello there"), "two_turns": ["hello", "thank you"]}
    with Emulator() as emu:
        table = rt.experiment(
            CONFIGS, inputs, concurrency=2, provider=Local(emu), folder=tmp_path / "exp", progress=False
        )
    assert list(table["status"]) == ["ok"] * 4, table["error"].tolist()
    for row in table.to_dict("records"):
        turns = 2 if row["input"] == "two_turns" else 1
        assert len(row["model_transcript"]) == turns, row
        assert all(text.strip() for text in row["model_transcript"]), row["model_transcript"]
        assert len(row["latency_s"]) == turns, row
        # Latency as heard: the same measure for both APIs, from the audio the call sent and heard.
        assert all(math.isfinite(x) and 0 < x < 10 for x in row["audio_latency_s"]), row["audio_latency_s"]
        assert row["cost_usd"] > 0, row  # Realtime per token, GPT-Live per minute
        with wave.open(row["audio_path"]) as audio:
            samples = np.frombuffer(audio.readframes(audio.getnframes()), "<i2")
        assert int(np.abs(samples.astype(np.int32)).max()) > 1000  # the reply was spoken
        log = rt.EventLog.load(row["events_path"])
        if row["config"] == "live":
            assert row["call_id"].startswith("live_")
            assert log.of_type("session.started")
            assert not log.of_type("response.done")
        else:
            assert row["call_id"].startswith("rtc_")
            assert log.of_type("response.done")
    for config in ("realtime", "live"):
        spoken = table[(table["config"] == config) & (table["input"] == "spoken")]
        assert spoken["user_transcript"].iloc[0][0].strip(" .!").lower() == "hello there", config
        two = table[(table["config"] == config) & (table["input"] == "two_turns")]
        assert [t.strip(" .!").lower() for t in two["user_transcript"].iloc[0]] == ["hello", "thank you"], config
    live = table[table["config"] == "live"].iloc[0]
    assert json.loads(live["settings"]) == CONFIGS["live"]


class Untouchable(Local):
    """A provider that fails the test if any call is attempted."""

    async def connect(self, offer_sdp, config):  # type: ignore[no-untyped-def]
        raise AssertionError("a bad config reached the network")

    async def connect_live(self, offer_sdp, session):  # type: ignore[no-untyped-def]
        raise ConnectError("a bad config reached the network")


def book(day: str) -> str:
    """Book a table."""
    return day


@pytest.mark.parametrize(
    ("config", "error", "expected"),
    [
        ({"model": "gpt-live-1", "tools": [book]}, ValueError, r"Config 'a': tools is a Realtime setting"),
        ({"model": "gpt-live-1", "turn_detection": None}, ValueError, r"Config 'a': turn_detection is a Realtime"),
        ({"model": "gpt-live-1", "voice": 3}, ValueError, r"Config 'a': .*voice"),
        ({"model": "gpt-live-1", "instructoins": "x"}, ValueError, r"Config 'a': .*did you mean 'instructions'"),
        ({"api": "live", "model": "gpt-realtime"}, ValueError, r"Config 'a': .*model"),
        ({"api": "bogus"}, ValueError, r"Config 'a': api='bogus' is not valid"),
        ({"model": "gpt-live-1", "provider": "openai"}, TypeError, r"Config 'a' sets 'provider'"),
    ],
)
def test_a_bad_live_config_is_refused_before_any_call(
    tmp_path: Path, config: dict[str, Any], error: type[Exception], expected: str
) -> None:
    with pytest.raises(error, match=expected):
        rt.experiment({"a": config}, {"hi": "hello"}, provider=Untouchable(), folder=tmp_path / "exp", progress=False)
    assert not (tmp_path / "exp").exists()


def test_a_live_config_with_a_python_tool_keeps_its_definition_in_the_settings(tmp_path: Path) -> None:
    from rt_widget.experiments.plan import plan

    (trial,) = plan(
        {"a": {"model": "gpt-live-1", "delegation": ResponsesDelegation("gpt-5.5", tools=[book])}}, {"hi": "hello"}, 1
    )
    settings = json.loads(trial.settings_json)
    assert settings["delegation"]["responses"]["tools"][0]["name"] == "book"  # the same in every process
    assert trial.live
    assert trial.speaks
    assert (
        trial.id
        == plan(
            {"a": {"model": "gpt-live-1", "delegation": ResponsesDelegation("gpt-5.5", tools=[book])}},
            {"hi": "hello"},
            1,
        )[0].id
    )
