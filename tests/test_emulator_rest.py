"""The emulator's REST forms (GA, ephemeral, beta, Azure) and its sideband WebSocket.

OpenAI's own Python SDK is the client wherever it has a method for the endpoint.
"""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from rt_widget import Emulator
from rt_widget.beta import GA_ONLY_EVENTS, GA_TO_BETA_EVENTS
from rt_widget.emulator.server import AZURE_WEBRTC_FILTER
from tests.conformance import assert_server_event
from tests.rtc_client import RtcClient

SESSION = {"type": "realtime", "model": "gpt-realtime", "instructions": "Answer in one short sentence."}
USER_HELLO = {
    "type": "conversation.item.create",
    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]},
}


def sdk(emu: Emulator) -> openai.OpenAI:
    return openai.OpenAI(api_key=emu.api_key, base_url=emu.base_url, max_retries=0)


def raw_sdp_call(url: str, key: str, offer: str, **headers: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp", **headers}
    return httpx.post(url, content=offer, headers=headers, timeout=30)


def test_sdk_mints_an_ephemeral_key(emulator):
    before = time.time()
    secret = sdk(emulator).realtime.client_secrets.create(
        session=SESSION, expires_after={"anchor": "created_at", "seconds": 60}
    )
    assert secret.value.startswith("ek_")
    assert len(secret.value) == 35
    assert before + 59 <= secret.expires_at <= time.time() + 61
    assert secret.session.type == "realtime"
    assert secret.session.instructions == SESSION["instructions"]


def test_default_ttl_is_600_seconds(emulator):
    secret = sdk(emulator).realtime.client_secrets.create(session={"type": "realtime"})
    assert abs(secret.expires_at - (time.time() + 600)) < 5


@pytest.mark.parametrize("seconds", [5, 7201])
def test_ttl_out_of_range_is_a_400(emulator, seconds):
    with pytest.raises(openai.BadRequestError) as info:
        sdk(emulator).realtime.client_secrets.create(expires_after={"anchor": "created_at", "seconds": seconds})
    assert info.value.body["param"] == "expires_after.seconds"


def test_unknown_session_field_in_mint_is_a_400(emulator):
    with pytest.raises(openai.BadRequestError) as info:
        sdk(emulator).realtime.client_secrets.create(session={"type": "realtime", "modalities": ["text"]})  # type: ignore[typeddict-unknown-key]
    assert info.value.body["code"] == "unknown_parameter"
    assert info.value.body["param"] == "session.modalities"


def test_wrong_key_is_an_authentication_error(emulator):
    client = openai.OpenAI(api_key="sk-wrong", base_url=emulator.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        client.realtime.client_secrets.create(session={"type": "realtime"})
    assert info.value.body["code"] == "invalid_api_key"


def test_ephemeral_key_starts_a_call_with_its_session(emulator, rtc_client):
    secret = sdk(emulator).realtime.client_secrets.create(session=SESSION)
    response = raw_sdp_call(f"{emulator.base_url}/realtime/calls", secret.value, rtc_client.offer())
    assert response.status_code == 201
    rtc_client.accept(response.text)
    assert rtc_client.wait_for("session.created")["session"]["instructions"] == SESSION["instructions"]


def test_expired_or_unknown_ephemeral_keys_get_401(emulator, rtc_client):
    secret = sdk(emulator).realtime.client_secrets.create(expires_after={"anchor": "created_at", "seconds": 10})
    emulator._routes.secrets.clock = lambda: time.time() + 11
    url = f"{emulator.base_url}/realtime/calls"
    expired = raw_sdp_call(url, secret.value, rtc_client.offer())
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]
    assert raw_sdp_call(url, "ek_" + "0" * 32, rtc_client.offer()).status_code == 401


def test_sdk_creates_and_hangs_up_a_call(emulator, rtc_client):
    client = sdk(emulator)
    raw = client.realtime.calls.with_raw_response.create(sdp=rtc_client.offer(), session=SESSION)
    assert raw.status_code == 201
    call_id = raw.headers["location"].rsplit("/", 1)[-1]
    rtc_client.accept(raw.http_response.text)
    rtc_client.wait_for("session.created")
    client.realtime.calls.hangup(call_id)
    assert call_id not in emulator._routes.calls
    with pytest.raises(openai.NotFoundError):
        client.realtime.calls.hangup(call_id)


def test_sdk_sideband_observes_and_controls_the_call(emulator, rtc_client):
    client = sdk(emulator)
    raw = client.realtime.calls.with_raw_response.create(sdp=rtc_client.offer(), session=SESSION)
    call_id = raw.headers["location"].rsplit("/", 1)[-1]
    rtc_client.accept(raw.http_response.text)
    rtc_client.wait_for("session.created")

    seen = []
    with client.realtime.connect(call_id=call_id) as sideband:
        sideband.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        sideband.conversation.item.create(item=USER_HELLO["item"])
        sideband.response.create()
        for event in sideband:
            seen.append(event.to_dict())
            if event.type == "response.done":
                break
    types = [e["type"] for e in seen]
    assert types[0] == "session.updated"
    assert "response.output_text.done" in types
    for event in seen:
        assert_server_event(event)
    # The browser's data channel got the same events, with the same ids.
    browser_done = rtc_client.wait_for("response.done")
    assert browser_done["event_id"] == seen[-1]["event_id"]


def test_sideband_refuses_missing_keys_and_unknown_calls(emulator):
    url = emulator.base_url.replace("http", "ws") + "/realtime?call_id=rtc_nope"
    with pytest.raises(InvalidStatus) as info:
        connect(url).close()
    assert info.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as info:
        connect(url, additional_headers={"Authorization": f"Bearer {emulator.api_key}"}).close()
    assert info.value.response.status_code == 404
    assert json.loads(info.value.response.body)["error"]["code"] == "call_id_not_found"


def test_beta_flow_speaks_beta(emulator, rtc_client):
    minted = httpx.post(
        f"{emulator.base_url}/realtime/sessions",
        json={"model": "gpt-4o-realtime-preview-2024-12-17", "voice": "verse"},
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=10,
    )
    assert minted.status_code == 200
    body = minted.json()
    assert body["voice"] == "verse"
    assert body["client_secret"]["value"].startswith("ek_")
    assert abs(body["client_secret"]["expires_at"] - (time.time() + 60)) < 5

    url = f"{emulator.base_url}/realtime?model=gpt-4o-realtime-preview-2024-12-17"
    response = raw_sdp_call(url, body["client_secret"]["value"], rtc_client.offer())
    assert response.status_code == 201
    rtc_client.accept(response.text)
    session = rtc_client.wait_for("session.created")["session"]
    assert session["voice"] == "verse"
    assert session["modalities"] == ["audio", "text"]
    assert "audio" not in session

    rtc_client.send({"type": "response.create", "response": {"modalities": ["text"], "instructions": "Say hi."}})
    rtc_client.wait_for("response.done")
    types = [e["type"] for e in rtc_client.events]
    assert "response.text.delta" in types
    assert "response.text.done" in types
    assert "conversation.item.created" in types
    assert not set(types) & (set(GA_TO_BETA_EVENTS) | GA_ONLY_EVENTS)


def test_beta_unknown_field_in_mint_is_a_400(emulator):
    minted = httpx.post(
        f"{emulator.base_url}/realtime/sessions",
        json={"model": "gpt-realtime", "client_secret": {"expires_at": 5}},
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=10,
    )
    assert minted.status_code == 400
    assert minted.json()["error"]["code"] == "unknown_parameter"


def azure_mint(emu: Emulator, key: str) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{emu.port}/openai/v1/realtime/client_secrets",
        json={"session": {"type": "realtime", "model": "my-deployment", "output_modalities": ["text"]}},
        headers={"api-key": key},
        timeout=10,
    )


