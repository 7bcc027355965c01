"""The sent audio's clock: the service's input buffer times placed on the events' clock."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rt_widget.recording.sent_clock import FILE, SentClock

T0 = 1_760_000_000.0


def test_a_buffer_time_is_counted_from_the_last_anchor_before_it():
    clock = SentClock({"rtc_a": np.array([[0.0, T0], [1.0, T0 + 1.001], [2.0, T0 + 2.003]])})

    def at(buffer_s: float) -> float:
        return clock.time("rtc_a", buffer_s) - T0

    assert at(0.5) == pytest.approx(0.5, abs=1e-6)
    assert at(1.0) == pytest.approx(1.001, abs=1e-6)  # exactly at an anchor
    assert at(1.25) == pytest.approx(1.251, abs=1e-6)
    assert at(10.0) == pytest.approx(10.003, abs=1e-6)  # after the last: from the last
    assert at(-0.2) == pytest.approx(-0.2, abs=1e-6)  # before the first (a clamped start): from the first


def test_an_unknown_call_or_time_has_no_place():
    clock = SentClock({"rtc_a": np.array([[0.0, T0]]), "rtc_empty": np.zeros((0, 2))})
    assert math.isnan(clock.time("rtc_b", 1.0))
    assert math.isnan(clock.time(None, 1.0))
    assert math.isnan(clock.time("rtc_empty", 1.0))
    assert math.isnan(clock.time("rtc_a", math.nan))
    assert math.isnan(SentClock().time("rtc_a", 0.0))


def test_anchors_round_trip_through_their_file_and_bad_lines_are_skipped(tmp_path):
    clock = SentClock({"rtc_a": np.array([[0.0, T0], [1.0, T0 + 1.0]]), "rtc_b": np.array([[0.0, T0 + 60]])})
    path = tmp_path / FILE
    lines = list(clock.lines())
    # Out of order, a torn last line, and lines that are not anchors.
    junk = ['["rtc_a", "one", 2.0]', '["rtc_a", NaN, 2.0]', "[1, 2]", "[7, 0.0, 1.0]", "{}", '["rtc_b", 1.0, 17']
    path.write_text("\n".join([lines[1], lines[0], lines[2], *junk]) + "\n", encoding="utf-8")
    read = SentClock.read(path)
    assert read.anchors.keys() == clock.anchors.keys()
    for call_id, points in clock.anchors.items():
        np.testing.assert_array_equal(read.anchors[call_id], points)
    assert SentClock.read(tmp_path / "missing.jsonl").anchors == {}
