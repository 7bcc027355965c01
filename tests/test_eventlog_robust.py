"""No event lost: whatever an event holds, append, autosave, save and load keep all of them.

Lone surrogates (valid JSON escapes the browser can send), NaN and ±Infinity (not JSON),
5,000-digit integers (past Python's conversion limit) and nesting deeper than the recursion
limit go through JSONL and Parquet and come back exactly; files stay valid JSON and UTF-8; and
a file that is not an event log is refused with its name and line.
"""

from __future__ import annotations

import decimal
import itertools
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rt_widget.events import EventLog

HUGE = 7 * 10**4999 + 12345  # 5,000 digits


def deep(levels: int) -> Any:
    value: Any = {"leaf": "\ud83d"}
    for n in range(levels):
        value = [value] if n % 2 else {"k": value}
    return value


SPECIAL = [
    {"type": "conversation.item.added", "item": {"id": "it_1", "content": [{"text": "half an emoji: \ud83d"}]}},
    {"type": "x", "low": "\ude00", "key \udbff": "value", "mixed": "café \ud800 ok"},
    {"type": "x", "nan": math.nan, "inf": math.inf, "ninf": -math.inf, "list": [1.5, math.nan, {"n": -math.inf}]},
    {"type": "x", "huge": HUGE, "negative": -HUGE, "small": 3},
    {"type": "x", "deep": deep(3 * sys.getrecursionlimit())},
    {"type": "x", "plain": "text", "n": 1, "f": 0.1, "b": True, "none": None},
]


def same(a: Any, b: Any) -> bool:
    """Exact equality (NaN equals NaN, 1 is not 1.0 or True), without recursion."""
    work = [(a, b)]
    while work:
        x, y = work.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, float):
            if not (x == y or (math.isnan(x) and math.isnan(y))):
                return False
        elif isinstance(x, dict):
            if list(x) != list(y):
                return False
            work.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            work.extend(zip(x, y, strict=True))
        elif x != y:
            return False
    return True


