r"""EventLog: every event of a session, in order, with where and when it was seen.

Records are plain dicts (cheap to append from any thread); :attr:`EventLog.df` builds a pandas
DataFrame column by column. Logs save to JSONL or Parquet and load back exactly.

Files are valid JSON (or Parquet with JSON text in its ``event`` column) for every event, and
load back exactly, with these rules (see :mod:`rt_widget._json`):

- a lone UTF-16 surrogate in a string is written as its ``\uXXXX`` escape;
- integers of any size are written digit for digit, nesting of any depth as it is;
- ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON: each is written as ``null``, and the
  record lists where they were in ``"nonfinite"`` (JSONL; a Parquet column of that name holds
  the same list as JSON text), as ``[path, "NaN" | "Infinity" | "-Infinity"]`` pairs whose
  path of keys and indices starts inside the event. Other tools see ``null``; :meth:`load`
  puts the numbers back;
- values that are not JSON at all (a set, an object) are written as their ``repr``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TextIO

import pandas as pd

from . import _json
from ._checks import clip, finite, whole

log = logging.getLogger(__name__)

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


DERIVED = ("type", "event_id", "item_id", "response_id", "previous_item_id")
"""Columns computed from the event itself (so a loaded Parquet log recomputes them)."""

_COLUMN_SET = frozenset(COLUMNS)

NONFINITE = "nonfinite"
"""The key (JSONL) or column (Parquet) listing where non-finite numbers were."""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _derived(event: Any) -> tuple[str, str | None, str | None, str | None, str | None]:
    """The event's type, own id and the item, response and previous item it refers to."""
    if not isinstance(event, dict):
        return "", None, None, None, None
    item = event.get("item")
    response = event.get("response")
    item_id = _text(event.get("item_id")) or (_text(item.get("id")) if isinstance(item, dict) else None)
    response_id = _text(event.get("response_id")) or (_text(response.get("id")) if isinstance(response, dict) else None)
    type_ = event.get("type", "")
    return (
        type_ if isinstance(type_, str) else str(type_),
        _text(event.get("event_id")),
        item_id,
        response_id,
        _text(event.get("previous_item_id")),
    )


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
        self._sink_path: Path | None = None
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
        """Record one event and return its record.

        This never fails for an event that is not JSON-safe (a lone surrogate, NaN, a huge
        number, deep nesting): the event is kept as it is, and autosave writes it losslessly.
        ``seq`` outside 64 bits and ``t_browser`` that is not a finite number are recorded as
        ``None``; ids that are not strings are not taken into the id columns.
        """
        if seq is not None and whole(seq, -(2**63), 2**63 - 1) is None:
            log.debug("an event's seq is not a 64-bit integer; recorded as None")
            seq = None
        values = (
            seq,
            None if call_id is None else str(call_id),
            direction,
            *_derived(event),
            finite(t_browser),
            time.time(),
            event,
        )
        record = dict(zip(COLUMNS, values, strict=True))
        with self._lock:
            for column, value in zip(self._columns.values(), values, strict=True):
                column.append(value)
            if self._sink is not None:
                self._write_sink(_jsonl_line(record))
        return record

    def autosave(self, path: str | Path) -> Path:
        """Append every event to a JSONL file from now on (the events so far are written first).

        Writes are flushed after each batch (:meth:`flush`), so a crashed kernel loses at most
        the batch in flight; :meth:`load` skips a torn last line. If the file cannot be written
        (a full disk), autosave stops with a warning in the log; the events stay in memory.
        """
        path = Path(path)
        if path.suffix != ".jsonl":
            raise ValueError(f"Autosave writes JSONL: use a .jsonl file name, not {path.name!r}.")
        with self._lock:
            self._close_sink()
            try:
                _drop_torn_tail(path)
                self._sink = path.open("a", encoding="utf-8")
            except OSError as exc:
                raise OSError(f"Cannot autosave to {path}: {exc.strerror or exc}.") from None
            self._sink_path = path
            for values in zip(*self._columns.values(), strict=True):
                self._write_sink(_jsonl_line(dict(zip(COLUMNS, values, strict=True))))
            self._flush_sink()
        return path

    def _write_sink(self, line: str) -> None:
        assert self._sink is not None
        try:
            self._sink.write(line)
        except OSError as exc:
            self._stop_autosave(exc)

    def _flush_sink(self) -> None:
        if self._sink is not None:
            try:
                self._sink.flush()
            except OSError as exc:
                self._stop_autosave(exc)

    def _stop_autosave(self, exc: OSError) -> None:
        log.warning(
            "Autosave to %s stopped: %s. The events stay in memory: save them with .save(path).",
            self._sink_path,
            exc.strerror or exc,
        )
        self._close_sink()

    def _close_sink(self) -> None:
        sink, self._sink = self._sink, None
        if sink is not None:
            with contextlib.suppress(OSError):
                sink.close()

    def flush(self) -> None:
        """Push autosaved events to the operating system (a no-op without autosave)."""
        with self._lock:
            self._flush_sink()

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
            return contains is None or contains in _json.dumps(r["event"])[0]

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
        """Write the log to ``.jsonl`` or ``.parquet`` (by extension); loading it gives it back.

        The file is written next to its final name and then moved there, so a failure leaves
        any earlier file of that name as it was. See the module's notes for how values that
        JSON cannot carry (NaN, lone surrogates) are written.
        """
        path = Path(path)
        if path.suffix == ".jsonl":
            _write_atomically(path, lambda tmp: _write_jsonl(tmp, self))
        elif path.suffix == ".parquet":
            pq = _parquet()
            table = _parquet_table(list(self))
            _write_atomically(path, lambda tmp: pq.write_table(table, tmp))
        else:
            raise ValueError(f"Cannot save to {path.name!r}: use a .jsonl or .parquet file name.")
        return path

    @classmethod
    def load(cls, path: str | Path) -> EventLog:
        """Read a log written by :meth:`save` or :meth:`autosave`.

        Raises
        ------
        FileNotFoundError
            If there is no file at ``path``.
        ValueError
            If the file is not an event log; the message names the file and the line (JSONL)
            or the columns that were expected (Parquet).
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"No event log at {path}.")
        if path.is_dir():
            raise ValueError(f"{path} is a directory: give the path of a .jsonl or .parquet event log.")
        if path.suffix == ".jsonl":
            return cls(_read_jsonl(path))
        if path.suffix == ".parquet":
            return cls(_read_parquet(path))
        raise ValueError(f"Cannot load {path.name!r}: use a .jsonl or .parquet file.")

    def __repr__(self) -> str:
        return f"EventLog({len(self)} events)"


# -- files -------------------------------------------------------------------------------------

_NOT_A_LOG = "Event logs are files written by EventLog.save or autosave"
_FIX_LINE = f"{_NOT_A_LOG}; if this one was edited or damaged, fix or delete that line."


def _jsonl_line(record: dict[str, Any]) -> str:
    """One record as a line of valid JSON (never raises: a value JSON cannot hold is noted)."""
    try:
        text, nonfinite = _json.dumps(record)  # one call: the common case stays fast
    except ValueError as exc:  # the event contains itself
        log.warning("Event %r cannot be saved as JSON (%s); a placeholder was written.", record["type"], exc)
        placeholder = {"type": record["type"], "rt_widget.unsaved": str(exc)}
        text, nonfinite = _json.dumps({**record, "event": placeholder})
    in_event = [[path[1:], name] for path, name in nonfinite if path[0] == "event"]
    if in_event:  # other fields cannot hold them (append checks them); a bad time stays null
        text = f"{text[:-1]}, {json.dumps(NONFINITE)}: {_json.dumps(in_event)[0]}}}"
    return text + "\n"


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(_jsonl_line(record))


class _BadLineError(ValueError):
    """What is wrong with one line of a JSONL file (the caller adds file and line)."""


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, 1):
            try:
                record = _jsonl_record(raw[3:] if number == 1 and raw.startswith(b"\xef\xbb\xbf") else raw)
            except _BadLineError as exc:
                if records and not raw.endswith(b"\n"):  # cut off mid-write by a crash
                    log.warning("%s, line %d: the last line is incomplete and was left out.", path, number)
                    break
                raise ValueError(f"{path}, line {number}: {exc}. {_FIX_LINE}") from None
            if record is not None:
                records.append(record)
    return records


def _jsonl_record(raw: bytes) -> dict[str, Any] | None:
    """The record on one line (``None`` for a blank line)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BadLineError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})") from None
    if not text.strip():
        return None
    try:
        record = _json.loads(text)
    except json.JSONDecodeError as exc:
        raise _BadLineError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    return _checked(record, _BadLineError)


