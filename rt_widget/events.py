"""EventLog: every event of a session, in order, with where and when it was seen.

Records are plain dicts (cheap to append from any thread); :attr:`EventLog.df` builds a pandas
DataFrame column by column. Logs save to JSONL or Parquet and load back exactly.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TextIO

import pandas as pd

Direction = Literal["server", "client"]

COLUMNS = (
    "seq",
    "call_id",
    "direction",
    "type",
    "event_id",
    "item_id",
    "response_id",
    "previous_item_id",
    "t_browser",
    "t_kernel",
    "event",
)


def _ids(event: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """The event's own id and the item, response and previous item it refers to."""
    item = event.get("item")
    response = event.get("response")
    item_id = event.get("item_id") or (item.get("id") if isinstance(item, dict) else None)
    response_id = event.get("response_id") or (response.get("id") if isinstance(response, dict) else None)
    return event.get("event_id"), item_id, response_id, event.get("previous_item_id")


class EventLog:
    """An append-only, thread-safe log of events, stored column by column.

    Each event's record has the keys of :data:`COLUMNS`: ``seq`` (the browser's sequence
    number, ``None`` for events the browser never saw), ``call_id``, ``direction``
    (``"server"`` or ``"client"``), ``type``, the ids the event carries, ``t_browser`` and
    ``t_kernel`` (Unix seconds) and ``event`` (the JSON payload). Columns, not a dict per
    event, keep a million events small and make :attr:`df` cheap.
    """

    def __init__(self, records: Iterable[dict[str, Any]] = ()) -> None:
        self._columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
        self._lock = threading.Lock()
        self._sink: TextIO | None = None
        for record in records:
            for name in COLUMNS:
                self._columns[name].append(record[name])

    def append(
        self,
        event: dict[str, Any],
        *,
        direction: Direction,
        seq: int | None = None,
        call_id: str | None = None,
        t_browser: float | None = None,
    ) -> dict[str, Any]:
        """Record one event and return its record."""
        event_id, item_id, response_id, previous = _ids(event)
        values = (
            seq,
            call_id,
            direction,
            str(event.get("type", "")),
            event_id,
            item_id,
            response_id,
            previous,
            t_browser,
            time.time(),
            event,
        )
        record = dict(zip(COLUMNS, values, strict=True))
        with self._lock:
            for column, value in zip(self._columns.values(), values, strict=True):
                column.append(value)
            if self._sink is not None:
                self._sink.write(json.dumps(record, ensure_ascii=False) + "\n")
        return record

    def autosave(self, path: str | Path) -> Path:
        """Append every event to a JSONL file from now on (the events so far are written first).

        Writes are flushed after each batch (:meth:`flush`), so a crashed kernel loses at most
        the batch in flight; :meth:`load` skips a torn last line.
        """
        path = Path(path)
        if path.suffix != ".jsonl":
            raise ValueError(f"Autosave writes JSONL: use a .jsonl file name, not {path.name!r}.")
        with self._lock:
            if self._sink is not None:
                self._sink.close()
            self._sink = path.open("a", encoding="utf-8")
            for values in zip(*self._columns.values(), strict=True):
                self._sink.write(json.dumps(dict(zip(COLUMNS, values, strict=True)), ensure_ascii=False) + "\n")
            self._sink.flush()
        return path

    def flush(self) -> None:
        """Push autosaved events to the operating system (a no-op without autosave)."""
        with self._lock:
            if self._sink is not None:
                self._sink.flush()

    def __len__(self) -> int:
        return len(self._columns["event"])

    def rows(self, *names: str) -> Iterator[tuple[Any, ...]]:
        """Tuples of the named columns, one per event (a snapshot: appends do not show)."""
        with self._lock:
            n = len(self)
            columns = [self._columns[name][:n] for name in names]
        return zip(*columns, strict=True)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (dict(zip(COLUMNS, values, strict=True)) for values in self.rows(*COLUMNS))

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {name: self._columns[name][index] for name in COLUMNS}

    @property
    def types(self) -> list[str]:
        """The event types in order: a quick way to see what happened."""
        return [t for (t,) in self.rows("type")]

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        """The payloads of every event of the given types, in order."""
        wanted = set(types)
        return [event for type_, event in self.rows("type", "event") if type_ in wanted]

    def filter(
        self,
        type: str | None = None,
        *,
        direction: Direction | None = None,
        call_id: str | None = None,
        contains: str | None = None,
    ) -> EventLog:
        """A new log with the records that match every criterion given.

        ``type`` matches exactly, or a family when it ends in ``.`` (``"response."``);
        ``contains`` looks for text anywhere in the payload.
        """

        def keep(r: dict[str, Any]) -> bool:
            if type is not None and not (r["type"] == type or (type.endswith(".") and r["type"].startswith(type))):
                return False
            if direction is not None and r["direction"] != direction:
                return False
            if call_id is not None and r["call_id"] != call_id:
                return False
            return contains is None or contains in json.dumps(r["event"])

        return EventLog(r for r in self if keep(r))

    def folded(self) -> EventLog:
        """A new log with runs of ``*.delta`` events folded into one record each.

        A run is consecutive deltas of one type for one item; the folded record keeps the
        first record's fields, the joined ``delta`` text and ``count``.
        """
        out: list[dict[str, Any]] = []
        for r in self:
            last = out[-1] if out else None
            is_delta = r["type"].endswith(".delta")
            if is_delta and last is not None and last["type"] == r["type"] and last["item_id"] == r["item_id"]:
                event = last["event"]
                event["delta"] = str(event.get("delta", "")) + str(r["event"].get("delta", ""))
                event["count"] = int(event.get("count", 1)) + 1
            else:
                out.append({**r, "event": dict(r["event"])} if is_delta else r)
        return EventLog(out)

    @property
    def df(self) -> pd.DataFrame:
        """The log as a pandas DataFrame, one row per event (times as Unix seconds)."""
        with self._lock:
            n = len(self)
            columns = {name: self._columns[name][:n] for name in COLUMNS}
        frame = pd.DataFrame(columns)
        frame["seq"] = frame["seq"].astype("Int64")
        return frame

    # -- persistence -----------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the log to ``.jsonl`` or ``.parquet`` (by extension); loading it gives it back."""
        path = Path(path)
        if path.suffix == ".jsonl":
            with path.open("w", encoding="utf-8") as out:
                for r in self:
                    out.write(json.dumps(r, ensure_ascii=False) + "\n")
        elif path.suffix == ".parquet":
            frame = self.df
            frame["event"] = [json.dumps(e, ensure_ascii=False) for e in frame["event"]]
            _parquet_engine()
            frame.to_parquet(path, index=False)
        else:
            raise ValueError(f"Cannot save to {path.name!r}: use a .jsonl or .parquet file name.")
        return path

    @classmethod
    def load(cls, path: str | Path) -> EventLog:
        """Read a log written by :meth:`save`."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"No event log at {path}.")
        if path.suffix == ".jsonl":
            with path.open(encoding="utf-8") as lines:
                return cls(_jsonl_records(lines))
        if path.suffix == ".parquet":
            _parquet_engine()
            frame = pd.read_parquet(path)
            rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
            records = [{str(k): v for k, v in row.items()} for row in rows]
            for r in records:
                r["event"] = json.loads(r["event"])
                r["seq"] = None if r["seq"] is None else int(r["seq"])
            return cls(records)
        raise ValueError(f"Cannot load {path.name!r}: use a .jsonl or .parquet file.")

    def __repr__(self) -> str:
        return f"EventLog({len(self)} events)"


def _jsonl_records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Records from JSONL; a torn last line (a crash mid-write) is left out."""
    pending: str | None = None
    for line in lines:
        if pending is not None:
            yield json.loads(pending)
        pending = line if line.strip() else None
    if pending is not None:
        try:
            yield json.loads(pending)
        except json.JSONDecodeError:
            return


def _parquet_engine() -> None:
    try:
        import pyarrow  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        raise ImportError("Parquet needs pyarrow: pip install 'rt-widget[analysis]' (or pyarrow).") from None
