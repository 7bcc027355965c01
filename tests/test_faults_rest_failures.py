"""Faults(rest_failures=n): only the next n REST requests fail, as a rate limit that passes."""

from __future__ import annotations

import openai
import pytest

from rt_widget.emulator import Faults
from tests.test_faults import healthy_call


def mint(emulator) -> None:
    client = openai.OpenAI(api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0)
    client.realtime.client_secrets.create(session={"type": "realtime"})


def test_the_next_requests_fail_then_the_emulator_serves_again(emulator):
    emulator.faults = Faults(rest_status=429, rest_failures=2)
    for _ in range(2):
        with pytest.raises(openai.RateLimitError) as info:
            mint(emulator)
        assert info.value.body["code"] == "rate_limit_exceeded"
    assert emulator.faults.rest_failures == 0
    mint(emulator)  # served again
    healthy_call(emulator)  # a whole call too: offers are REST requests like any other
    assert emulator.faults.rest_status == 429  # the fault stays set, with nothing left to fail


def test_without_rest_failures_every_request_fails(emulator):
    emulator.faults = Faults(rest_status=500)
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            mint(emulator)
    assert emulator.faults.rest_failures is None


def test_zero_failures_fail_nothing(emulator):
    emulator.faults = Faults(rest_status=401, rest_failures=0)
    mint(emulator)


@pytest.mark.parametrize("value", [-1, 1.5, True, "3"])
def test_rest_failures_must_be_a_whole_number(value):
    with pytest.raises(ValueError, match=r"rest_failures=.* is not valid: use a whole number"):
        Faults(rest_status=429, rest_failures=value)
    faults = Faults()
    with pytest.raises(ValueError, match="rest_failures"):
        faults.rest_failures = value
