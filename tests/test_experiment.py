"""rt.experiment against the real emulator: the table, resuming after a crash, retries, bad input."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import textwrap
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

import rt_widget as rt
from rt_widget import Emulator
from rt_widget.emulator import Faults
from rt_widget.experiments.retry import MAX_BACKOFF_S, ReplyTimeoutError, Retry, retryable
from rt_widget.providers import ConnectError, Local, Provider
from tests.samples import spoken_wav

TRANSCRIBE = "gpt-4o-mini-transcribe"
AHOY = 'Start every reply with "Ahoy".'
CONFIGS: dict[str, dict[str, Any]] = {
    # Speaks, so audio files and latency as heard are exercised; one sentence keeps it short.
    "brief": {"instructions": "Answer in one sentence.", "transcription": TRANSCRIBE},
    "ahoy": {"instructions": AHOY, "output_modalities": ["text"], "transcription": TRANSCRIBE},
}
TEXT_ONLY = {"output_modalities": ["text"]}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("inputs")
    return {
        "spoken_wav": spoken_wav(folder / "hello.wav", "hello there"),
        "text": "hello",
        "two_turns": ["hello", "thank you"],
    }


@pytest.fixture(scope="module")
def run(emu: Emulator, inputs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    folder = tmp_path_factory.mktemp("experiment")
    table = rt.experiment(CONFIGS, inputs, repeats=2, concurrency=4, provider=Local(emu), folder=folder, progress=False)
    return table, folder


# -- the table -----------------------------------------------------------------------------------


def test_every_trial_is_a_row_and_the_configs_answer_as_told(run):
    table, _folder = run
    assert len(table) == 12
    assert list(table["status"]) == ["ok"] * 12, table["error"].tolist()
    assert table["trial"].is_unique
    assert sorted(table.groupby(["config", "input"]).size().tolist()) == [2] * 6
    assert sorted(set(table["repeat"])) == [0, 1]
    assert set(table["attempts"]) == {1}
    for row in table.to_dict("records"):
        assert json.loads(row["settings"]) == CONFIGS[row["config"]]
        turns = 2 if row["input"] == "two_turns" else 1
        assert len(row["model_transcript"]) == turns, row
        assert len(row["latency_s"]) == turns
        assert all(math.isfinite(x) and 0 < x < 10 for x in row["latency_s"]), row["latency_s"]
        assert row["total_tokens"] > 0
        assert row["cost_usd"] > 0
        assert row["call_id"].startswith("rtc_")
        replies = row["model_transcript"]
        if row["config"] == "ahoy":
            assert all(reply.startswith("Ahoy") for reply in replies), replies
        else:
            assert not any(reply.startswith("Ahoy") for reply in replies), replies
    spoken = table[table["input"] == "spoken_wav"]
    assert {t[0].strip(" .!").lower() for t in spoken["user_transcript"]} == {"hello there"}
    for texts in table[table["input"] == "two_turns"]["user_transcript"]:
        assert [text.strip(" .!").lower() for text in texts] == ["hello", "thank you"]


def test_each_trial_saved_its_events_and_the_model_audio(run):
    table, _folder = run
    for row in table.to_dict("records"):
        log = rt.EventLog.load(row["events_path"])
        assert log.of_type("session.created")
        assert len(log.of_type("response.done")) >= len(row["model_transcript"])
        if row["config"] == "brief":  # it speaks
            with wave.open(row["audio_path"]) as audio:
                samples = np.frombuffer(audio.readframes(audio.getnframes()), "<i2")
                assert audio.getnframes() / audio.getframerate() > 0.5
            assert int(np.abs(samples.astype(np.int32)).max()) > 1000  # not silence
            assert all(math.isfinite(x) and 0 < x < 10 for x in row["audio_latency_s"]), row["audio_latency_s"]
        else:
            assert row["audio_path"] == ""
            assert all(math.isnan(x) for x in row["audio_latency_s"])


def test_duckdb_reads_the_whole_experiment_folder(run):
    table, folder = run
    per_config = duckdb.sql(
        f"select config, count(*) as trials, sum(total_tokens) as tokens, avg(cost_usd) as usd "
        f"from '{folder}/results/*.parquet' where status = 'ok' group by config order by config"
    ).df()
    assert per_config["config"].tolist() == ["ahoy", "brief"]
    assert per_config["trials"].tolist() == [6, 6]
    assert per_config["tokens"].tolist() == [
        table.loc[table["config"] == name, "total_tokens"].sum() for name in ("ahoy", "brief")
    ]
    replies = duckdb.sql(
        f"select regexp_extract(filename, '([^/]+)[.]parquet$', 1) as trial, count(*) as n "
        f"from read_parquet('{folder}/events/*.parquet', filename=true) where type = 'response.done' group by trial"
    ).df()
    assert sorted(replies["trial"]) == sorted(table["trial"])
    assert (replies["n"] >= 1).all()


def test_the_comparison_plot(run):
    table, _folder = run
    figure = rt.plot_experiment(table)
    assert len(figure.axes) == 3  # latency, latency as heard, cost
    for ax in figure.axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["brief", "ahoy"]
        assert ax.get_title()
    # The mean markers (one per config) sit at each config's mean cost.
    means = [line.get_ydata()[0] for line in figure.axes[2].lines if len(line.get_ydata()) == 1]
    expected = [table.loc[table["config"] == name, "cost_usd"].mean() for name in ("brief", "ahoy")]
    assert means == pytest.approx(expected)
    with pytest.raises(TypeError, match="needs the table"):
        rt.plot_experiment(pd.DataFrame({"x": [1]}))


# -- resuming --------------------------------------------------------------------------------------

_CHILD = """
import sys
import rt_widget as rt
from rt_widget import Emulator
from rt_widget.providers import Local

