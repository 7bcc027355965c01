"""Providers over real HTTP against the emulator, and provider selection."""

from __future__ import annotations

import socket

import pytest

from rt_widget import providers
from rt_widget.config import SessionConfig
from rt_widget.providers import ConnectError, Local, OpenAI
from rt_widget.providers.base import call_id_from_location
from tests.aio import run

CONFIG = SessionConfig()


def test_openai_provider_relays_offer_to_the_calls_endpoint(emulator, rtc_client):
    provider = OpenAI(api_key=emulator.api_key, base_url=emulator.base_url)
    answer = run(provider.connect(rtc_client.offer(), CONFIG))

    assert answer.sdp.startswith("v=0")
    assert answer.call_id is not None
    assert answer.call_id.startswith("rtc_")
    rtc_client.accept(answer.sdp)
    assert rtc_client.wait_for("session.created")["session"]["model"] == "gpt-realtime"


def test_wrong_key_is_a_clear_error_without_the_key(emulator, rtc_client):
    sentinel = "sk-SENTINEL-do-not-leak-123"
    provider = OpenAI(api_key=sentinel, base_url=emulator.base_url)
    with pytest.raises(ConnectError) as info:
        run(provider.connect(rtc_client.offer(), CONFIG))
    message = str(info.value)
    assert "HTTP 401" in message
    assert "API key" in message
    assert sentinel not in message
    assert sentinel not in repr(provider)


def test_unreachable_host_is_a_clear_error():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = OpenAI(api_key="sk-x", base_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(ConnectError, match=r"Could not reach .*Check the network and base_url"):
        run(provider.connect("v=0", CONFIG))


def test_local_provider_uses_a_given_emulator(emulator, rtc_client):
    answer = run(Local(emulator).connect(rtc_client.offer(), CONFIG))
    assert answer.call_id in {c for c in emulator._routes.calls}


def test_select_prefers_an_explicit_instance():
    given = Local()
    assert providers.select(given) is given


def test_select_uses_openai_when_the_key_is_set(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert isinstance(providers.select(), OpenAI)


def test_select_falls_back_to_the_emulator_without_a_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert isinstance(providers.select(), Local)


def test_select_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"provider='nope' is not known. Use one of 'openai'"):
        providers.select("nope")


def test_openai_without_a_key_says_where_to_put_it(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="set OPENAI_API_KEY"):
        OpenAI()


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/v1/realtime/calls/rtc_abc", "rtc_abc"),
        ("https://api.openai.com/v1/realtime/calls/rtc_u1_9c65?x=1", "rtc_u1_9c65"),
        ("/v1/realtime/calls/", None),
        (None, None),
    ],
)
def test_call_id_from_location(location, expected):
    assert call_id_from_location(location) == expected