def test_azure_api_key_and_webrtcfilter(emulator):
    assert azure_mint(emulator, "wrong").status_code == 401
    minted = azure_mint(emulator, emulator.api_key)
    assert minted.status_code == 200
    assert minted.json()["session"]["model"] == "my-deployment"

    client = RtcClient()
    try:
        base = f"http://127.0.0.1:{emulator.port}/openai/v1/realtime"
        response = raw_sdp_call(f"{base}/calls?webrtcfilter=on", minted.json()["value"], client.offer())
        assert response.status_code == 201
        assert response.headers["location"].startswith("/openai/v1/realtime/calls/rtc_")
        call_id = response.headers["location"].rsplit("/", 1)[-1]
        client.accept(response.text)

        ws_url = f"ws://127.0.0.1:{emulator.port}/openai/v1/realtime?call_id={call_id}"
        with connect(ws_url, additional_headers={"api-key": emulator.api_key}) as sideband:
            sideband.send(json.dumps(USER_HELLO))
            sideband.send(json.dumps({"type": "response.create"}))
            unfiltered = []
            while not unfiltered or unfiltered[-1]["type"] != "response.done":
                unfiltered.append(json.loads(sideband.recv(timeout=10)))
        client.wait_for("response.output_text.done")
        browser_types = {e["type"] for e in client.events}
        assert browser_types <= AZURE_WEBRTC_FILTER
        assert {"conversation.item.added", "response.output_text.delta"} <= browser_types
        assert "session.created" not in browser_types
        assert "response.done" in {e["type"] for e in unfiltered}
    finally:
        client.close()
