"""rt.experiment(backend="ray"): each trial a Ray task on a local Ray, against the real emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import ray

import rt_widget as rt
from rt_widget import Emulator
from rt_widget.experiments.plan import plan
from rt_widget.providers import Local, OpenAI

CONFIGS: dict[str, dict[str, Any]] = {
    "brief": {"instructions": "Answer in one sentence.", "transcription": "gpt-4o-mini-transcribe"},
    "ahoy": {"instructions": 'Start every reply with "Ahoy".', "output_modalities": ["text"]},
}
INPUTS = {"hello": "hello", "thanks": ["hello", "thank you"]}
SAME = ["trial", "config", "settings", "input", "input_fingerprint", "repeat", "status", "model_transcript"]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # once for the whole module
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def run(emu: Emulator, folder: Any, backend: str) -> pd.DataFrame:
    # A call mostly waits on real-time audio: half a CPU each lets 4 run at once on 2 CPUs.
    ray_options = {"num_cpus": 0.5} if backend == "ray" else None
    return rt.experiment(
        CONFIGS,
        INPUTS,
        repeats=2,
        concurrency=4,
        provider=Local(emu),
        folder=folder,
        backend=backend,
        progress=False,
        ray_options=ray_options,
    )


def test_ray_gives_the_same_table_as_local(local_ray, emu, tmp_path):
    here = run(emu, tmp_path / "local", "local")
    there = run(emu, tmp_path / "ray", "ray")
    assert len(there) == 8
    assert list(there["status"]) == ["ok"] * 8, there["error"].tolist()
    pd.testing.assert_frame_equal(here[SAME], there[SAME])
    assert all(str(tmp_path / "ray") in path for path in there["events_path"])  # the driver wrote the files
    assert all(rt.EventLog.load(path).of_type("response.done") for path in there["events_path"])
    spoken = there[there["config"] == "brief"]
    assert all(path.endswith(".wav") for path in spoken["audio_path"])
    assert all(all(x > 0 for x in row) for row in spoken["audio_latency_s"])
    # The calls ran in Ray's worker processes, not here: the emulator saw them all the same.
    assert there["call_id"].str.startswith("rtc_").all()
    assert set(there["call_id"]).isdisjoint(here["call_id"])
    # A rerun on Ray skips what is done.
    again = run(emu, tmp_path / "ray", "ray")
    assert again["started_at"].tolist() == there["started_at"].tolist()


def test_a_provider_object_with_a_key_is_refused(local_ray, tmp_path):
    key = "sk-test-" + "x" * 40
    with pytest.raises(TypeError, match=r"provider='openai'.*own environment") as info:
        rt.experiment(
            CONFIGS, INPUTS, provider=OpenAI(api_key=key), folder=tmp_path / "exp", backend="ray", progress=False
        )
    assert key not in str(info.value)
    assert not (tmp_path / "exp").exists()


def test_mcp_credentials_never_reach_ray_or_a_file(local_ray, emu, tmp_path):
    token = "tok-mcp-" + "y" * 30
    mcp = {"type": "mcp", "server_label": "docs", "server_url": "https://example.com/mcp", "authorization": token}
    configs = {"docs": {"tools": [mcp], "output_modalities": ["text"]}}
    with pytest.raises(ValueError, match=r"Config 'docs' gives an MCP tool .* Ray's object store") as info:
        rt.experiment(configs, INPUTS, provider=Local(emu), folder=tmp_path / "exp", backend="ray", progress=False)
    assert token not in str(info.value)
    assert not (tmp_path / "exp").exists()
    trial = plan(configs, {"hi": "hello"}, 1)[0]
    assert token not in trial.settings_json  # the settings column and the trial's identity
    assert json.loads(trial.settings_json)["tools"][0]["authorization"] == "[redacted]"