def strict_json(line: str) -> Any:
    """Parse with a JSON parser that refuses NaN and Infinity (with room for deep nesting)."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20 * limit))
    try:
        return json.loads(line, parse_constant=refuse, parse_int=decimal.Decimal)
    finally:
        sys.setrecursionlimit(limit)


@pytest.fixture
def special_log(tmp_path: Path) -> EventLog:
    log = EventLog()
    log.autosave(tmp_path / "auto.jsonl")
    for n, event in enumerate(SPECIAL):
        log.append(event, direction="server", seq=n, call_id="rtc_1", t_browser=1.5)
    log.flush()
    return log


def test_every_special_event_stays_in_memory(special_log: EventLog):
    assert len(special_log) == len(SPECIAL)
    assert all(same(r["event"], e) for r, e in zip(special_log, SPECIAL, strict=True))
    assert special_log[0]["item_id"] == "it_1"


@pytest.mark.parametrize("how", ["autosave", "save.jsonl", "save.parquet"])
def test_every_special_event_round_trips_exactly(special_log: EventLog, tmp_path: Path, how: str):
    path = tmp_path / "auto.jsonl" if how == "autosave" else special_log.save(tmp_path / f"log.{how.split('.')[1]}")
    back = EventLog.load(path)
    assert len(back) == len(SPECIAL)
    for original, loaded in zip(special_log, back, strict=True):
        assert same(loaded, original), f"{original['type']} changed in {how}"


@pytest.mark.parametrize("how", ["autosave", "save"])
def test_jsonl_files_are_valid_json_and_utf8(special_log: EventLog, tmp_path: Path, how: str):
    path = tmp_path / "auto.jsonl" if how == "autosave" else special_log.save(tmp_path / "log.jsonl")
    text = path.read_bytes().decode("utf-8")  # strict: a lone surrogate would not encode
    lines = text.split("\n")[:-1]  # only \n ends a line (not U+0085 or U+2028)
    assert len(lines) == len(SPECIAL)
    records = [strict_json(line) for line in lines]
    assert records[2]["event"]["nan"] is None  # what JSON.stringify writes, for other tools
    assert ["nan"] in [path for path, _ in records[2]["nonfinite"]]
    huge = records[3]["event"]["huge"]
    assert isinstance(huge, decimal.Decimal)  # a JSON number, not a string...
    assert huge == HUGE  # ...written digit for digit
    assert "café" in lines[1]  # other text stays readable


def test_a_parquet_file_stays_readable_by_other_tools(special_log: EventLog, tmp_path: Path):
    frame = pd.read_parquet(special_log.save(tmp_path / "log.parquet"))
    assert list(frame["type"]) == [e["type"] for e in SPECIAL]
    assert frame["seq"].tolist() == list(range(len(SPECIAL)))
    assert all(isinstance(text, str) for text in frame["event"])


def test_one_unwritable_event_does_not_cost_the_rest_of_the_batch(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    cyclic: dict[str, Any] = {"type": "cyclic"}
    cyclic["self"] = cyclic
    log = EventLog()
    log.autosave(tmp_path / "auto.jsonl")
    for n, event in enumerate([{"type": "a"}, cyclic, {"type": "b", "s": "\ud83d"}, {"type": "c"}]):
        log.append(event, direction="client", seq=n)
    log.flush()
    assert log.types == ["a", "cyclic", "b", "c"]
    saved = EventLog.load(log.save(tmp_path / "log.jsonl"))
    assert EventLog.load(tmp_path / "auto.jsonl").types == saved.types == ["a", "cyclic", "b", "c"]
    assert saved[1]["event"]["rt_widget.unsaved"]
    assert "cannot be saved as JSON" in caplog.text


def test_a_full_disk_stops_autosave_with_a_warning_and_keeps_the_events(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    full = tmp_path / "full.jsonl"
    full.symlink_to("/dev/full")
    log = EventLog()
    log.autosave(full)
    for n in range(3):
        log.append({"type": "e", "n": n, "pad": "x" * 5000}, direction="server", seq=n)
        log.flush()
    assert len(log) == 3
    assert "Autosave to" in caplog.text
    assert "stay in memory" in caplog.text


def test_nonsense_metadata_is_recorded_as_none_not_refused():
    log = EventLog()
    record = log.append({"type": 5, "event_id": {"x": 1}}, direction="server", seq=10**30, t_browser=math.nan)
    assert (record["seq"], record["t_browser"], record["type"], record["event_id"]) == (None, None, "5", None)


def test_contains_searches_events_json_cannot_hold():
    log = EventLog()
    log.append({"type": "x", "v": math.nan, "h": HUGE, "t": "find me"}, direction="server")
    assert len(log.filter(contains="find me")) == 1


# -- generated events round-trip exactly ---------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=()), max_size=12).filter(
    # A high surrogate followed by a low one is one character in JSON (as in JavaScript).
    lambda s: not any("\ud800" <= a <= "\udbff" and "\udc00" <= b <= "\udfff" for a, b in itertools.pairwise(s))
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.builds(lambda sign, n: sign * (10**4999 + n), st.sampled_from([1, -1]), st.integers(0, 10**6))
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSONISH = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=20
)
EVENTS = st.dictionaries(TEXT, JSONISH, max_size=5).map(lambda d: {"type": "generated", **d})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(EVENTS, min_size=1, max_size=4))
def test_generated_events_round_trip_exactly_in_every_format(events: list[dict[str, Any]], tmp_path: Path):
    auto = tmp_path / "auto.jsonl"
    auto.unlink(missing_ok=True)
    log = EventLog()
    log.autosave(auto)
    for n, event in enumerate(events):
        log.append(event, direction="server", seq=n)
    log.flush()
    for path in (auto, log.save(tmp_path / "log.jsonl"), log.save(tmp_path / "log.parquet")):
        back = EventLog.load(path)
        assert len(back) == len(events)
        for event, record in zip(events, back, strict=True):
            assert same(record["event"], event), path.suffix
    for line in auto.read_bytes().decode("utf-8").split("\n")[:-1]:
        strict_json(line)


# -- files that are not event logs say which file, which line and what to do ----------------------


def good_lines(tmp_path: Path, n: int = 3) -> list[str]:
    log = EventLog()
    for seq in range(n):
        log.append({"type": "e"}, direction="server", seq=seq)
    return log.save(tmp_path / "good.jsonl").read_text().splitlines(keepends=True)


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("{not json\n", r"not valid JSON \(Expecting property name"),
        ("[1, 2]\n", r"a JSON list where an event record \(an object\) was expected"),
        ('{"type": "e"}\n', r"an object without the keys 'seq', 'call_id'"),
        ("SEQ\n", r"seq 9{37}\.\.\. is not a whole number in 64 bits"),
        ("\ufeff\n", r"not valid JSON"),
    ],
)
def test_a_bad_line_is_named_by_file_and_line(tmp_path: Path, bad: str, says: str):
    lines = good_lines(tmp_path)
    path = tmp_path / "bad.jsonl"
    bad = bad.replace("SEQ", lines[0].replace('"seq": 0', '"seq": ' + "9" * 5000).strip())
    path.write_text("".join([*lines[:2], bad, lines[2]]), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path}, line 3: {says}.*fix or delete that line"):
        EventLog.load(path)


def test_a_non_utf8_file_is_named_with_the_byte(tmp_path: Path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes("".join(good_lines(tmp_path)).encode() + '{"type": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(ValueError, match=rf"{path}, line 4: not UTF-8 text \(byte 0xe9 at column 14\)"):
        EventLog.load(path)


def test_a_torn_last_line_is_left_out_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    path = tmp_path / "torn.jsonl"
    lines = good_lines(tmp_path)
    path.write_text("".join(lines) + lines[0][:20], encoding="utf-8")
    assert len(EventLog.load(path)) == 3
    assert "line 4: the last line is incomplete" in caplog.text


def test_autosave_onto_a_torn_log_cuts_the_torn_line_and_the_file_still_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    path = tmp_path / "run.jsonl"
    lines = good_lines(tmp_path)
    path.write_text("".join(lines) + lines[0][:20], encoding="utf-8")  # the kernel died mid-write
    log = EventLog()
    log.autosave(path)  # the same notebook, run again with the same autosave path
    log.append({"type": "session.created", "event_id": "event_new"}, direction="server")
    log.flush()
    assert "half-written line" in caplog.text
    loaded = EventLog.load(path)
    assert len(loaded) == 4
    assert loaded.types[-1] == "session.created"


def test_blank_lines_and_a_bom_are_fine(tmp_path: Path):
    path = tmp_path / "bom.jsonl"
    lines = good_lines(tmp_path)
    path.write_text("\ufeff" + lines[0] + "\n  \n" + "".join(lines[1:]), encoding="utf-8")
    assert len(EventLog.load(path)) == 3


def test_a_log_written_before_this_change_still_loads(tmp_path: Path):
    path = tmp_path / "old.jsonl"
    record = {"seq": 1, "call_id": None, "direction": "server", "type": "x", "event_id": None, "item_id": None}
    record |= {"response_id": None, "previous_item_id": None, "t_browser": None, "t_kernel": 1.0}
    path.write_text(json.dumps({**record, "event": {"type": "x", "v": math.nan}}) + "\n")  # a bare NaN
    assert math.isnan(EventLog.load(path)[0]["event"]["v"])


def test_another_tools_parquet_says_which_columns_were_expected(tmp_path: Path):
    path = tmp_path / "other.parquet"
    pd.DataFrame({"a": [1], "b": ["x"]}).to_parquet(path)
    with pytest.raises(
        ValueError, match=r"other.parquet is a Parquet file but not an event log: it has the columns a, b"
    ):
        EventLog.load(path)


def test_a_file_that_is_not_parquet_says_so(tmp_path: Path):
    path = tmp_path / "fake.parquet"
    path.write_text("hello")
    with pytest.raises(ValueError, match=r"fake.parquet could not be read as Parquet"):
        EventLog.load(path)


def test_a_parquet_row_with_a_broken_event_is_named(tmp_path: Path, special_log: EventLog):
    path = special_log.save(tmp_path / "log.parquet")
    frame = pd.read_parquet(path)
    frame.loc[2, "event"] = "{broken"
    frame.to_parquet(path)
    with pytest.raises(ValueError, match=r"log.parquet, row 3: the event is not valid JSON"):
        EventLog.load(path)


def test_a_directory_or_missing_file_is_a_clear_error(tmp_path: Path):
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(ValueError, match=r"is a directory"):
        EventLog.load(tmp_path / "dir.jsonl")
    with pytest.raises(FileNotFoundError, match=r"No event log at"):
        EventLog.load(tmp_path / "none.jsonl")


def test_saving_keeps_the_old_file_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "log.jsonl"
    path.write_text("old contents\n")
    log = EventLog()
    log.append({"type": "e"}, direction="server")
    import rt_widget.events as events

    def fail(path: Path, records: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(events, "_write_jsonl", fail)
    with pytest.raises(OSError, match=r"Cannot save to .*log.jsonl: No space left on device"):
        log.save(path)
    assert path.read_text() == "old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["log.jsonl"]


def test_logging_is_quiet_for_good_logs(special_log: EventLog, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG, logger="rt_widget.events")
    EventLog.load(special_log.save(tmp_path / "log.jsonl"))
    assert [r for r in caplog.records if r.name == "rt_widget.events"] == []
