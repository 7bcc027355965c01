"""The emulator keeps the caller's audio on the sender's clock: lost frames as silence, and when it began."""

from __future__ import annotations

import fractions

import numpy as np
import pytest
from av import AudioFrame

from rt_widget.emulator.input_clock import MAX_FILL_S, InputClock

RATE = 48_000
FRAME = 960  # 20 ms


def frame(n: int, first_pts: int = 123_456) -> AudioFrame:
    """The n-th 20 ms frame of a track whose RTP time starts at ``first_pts``."""
    out = AudioFrame.from_ndarray(np.zeros((1, FRAME), np.int16), format="s16", layout="mono")
    out.sample_rate = RATE
    out.pts = first_pts + n * FRAME
    out.time_base = fractions.Fraction(1, RATE)
    return out


def test_frames_in_a_row_lose_nothing_and_the_start_is_the_earliest_arrival_less_its_rtp_time():
    clock = InputClock()
    assert clock.began_at is None
    # frames 1 and 2 arrive the moment they end (at 100.04 and 100.06); 0 and 3 come 10 ms late
    arrivals = [100.050, 100.060, 100.080, 100.110]
    assert [clock.place(frame(n), t) for n, t in enumerate(arrivals)] == [0.0] * 4
    assert clock.began_at == pytest.approx(100.020)  # frame 2's arrival, less its RTP time and length


def test_a_lost_frame_is_reported_where_it_was():
    clock = InputClock()
    clock.place(frame(0), 10.02)
    assert clock.place(frame(1), 10.04) == 0.0
    assert clock.place(frame(4), 10.10) == pytest.approx(0.040)  # frames 2 and 3 never came
    assert clock.place(frame(5), 10.12) == 0.0


def test_a_long_hole_is_a_restart_not_a_loss():
    clock = InputClock()
    clock.place(frame(0), 1.0)
    assert clock.place(frame(1 + int(MAX_FILL_S / 0.02) + 5), 3.0) == 0.0


def test_a_frame_without_timing_changes_nothing():
    clock = InputClock()
    bare = AudioFrame.from_ndarray(np.zeros((1, FRAME), np.int16), format="s16", layout="mono")
    assert clock.place(bare, 5.0) == 0.0
    assert clock.began_at is None