configs = {"plain": {"output_modalities": ["text"]}}
inputs = {f"say{i}": f"hello number {i}" for i in range(6)}
with Emulator() as emu:
    rt.experiment(configs, inputs, concurrency=1, provider=Local(emu), folder=sys.argv[1], progress=False)
"""


def test_a_run_killed_halfway_redoes_no_finished_trial(emu, tmp_path):
    folder = tmp_path / "exp"
    results = folder / "results"
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_CHILD), str(folder)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and len(list(results.glob("*.parquet"))) < 2:
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)  # a crash: no clean-up of any kind
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    before = {p.name: p.stat().st_mtime_ns for p in results.glob("*.parquet")}
    assert 2 <= len(before) < 6
    events_before = {p.name: p.stat().st_mtime_ns for p in (folder / "events").glob("*.parquet")}

    configs = {"plain": {"output_modalities": ["text"]}}
    inputs = {f"say{i}": f"hello number {i}" for i in range(6)}
    table = rt.experiment(configs, inputs, concurrency=2, provider=Local(emu), folder=folder, progress=False)

    assert len(table) == 6
    assert list(table["status"]) == ["ok"] * 6, table["error"].tolist()
    assert list(table["input"]) == [f"say{i}" for i in range(6)]
    after = {p.name: p.stat().st_mtime_ns for p in results.glob("*.parquet")}
    assert {name: after[name] for name in before} == before  # finished trials were not rewritten
    assert len(after) == 6
    events_after = {p.name: p.stat().st_mtime_ns for p in (folder / "events").glob("*.parquet")}
    assert {name: events_after[name] for name in events_before} == events_before
    assert not [p for p in results.iterdir() if not p.name.endswith(".parquet")] or all(
        p.name.startswith(".") for p in results.iterdir() if not p.name.endswith(".parquet")
    )  # at most a torn temporary file of the killed run, never a half-written result


def test_a_changed_config_is_a_new_trial(emu, tmp_path):
    first = rt.experiment({"a": TEXT_ONLY}, {"hi": "hello"}, provider=Local(emu), folder=tmp_path, progress=False)
    again = rt.experiment({"a": TEXT_ONLY}, {"hi": "hello"}, provider=Local(emu), folder=tmp_path, progress=False)
    assert again["trial"].tolist() == first["trial"].tolist()
    assert again["started_at"].tolist() == first["started_at"].tolist()  # read back, not run again
    changed = {"a": {**TEXT_ONLY, "instructions": AHOY}}
    other = rt.experiment(changed, {"hi": "hello"}, provider=Local(emu), folder=tmp_path, progress=False)
    assert other["trial"].tolist() != first["trial"].tolist()
    assert other["model_transcript"].iloc[0][0].startswith("Ahoy")


# -- failures and retries --------------------------------------------------------------------------


def under_429s(emu: Emulator, folder: Path, failures: int, retries: int) -> pd.DataFrame:
    """Three one-turn trials, one at a time, while the emulator answers ``failures`` requests with 429."""
    emu.faults = Faults(rest_status=429, rest_failures=failures)
    try:
        return rt.experiment(
            {"a": TEXT_ONLY},
            {f"hi{i}": "hello" for i in range(3)},
            concurrency=1,
            provider=Local(emu),
            folder=folder,
            retries=retries,
            backoff_s=0.05,
            progress=False,
        )
    finally:
        emu.faults = Faults()


def test_injected_429s_are_retried_until_they_pass(emu, tmp_path):
    table = under_429s(emu, tmp_path, failures=2, retries=3)
    assert list(table["status"]) == ["ok"] * 3, table["error"].tolist()
    assert list(table["attempts"]) == [3, 1, 1]  # the first trial met both 429s, one per attempt


def test_retries_run_out_and_the_others_complete(emu, tmp_path):
    table = under_429s(emu, tmp_path, failures=3, retries=1)
    assert list(table["status"]) == ["failed", "ok", "ok"]
    assert list(table["attempts"]) == [2, 2, 1]
    error = table["error"].iloc[0]
    assert "429" in error
    assert emu.api_key not in error
    assert table["model_transcript"].iloc[0] == []
    # A rerun tries the failed trial again, and only it.
    inputs = {f"hi{i}": "hello" for i in range(3)}  # the same trials as under_429s ran
    again = rt.experiment({"a": TEXT_ONLY}, inputs, provider=Local(emu), folder=tmp_path, progress=False)
    assert list(again["status"]) == ["ok"] * 3
    assert again["started_at"].tolist()[1:] == table["started_at"].tolist()[1:]
    assert again["started_at"].iloc[0] > table["started_at"].iloc[0]


def test_a_refused_key_is_not_retried(emu, tmp_path):
    emu.faults = Faults(rest_status=401, rest_failures=1)
    try:
        table = rt.experiment(
            {"a": TEXT_ONLY}, {"hi": "hello"}, provider=Local(emu), folder=tmp_path, backoff_s=0.05, progress=False
        )
    finally:
        emu.faults = Faults()
    assert list(table["status"]) == ["failed"]
    assert list(table["attempts"]) == [1]
    assert "401" in table["error"].iloc[0]


def test_backoff_doubles_with_jitter_and_honours_retry_after():
    import random

    retry = Retry(retries=5, backoff_s=1.0)
    rng = random.Random(0)
    delays = [retry.delay(n, ConnectError("x", retryable=True), rng) for n in (1, 2, 3)]
    for delay, base in zip(delays, (1.0, 2.0, 4.0), strict=True):
        assert base <= delay <= 1.5 * base
    assert retry.delay(20, ConnectError("x", retryable=True), rng) <= 1.5 * MAX_BACKOFF_S
    assert retry.delay(1, ConnectError("slow down", retryable=True, retry_after_s=7.0), rng) == 7.0
    assert retryable(ConnectError("429", status=429, retryable=True))
    assert retryable(ReplyTimeoutError("no reply"))
    assert not retryable(ConnectError("401", status=401, retryable=False))
    assert not retryable(ValueError("bad setting"))
    with pytest.raises(ValueError, match="retries=-1 is not valid"):
        Retry(retries=-1)
    with pytest.raises(ValueError, match="backoff_s=nan is not valid"):
        Retry(backoff_s=float("nan"))


# -- bad input: a clear error before any call ------------------------------------------------------


class Untouchable(Provider):
    """A provider that counts the calls it was asked to make."""

    name = "untouchable"

    def __init__(self) -> None:
        self.offers = 0

    async def connect(self, offer_sdp, config):  # type: ignore[no-untyped-def]
        self.offers += 1
        raise ConnectError("no calls in this test")


@pytest.fixture
def untouchable() -> Iterator[Untouchable]:
    provider = Untouchable()
    yield provider
    assert provider.offers == 0  # every error came before any call


def refused(provider: Provider, folder: Path, configs: Any = None, inputs: Any = None, **options: Any) -> None:
    rt.experiment(
        configs if configs is not None else {"a": TEXT_ONLY},
        inputs if inputs is not None else {"hi": "hello"},
        provider=provider,
        folder=folder / "exp",
        progress=False,
        **options,
    )


def test_an_unknown_config_key_names_the_config_and_the_key(untouchable, tmp_path):
    unknown = r"Config 'fast' has an unknown setting 'instructons'\. Did you mean 'instructions'"
    with pytest.raises(TypeError, match=unknown):
        refused(untouchable, tmp_path, {"ok": {}, "fast": {"instructons": "Be quick."}})
    with pytest.raises(TypeError, match=r"Config 'a' sets 'provider'.*pass it to experiment\(\)"):
        refused(untouchable, tmp_path, {"a": {"provider": "openai"}})
    with pytest.raises(ValueError, match=r"Config 'a': voice=.* is not valid"):
        refused(untouchable, tmp_path, {"a": {"voice": 3}})
    with pytest.raises(ValueError, match=r"Config 'a': threshold=.*"):
        refused(untouchable, tmp_path, {"a": {"threshold": 7}})
    assert not (tmp_path / "exp").exists()


def test_unreadable_and_empty_files_are_refused(untouchable, tmp_path):
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"this is not audio at all" * 10)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"Input 'bad': .*garbage\.wav"):
        refused(untouchable, tmp_path, inputs={"ok": "hello", "bad": garbage})
    with pytest.raises(ValueError, match=r"Input 'quiet': .*empty\.wav"):
        refused(untouchable, tmp_path, inputs={"quiet": str(empty)})
    with pytest.raises(FileNotFoundError, match=r"Input 'gone' \(item 1\): No audio file"):
        refused(untouchable, tmp_path, inputs={"gone": ["hello", str(tmp_path / "missing.wav")]})
    assert not (tmp_path / "exp").exists()


def test_arrays_with_a_wrong_rate_are_refused(untouchable, tmp_path):
    samples = np.zeros(16000, np.int16)
    with pytest.raises(ValueError, match=r"Input 'a': A sample rate of 0 Hz is not valid"):
        refused(untouchable, tmp_path, inputs={"a": (samples, 0)})
    with pytest.raises(TypeError, match=r"Input 'b': The sample rate must be a whole number"):
        refused(untouchable, tmp_path, inputs={"b": (samples, 16000.5)})
    with pytest.raises(ValueError, match=r"Input 'c': The audio array is empty"):
        refused(untouchable, tmp_path, inputs={"c": (np.zeros(0, np.int16), 16000)})


def test_ray_backend_without_ray_says_how_to_install_it(untouchable, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'rt-widget\[ray\]'") as info:
        refused(untouchable, tmp_path, backend="ray")
    assert info.value.__suppress_context__


def test_other_bad_options_are_refused(untouchable, tmp_path):
    with pytest.raises(ValueError, match="backend='spark' is not known"):
        refused(untouchable, tmp_path, backend="spark")
    with pytest.raises(ValueError, match="concurrency=0 is not valid"):
        refused(untouchable, tmp_path, concurrency=0)
    with pytest.raises(ValueError, match="repeats=0 is not valid"):
        refused(untouchable, tmp_path, repeats=0)
    with pytest.raises(TypeError, match="configs must be a non-empty dict"):
        refused(untouchable, tmp_path, configs={})
    with pytest.raises(ValueError, match="Input 'x' is an empty list"):
        refused(untouchable, tmp_path, inputs={"x": []})
    with pytest.raises(ValueError, match="reply_timeout_s=-1 is not valid"):
        refused(untouchable, tmp_path, reply_timeout_s=-1)
