"""An experiment's folder: each trial's result, events and audio, written as the trial finishes.

Layout (``<trial>`` is :attr:`Trial.id <rt_widget.experiments.plan.Trial.id>`)::

    folder/results/<trial>.parquet   one row: the trial's result (the experiment table's row)
    folder/events/<trial>.parquet    its events (rt.EventLog.load reads it back)
    folder/audio/<trial>.wav         the model's voice as the kernel heard it

Every file is written next to its final name and then renamed, and the result row is written
last: a trial whose row is there is complete, whatever happened to the process after. A rerun
skips the trials whose row says ``ok``. Everything is Parquet, so DuckDB, Spark or pandas read
a whole folder at once, e.g. ``duckdb.sql("select config, avg(cost_usd) from
'folder/results/*.parquet' group by config")``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..events import EventLog
from .trial import Outcome

_STRING, _INT, _FLOAT = "string", "int64", "float64"
COLUMNS: dict[str, str] = {
    "trial": _STRING,
    "config": _STRING,
    "settings": _STRING,
    "input": _STRING,
    "input_fingerprint": _STRING,
    "repeat": _INT,
    "status": _STRING,
    "error": _STRING,
    "attempts": _INT,
    "started_at": _FLOAT,
    "duration_s": _FLOAT,
    "call_id": _STRING,
    "latency_s": "list<float64>",
    "audio_latency_s": "list<float64>",
    "input_tokens": _INT,
    "output_tokens": _INT,
    "total_tokens": _INT,
    "cost_usd": _FLOAT,
    "user_transcript": "list<string>",
    "model_transcript": "list<string>",
    "tool_calls": _STRING,
    "events_path": _STRING,
    "audio_path": _STRING,
}
"""The experiment table's columns, in order, with their Parquet types."""


def pyarrow() -> Any:
    """The ``pyarrow`` module, or an ImportError saying how to install it."""
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet  # type: ignore[import-untyped]  # pa.parquet
    except ImportError:
        raise ImportError(
            "An experiment writes its results as Parquet, which needs pyarrow: pip install 'rt-widget[analysis]'."
        ) from None
    return pa


class Store:
    """The folder of one experiment (several experiments may share one: trials have distinct ids).

    Parameters
    ----------
    folder:
        Created if needed.

    Raises
    ------
    OSError
        The folder cannot be created.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).expanduser().absolute()
        self._pa = pyarrow()
        fields = [(name, _arrow_type(self._pa, kind)) for name, kind in COLUMNS.items()]
        self._schema = self._pa.schema(fields)
        for part in ("results", "events", "audio"):
            try:
                (self.folder / part).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OSError(
                    f"Cannot create the experiment folder {self.folder / part}: {exc.strerror or exc}. "
                    "Pass folder= a path you can write to."
                ) from None

    def result_path(self, trial_id: str) -> Path:
        """Where a trial's result row is."""
        return self.folder / "results" / f"{trial_id}.parquet"

    def finished(self, trial_id: str) -> dict[str, Any] | None:
        """The result row of a trial that finished ``ok`` in an earlier run, if there is one."""
        path = self.result_path(trial_id)
        if not path.exists():
            return None
        try:
            rows = self._pa.parquet.read_table(path).to_pylist()
        except Exception:  # a foreign or damaged file: run the trial again, which replaces it
            return None
        return rows[0] if rows and rows[0].get("status") == "ok" else None

    def write(self, trial_id: str, outcome: Outcome) -> dict[str, Any]:
        """Write a finished trial's audio, events and (last) its row; return the row with its paths."""
        events = self.folder / "events" / f"{trial_id}.parquet"
        audio = self.folder / "audio" / f"{trial_id}.wav"
        row = {**outcome.row, "events_path": "", "audio_path": ""}
        if len(outcome.audio):
            _atomic(audio, lambda tmp: _write_wav(tmp, outcome.audio, outcome.audio_rate))
            row["audio_path"] = str(audio)
        if outcome.records:
            EventLog(outcome.records).save(events)
            row["events_path"] = str(events)
        table = self._pa.Table.from_pylist([{name: row.get(name) for name in COLUMNS}], schema=self._schema)
        _atomic(self.result_path(trial_id), lambda tmp: self._pa.parquet.write_table(table, tmp))
        return row


def table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The experiment table: one row per trial, the columns of :data:`COLUMNS` in order."""
    return pd.DataFrame([{name: row.get(name) for name in COLUMNS} for row in rows], columns=list(COLUMNS))


def _arrow_type(pa: Any, kind: str) -> Any:
    if kind.startswith("list<"):
        return pa.list_(_arrow_type(pa, kind[5:-1]))
    return {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}[kind]


def _write_wav(path: Path, samples: np.ndarray[Any, Any], rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.asarray(samples, "<i2").tobytes())


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` a temporary file next to ``path`` (not named ``*.parquet``), then rename it to ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
