"""Each injected fault gives the documented error, and the server keeps serving other calls."""

from __future__ import annotations

import dataclasses
import math
import time

import openai
import pytest

from rt_widget import Emulator
from rt_widget.emulator import Faults
from tests.rtc_client import RtcClient
from tests.test_emulator import post_call

USER_HELLO = {
    "type": "conversation.item.create",
    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]},
}


def sdk(emu: Emulator) -> openai.OpenAI:
    return openai.OpenAI(api_key=emu.api_key, base_url=emu.base_url, max_retries=0)


def healthy_call(emu: Emulator) -> None:
    """A full call still works: the server kept serving."""
    client = RtcClient()
    try:
        client.accept(post_call(emu, client.offer()).text)
        client.wait_for("session.created")
    finally:
        client.close()


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (401, openai.AuthenticationError, "invalid_api_key"),
        (429, openai.RateLimitError, "rate_limit_exceeded"),
        (500, openai.InternalServerError, "server_error"),
    ],
)
def test_rest_errors(emulator, status, error, code):
    emulator.faults = Faults(rest_status=status)
    with pytest.raises(error) as info:
        sdk(emulator).realtime.client_secrets.create(session={"type": "realtime"})
    assert info.value.status_code == status
    assert info.value.body["code"] == code
    emulator.faults = Faults()
    healthy_call(emulator)


def test_unsupported_rest_status_is_refused():
    with pytest.raises(ValueError, match="rest_status=418 is not supported"):
        Faults(rest_status=418)


@pytest.mark.parametrize("field", ["slow_answer_s", "slow_response_s"])
@pytest.mark.parametrize("value", [-1, "2", True])
def test_delays_must_be_seconds(field, value):
    with pytest.raises(ValueError, match=f"{field}={value!r} is not valid: use a number of seconds"):
        Faults(**{field: value})


@pytest.mark.parametrize("field", ["slow_answer_s", "slow_response_s", "session_expired_after_s"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**400, 3601, -1, True, "5"])
def test_every_delay_is_a_finite_number_of_seconds(field, value):
    with pytest.raises(ValueError, match=rf"{field}=.* is not valid: use a number of seconds, 0 or more, at most 3600"):
        Faults(**{field: value})
    faults = Faults()
    before = getattr(faults, field)
    with pytest.raises(ValueError, match=f"{field}="):  # set later, e.g. emu.faults.slow_answer_s = ...
        setattr(faults, field, value)
    assert getattr(faults, field) == before


@pytest.mark.parametrize("field", ["malformed_answer", "close_channel_mid_response", "malformed_event", "silent_audio"])
@pytest.mark.parametrize("value", ["no", 1, 0, None])
def test_switches_are_bools(field, value):
    with pytest.raises(ValueError, match=f"{field}={value!r} is not valid: use True or False"):
        Faults(**{field: value})


def test_good_faults_are_kept_and_copied():
    faults = Faults(rest_status=429, slow_answer_s=2, session_expired_after_s=0.5, silent_audio=True)
    copy = dataclasses.replace(faults)  # what each call does
    assert copy == faults
    assert (copy.rest_status, copy.slow_answer_s, copy.session_expired_after_s) == (429, 2, 0.5)


def test_slow_answer(emulator, rtc_client):
    emulator.faults = Faults(slow_answer_s=1.0)
    start = time.monotonic()
    response = post_call(emulator, rtc_client.offer())
    assert response.status_code == 201
    assert time.monotonic() - start >= 1.0
    emulator.faults = Faults()
    healthy_call(emulator)


def test_malformed_answer_cannot_be_applied(emulator, rtc_client):
    emulator.faults = Faults(malformed_answer=True)
    response = post_call(emulator, rtc_client.offer())
    assert response.status_code == 201
    with pytest.raises(ValueError, match="do not match offer"):  # as a browser would refuse it
        rtc_client.accept(response.text)
    emulator.faults = Faults()
    healthy_call(emulator)


def test_channel_closed_mid_response(emulator, rtc_client):
    emulator.faults = Faults(close_channel_mid_response=True)
    rtc_client.accept(post_call(emulator, rtc_client.offer()).text)
    rtc_client.wait_for("session.created")
    rtc_client.send(USER_HELLO)
    rtc_client.send({"type": "response.create"})
    assert rtc_client.channel_closed.wait(10)
    types = [e["type"] for e in rtc_client.events]
    assert "response.output_audio_transcript.delta" in types
    assert "response.done" not in types
    emulator.faults = Faults()
    healthy_call(emulator)


def test_session_expired_on_one_call_only(emulator):
    doomed, other = RtcClient(), RtcClient()
    try:
        first = post_call(emulator, doomed.offer())
        doomed.accept(first.text)
        doomed.wait_for("session.created")
        call_id = first.headers["location"].rsplit("/", 1)[-1]
        other.accept(post_call(emulator, other.offer()).text)
        other.wait_for("session.created")

        emulator.call(call_id).faults.session_expired_after_s = 0.0
        error = doomed.wait_for("error")["error"]
        assert error["code"] == "session_expired"
        assert error["message"] == "Your session hit the maximum duration of 60 minutes."
        assert doomed.channel_closed.wait(10)
        deadline = time.monotonic() + 5
        while call_id in emulator._routes.calls and time.monotonic() < deadline:
            time.sleep(0.05)
        assert call_id not in emulator._routes.calls

        other.send(USER_HELLO)
        other.send({"type": "response.create"})
        other.wait_for("response.done", timeout=20)
    finally:
        doomed.close()
        other.close()


def test_session_expired_after_n_seconds_from_the_server_setting(emulator, rtc_client):
    emulator.faults = Faults(session_expired_after_s=0.5)
    rtc_client.accept(post_call(emulator, rtc_client.offer()).text)
    assert rtc_client.wait_for("error")["error"]["code"] == "session_expired"
    assert rtc_client.channel_closed.wait(10)


def test_malformed_event(emulator, rtc_client):
    emulator.faults = Faults(malformed_event=True)
    rtc_client.accept(post_call(emulator, rtc_client.offer()).text)
    rtc_client.wait_for("<malformed>")
    assert [e["type"] for e in rtc_client.events][:2] == ["session.created", "<malformed>"]


def test_silent_audio(emulator, rtc_client):
    emulator.faults = Faults(silent_audio=True)
    rtc_client.accept(post_call(emulator, rtc_client.offer()).text)
    rtc_client.wait_for("session.created")
    rtc_client.send(USER_HELLO)
    rtc_client.send({"type": "response.create"})
    rtc_client.wait_for("output_audio_buffer.stopped", timeout=20)
    assert len(rtc_client.audio) > 20
    assert rtc_client.peak_level() < 200


def test_unknown_call_id_lists_running_calls(emulator):
    with pytest.raises(KeyError, match="No running call 'rtc_x'; running calls: none"):
        emulator.call("rtc_x")