def _checked(record: Any, error: type[ValueError]) -> dict[str, Any]:
    """``record`` with its non-finite numbers put back, if it has the shape of a record."""
    if not isinstance(record, dict):
        raise error(f"a JSON {type(record).__name__} where an event record (an object) was expected")
    if not record.keys() >= _COLUMN_SET:
        missing = [name for name in COLUMNS if name not in record]
        raise error(f"an object without the key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    _check_metadata(record, error)
    if not isinstance(record["type"], str):
        raise error(f"type {_brief(record['type'])} is not a string")
    nonfinite = record.pop(NONFINITE, None)
    if nonfinite is not None:
        try:
            _json.restore(record, [[["event", *entry[0]], entry[1]] for entry in nonfinite])
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise error(f"its {NONFINITE!r} list does not fit the event ({exc})") from None
    return record


def _check_metadata(record: dict[str, Any], error: type[ValueError]) -> None:
    """Refuse a record whose own fields (not its event) have the wrong types."""
    seq, call_id = record["seq"], record["call_id"]
    if seq is not None and whole(seq, -(2**63), 2**63 - 1) is None:
        raise error(f"seq {_brief(seq)} is not a whole number in 64 bits")
    if call_id is not None and not isinstance(call_id, str):
        raise error(f"call_id {_brief(call_id)} is not a string")
    if record["direction"] not in ("server", "client"):
        raise error(f"direction {_brief(record['direction'])} is neither 'server' nor 'client'")
    for name in ("t_browser", "t_kernel"):
        t = record[name]
        if t is not None and (isinstance(t, bool) or not isinstance(t, int | float)):
            raise error(f"{name} {_brief(t)} is not a number")


def _brief(value: Any) -> str:
    """A short repr for an error message (any value: a 5,000-digit int has no plain repr)."""
    return clip(_json.dumps(value)[0], 40)


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary_path)`` and move the result to ``path``."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise OSError(f"Cannot save to {path}: {exc.strerror or exc}.") from None
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except OSError as exc:
        raise OSError(f"Cannot save to {path}: {exc.strerror or exc}.") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _no_surrogates(text: Any) -> str | None:
    """Parquet strings must be UTF-8: a lone surrogate in an id column becomes U+FFFD."""
    return _json.SURROGATE.sub("\ufffd", text) if isinstance(text, str) else None


