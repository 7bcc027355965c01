"""The shared checks of ``rt_widget._checks``: the edge cases each copy used to handle on its own."""

from __future__ import annotations

import math

import pytest

from rt_widget._checks import clip, finite, flag, whole
from rt_widget.emulator.call import MAX_BURST_S, check_burst
from rt_widget.emulator.validation import ProtocolError


@pytest.mark.parametrize("value", [True, False, 1.0, 2.5, "3", None, -1, 11, 10**400])
def test_whole_refuses_bools_floats_text_and_out_of_range(value):
    assert whole(value, 0, 10) is None


@pytest.mark.parametrize("value", [0, 1, 10])
def test_whole_keeps_ints_in_range_bounds_included(value):
    assert whole(value, 0, 10) == value
    assert type(whole(value, 0, 10)) is int


def test_whole_without_high_has_no_upper_bound():
    assert whole(10**400, 0) == 10**400
    assert whole(-1, 0) is None


@pytest.mark.parametrize("value", [True, math.nan, math.inf, -math.inf, 10**400, "1", None])
def test_finite_refuses_what_is_not_a_real_finite_number(value):
    assert finite(value) is None


def test_finite_gives_floats():
    assert finite(3) == 3.0
    assert type(finite(3)) is float


@pytest.mark.parametrize("value", [1, 0, None, "True"])
def test_flag_refuses_anything_but_a_bool(value):
    with pytest.raises(ValueError, match=r"=.* is not valid: use True or False\.$"):
        flag(value, "option")


def test_flag_keeps_bools():
    assert flag(True, "option") is True
    assert flag(False, "option") is False


def test_clip_keeps_short_text_and_cuts_long_text_to_the_limit():
    assert clip("abc", 3) == "abc"
    assert clip("abcdef", 5) == "ab..."
    assert len(clip("x" * 10_000, 80)) == 80


def test_burst_seconds_too_big_for_a_float_is_a_protocol_error():
    # math.isfinite(10**400) raised OverflowError before the shared check.
    with pytest.raises(ProtocolError, match=f"from 0 to {MAX_BURST_S:g}, got 1000"):
        check_burst(1, 10**400)
