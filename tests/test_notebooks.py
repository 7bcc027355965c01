"""The example notebooks run top to bottom: analysis on the shipped recording, experiments against the emulator."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
from nbclient import NotebookClient

import rt_widget as rt
from rt_widget.gptlive.analysis import LIVE_PRICES_AS_OF

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def run_a_copy(name: str, folder: Path, timeout: int) -> list[Any]:
    """Run a notebook in a copy (with the utterances beside it), so what it writes stays out of
    the repository; its outputs, none of them an error."""
    shutil.copy(NOTEBOOKS / name, folder)
    shutil.copytree(NOTEBOOKS / "data" / "utterances", folder / "data" / "utterances")
    nb = nbformat.read(folder / name, as_version=4)
    NotebookClient(nb, timeout=timeout, resources={"metadata": {"path": str(folder)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    return outputs


def test_analysis_notebook_runs_on_the_shipped_recording():
    nb = nbformat.read(NOTEBOOKS / "analysis.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "EventLog(" in text
    assert "hello there" in text  # the transcript
    assert "cancelled" in text  # the interrupted turn
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the plots


def test_experiments_notebook_runs_against_the_emulator(tmp_path):
    outputs = run_a_copy("experiments.ipynb", tmp_path, timeout=300)
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "pirate/vad0.8" in text
    assert "plain/vad0.5" in text
    assert "Ahoy" in text  # the pirate configs' replies
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the comparison plot
    results = pd.concat(pd.read_parquet(p) for p in (tmp_path / "runs/instructions-vad/results").glob("*.parquet"))
    assert len(results) == 12
    assert set(results["status"]) == {"ok"}
    heard = results.set_index(["config", "input"])["user_transcript"].map(lambda t: t[0].strip(" .!?").lower())
    assert heard.xs("hello_there", level="input").eq("hello there").all()


def test_recordings_notebook_records_listens_measures_and_replays(tmp_path):
    outputs = run_a_copy("recordings.ipynb", tmp_path, timeout=180)
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs)
    assert "silence_s" in text  # the turns table, with the figures from the audio
    assert "echo=False" in text  # the clean recording
    assert "headphones" in text  # the echoed one, with what to do
    assert sum("audio/wav" in str(o.get("data", {}).get("text/html", "")) for o in outputs) == 2  # two players
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the plot
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)  # the replay
    saved = rt.load(tmp_path / "runs" / "paris")
    assert saved.mic.duration_s > 2
    assert saved.model.duration_s > 2


def test_live_notebook_calls_measures_delegates_and_compares_on_gpt_live(tmp_path: Path) -> None:
    outputs = run_a_copy("live.ipynb", tmp_path, timeout=240)
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs)
    assert "hello there" in text  # the Live transcript, from the recorded utterances
    assert "tell me a joke" in text
    assert re.search(r"assistant\s+[A-Z][A-Z !?',.]{10,}", text)  # the reply after "Answer in capitals."
    assert "audio_latency_s" in text  # the turns table, with the latency as heard
    assert "first_heard" in text
    assert "usd_total" in text  # the cost table
    assert "gpt-live-1" in text
    assert f"as of {LIVE_PRICES_AS_OF}" in text  # the dated price table
    assert "get_weather" in text  # the tool the backend called
    assert "sunny and 21 C" in text  # its output, run in the kernel
    assert "GPT-Live has no typed user turns" in text  # say()
    assert "speak over the model" in text  # interrupt()
    assert "'live'" in text  # the widget's api
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)  # the widget
    results = pd.concat(pd.read_parquet(p) for p in (tmp_path / "runs/live-vs-realtime/results").glob("*.parquet"))
    assert sorted(results["config"]) == ["live", "live", "realtime", "realtime"]
    assert set(results["status"]) == {"ok"}
    assert (results["cost_usd"] > 0).all()