def _parquet_table(records: list[dict[str, Any]]) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped]

    events = [_json.dumps(r["event"]) for r in records]
    columns: dict[str, Any] = {name: [r[name] for r in records] for name in ("seq", "t_browser", "t_kernel")}
    for name in ("call_id", "direction", *DERIVED):
        columns[name] = [_no_surrogates(r[name]) for r in records]
    columns["event"] = [text for text, _ in events]
    columns[NONFINITE] = [_json.dumps(nonfinite)[0] if nonfinite else None for _, nonfinite in events]
    types = {"seq": pa.int64(), "t_browser": pa.float64(), "t_kernel": pa.float64()}
    schema = pa.schema([(name, types.get(name, pa.string())) for name in (*COLUMNS, NONFINITE)])
    return pa.table({name: columns[name] for name in schema.names}, schema=schema)


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    pq = _parquet()
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise ValueError(f"{path} could not be read as Parquet ({exc}). {_NOT_A_LOG}.") from None
    missing = [name for name in COLUMNS if name not in table.column_names]
    if missing:
        raise ValueError(
            f"{path} is a Parquet file but not an event log: it has the columns {', '.join(table.column_names)}; "
            f"an event log has {', '.join(COLUMNS)} (and {NONFINITE}). {_NOT_A_LOG}."
        )
    names = [name for name in (*COLUMNS, NONFINITE) if name in table.column_names]
    columns = {name: table.column(name).to_pylist() for name in names}
    records = []
    for row in range(table.num_rows):
        try:
            records.append(_parquet_record({name: columns[name][row] for name in names}))
        except ValueError as exc:
            raise ValueError(f"{path}, row {row + 1}: {exc}. {_NOT_A_LOG}.") from None
    return records


def _parquet_record(row: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(row["event"], str):
        raise ValueError("the event column holds no JSON text")
    try:
        event = _json.loads(row["event"])
        if row.get(NONFINITE) is not None:
            _json.restore(event, _json.loads(row[NONFINITE]))
    except json.JSONDecodeError as exc:
        raise ValueError(f"the event is not valid JSON ({exc.msg} at column {exc.colno})") from None
    row["event"] = event
    row.pop(NONFINITE, None)
    row.update(zip(DERIVED, _derived(event), strict=True))  # the event is the truth
    _check_metadata(row, ValueError)
    return row


def _parquet() -> Any:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        raise ImportError("Parquet needs pyarrow: pip install 'rt-widget[analysis]' (or pyarrow).") from None
    return pq


def _drop_torn_tail(path: Path, chunk: int = 1 << 16) -> None:
    """Cut a half-written last line (a kernel that died mid-write) off a log we append to.

    Left there, the next record would be glued onto it and the file would no longer load.
    """
    if not path.exists():
        return
    with path.open("r+b") as file:
        end = file.seek(0, os.SEEK_END)
        keep = end
        while keep > 0:
            start = max(0, keep - chunk)
            file.seek(start)
            newline = file.read(keep - start).rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            keep = start
        if keep < end:
            log.warning(
                "%s ended in a half-written line (%d bytes); it was cut off before appending.", path, end - keep
            )
            file.truncate(keep)
