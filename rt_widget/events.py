"""EventLog: every event of a session, in order, with where and when it was seen."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, Literal

import pandas as pd

Direction = Literal["server", "client"]

COLUMNS = ["seq", "call_id", "direction", "type", "t_browser", "t_kernel", "event"]


class EventLog:
    """An append-only, thread-safe list of event records.

    Each record is a dict with ``seq`` (the browser's sequence number, or ``None`` for events
    the browser never saw), ``call_id``, ``direction`` (``"server"`` or ``"client"``),
    ``type``, ``t_browser`` and ``t_kernel`` (Unix seconds) and ``event`` (the JSON payload).
    """

    def __init__(self) -> None:
        self._records: list[dict[str, Any]] = []
        self._lock = threading.Lock()

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
        record = {
            "seq": seq,
            "call_id": call_id,
            "direction": direction,
            "type": str(event.get("type", "")),
            "t_browser": t_browser,
            "t_kernel": time.time(),
            "event": event,
        }
        with self._lock:
            self._records.append(record)
        return record

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            snapshot = list(self._records)
        return iter(snapshot)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._records[index]

    @property
    def types(self) -> list[str]:
        """The event types in order: a quick way to see what happened."""
        return [r["type"] for r in self]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        """The payloads of every event of one type, in order."""
        return [r["event"] for r in self if r["type"] == type_]

    @property
    def df(self) -> pd.DataFrame:
        """The log as a pandas DataFrame, one row per event."""
        return pd.DataFrame(list(self), columns=COLUMNS)

    def __repr__(self) -> str:
        return f"EventLog({len(self)} events)"
