"""The emulator's REST forms (GA, ephemeral, beta, Azure) and its sideband WebSocket.

OpenAI's own Python SDK is the client wherever it has a method for the endpoint.
"""

from __future__ import annotations

import gc
import json
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import openai
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from rt_widget import Emulator
from rt_widget.beta import GA_ONLY_EVENTS, GA_TO_BETA_EVENTS
from rt_widget.emulator import Faults, _loopback, server
from rt_widget.emulator import call as call_module
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


# -- hardening: CORS, error JSON, bodies, call limits ------------------------------------------


def assert_error_json(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


@pytest.mark.parametrize("prefix", ["/v1", "/openai/v1"])
def test_preflight_reflects_any_requested_header(emulator, prefix):
    asked = "authorization, content-type, x-openai-agents-sdk, x-stainless-os, x-stainless-retry-count"
    response = httpx.options(
        f"http://127.0.0.1:{emulator.port}{prefix}/realtime/calls",
        headers={
            "Origin": "http://localhost:8888",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": asked,
        },
    )
    assert response.status_code == 204
    allowed = {name.strip().lower() for name in response.headers["access-control-allow-headers"].split(",")}
    assert {name.strip() for name in asked.split(",")} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-origin"] == "*"


def test_preflight_to_an_unknown_path_is_a_404(emulator):
    response = httpx.options(
        f"http://127.0.0.1:{emulator.port}/v1/realtime/nothing-here",
        headers={"Origin": "http://localhost:8888", "Access-Control-Request-Method": "POST"},
    )
    assert "nothing-here" in assert_error_json(response, 404)["message"]


def post(emu: Emulator, path: str, content: bytes | str, content_type: str = "application/json") -> httpx.Response:
    headers = {"Authorization": f"Bearer {emu.api_key}", "Content-Type": content_type}
    return httpx.post(f"http://127.0.0.1:{emu.port}{path}", content=content, headers=headers, timeout=30)


BAD_BODIES = {
    "deep nesting": ("/v1/realtime/client_secrets", "[" * 100_000 + "]" * 100_000, "application/json"),
    "5,000-digit integer": (
        "/v1/realtime/client_secrets",
        '{"expires_after": {"seconds": ' + "9" * 5000 + "}}",
        "application/json",
    ),
    "NaN": ("/v1/realtime/client_secrets", '{"expires_after": {"seconds": NaN}}', "application/json"),
    "non-UTF-8": ("/v1/realtime/client_secrets", b'{"session": "\xff\xfe"}', "application/json"),
    "bogus charset": ("/v1/realtime/client_secrets", "{}", "application/json; charset=bogus"),
    "multipart without boundary": ("/v1/realtime/calls", b"--x\r\n\r\nv=0\r\n--x--\r\n", "multipart/form-data"),
    "truncated multipart": (
        "/v1/realtime/calls",
        b'--x\r\nContent-Disposition: form-data; name="sdp"\r\n\r\nv=0',
        "multipart/form-data; boundary=x",
    ),
    "session part not JSON": (
        "/v1/realtime/calls",
        b'--x\r\nContent-Disposition: form-data; name="sdp"\r\n\r\nv=0\r\n'
        b'--x\r\nContent-Disposition: form-data; name="session"\r\n\r\n{"type": \r\n--x--\r\n',
        "multipart/form-data; boundary=x",
    ),
    "beta modalities 5": ("/v1/realtime/sessions", '{"modalities": 5}', "application/json"),
    "beta null": ("/v1/realtime/sessions", "null", "application/json"),
    "beta body an array": ("/v1/realtime/sessions", "[1, 2]", "application/json"),
}


@pytest.mark.parametrize("name", BAD_BODIES)
def test_undecodable_bodies_are_400s_in_error_json(emulator, name):
    path, content, content_type = BAD_BODIES[name]
    assert_error_json(post(emulator, path, content, content_type), 400)


def test_routing_errors_are_in_error_json(emulator):
    base = f"http://127.0.0.1:{emulator.port}"
    auth = {"Authorization": f"Bearer {emulator.api_key}"}
    error = assert_error_json(httpx.get(f"{base}/v1/realtime/calls", headers=auth), 405)
    assert "POST" in error["message"]
    assert "/v1/nope" in assert_error_json(httpx.post(f"{base}/v1/nope", headers=auth), 404)["message"]
    # A plain GET (no WebSocket upgrade) on the sideband of a running call, and without a key.
    assert_error_json(httpx.get(f"{base}/v1/realtime?call_id=rtc_x"), 401)


def test_a_body_over_the_limit_is_a_413_that_names_it(emulator):
    session = {"type": "realtime", "instructions": "x" * 1_100_000}
    response = post(emulator, "/v1/realtime/client_secrets", json.dumps({"session": session}))
    assert "1 MiB" in assert_error_json(response, 413)["message"]
    with pytest.raises(openai.APIStatusError) as info:  # what a Python user sees for 1 MB instructions
        sdk(emulator).realtime.client_secrets.create(session=session)
    assert info.value.status_code == 413
    assert "limit" in info.value.message


class RecordingCall:
    """Wraps server.Call to keep every call the server creates."""

    def __init__(self, monkeypatch):
        self.calls = []
        real = server.Call

        def make(*args, **kwargs):
            call = real(*args, **kwargs)
            self.calls.append(call)
            return call

        monkeypatch.setattr(server, "Call", make)


@pytest.mark.parametrize(
    "sdp", ["v=0\r\nm=audio\r\n", "v=0\r\n", "hello", "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"]
)
def test_a_bad_sdp_offer_is_a_400_and_leaves_no_call(emulator, monkeypatch, sdp):
    recording = RecordingCall(monkeypatch)
    response = raw_sdp_call(f"{emulator.base_url}/realtime/calls", emulator.api_key, sdp)
    assert assert_error_json(response, 400)["param"] == "sdp"
    assert emulator._routes.calls == {}
    assert len(recording.calls) <= 1
    for call in recording.calls:
        assert call.closed.is_set()
        assert call._pc.connectionState == "closed"


def test_a_call_whose_client_never_connects_is_closed(emulator, rtc_client, monkeypatch):
    monkeypatch.setattr(call_module, "CONNECT_TIMEOUT_S", 0.5)
    response = raw_sdp_call(f"{emulator.base_url}/realtime/calls", emulator.api_key, rtc_client.offer())
    assert response.status_code == 201  # the client never applies the answer: ICE never completes
    call_id = response.headers["location"].rsplit("/", 1)[-1]
    call = emulator.call(call_id)
    deadline = time.monotonic() + 5
    while call_id in emulator._routes.calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert call_id not in emulator._routes.calls
    assert call._pc.connectionState == "closed"


def test_a_connected_call_is_not_closed_by_the_connect_timeout(emulator, rtc_client, monkeypatch):
    monkeypatch.setattr(call_module, "CONNECT_TIMEOUT_S", 1.0)
    response = raw_sdp_call(f"{emulator.base_url}/realtime/calls", emulator.api_key, rtc_client.offer())
    rtc_client.accept(response.text)
    rtc_client.wait_for("session.created")
    time.sleep(1.5)
    assert response.headers["location"].rsplit("/", 1)[-1] in emulator._routes.calls


def test_too_many_connecting_calls_get_429(emulator, rtc_client, monkeypatch):
    monkeypatch.setattr(server, "MAX_CONNECTING_CALLS", 2)
    offer = rtc_client.offer()
    url = f"{emulator.base_url}/realtime/calls"
    assert [raw_sdp_call(url, emulator.api_key, offer).status_code for _ in range(2)] == [201, 201]
    error = assert_error_json(raw_sdp_call(url, emulator.api_key, offer), 429)
    assert error["code"] == "rate_limit_exceeded"
    assert "hang them up" in error["message"]
    with pytest.raises(openai.RateLimitError):
        sdk(emulator).realtime.calls.create(sdp=offer)


def test_a_call_closed_by_its_own_task_closes_completely(rtc_client, capfd):
    with Emulator(faults=Faults(session_expired_after_s=0.2)) as emu:
        response = raw_sdp_call(f"{emu.base_url}/realtime/calls", emu.api_key, rtc_client.offer())
        call = emu.call(response.headers["location"].rsplit("/", 1)[-1])
        rtc_client.accept(response.text)
        rtc_client.wait_for("error")
        assert rtc_client.channel_closed.wait(5)
        deadline = time.monotonic() + 5
        while call._pc.sctp.transport.transport.state != "closed" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert call._pc.sctp.transport.transport.state == "closed"  # ICE too: the close was not cut short
    gc.collect()
    err = capfd.readouterr().err
    assert "never retrieved" not in err
    assert "Task was destroyed" not in err


def connected_call(emu: Emulator, client: RtcClient) -> str:
    response = raw_sdp_call(f"{emu.base_url}/realtime/calls", emu.api_key, client.offer())
    client.accept(response.text)
    client.wait_for("session.created")
    return response.headers["location"].rsplit("/", 1)[-1]


BAD_BURSTS = [
    {"count": 200_000, "seconds": 0},
    {"count": 0},
    {"count": True},
    {"count": "5"},
    {"count": 5.0},
    {"seconds": 1e308},
    {"seconds": -1},
    {"seconds": True},
    {"seconds": "1"},
    {"seconds": 61},
    {"burst": 5},
]


def test_burst_arguments_are_validated(emulator, rtc_client):
    call_id = connected_call(emulator, rtc_client)
    bodies = [json.dumps(body) for body in BAD_BURSTS] + ['{"seconds": NaN}', '{"seconds": Infinity}']
    for content in bodies:
        error = assert_error_json(post(emulator, f"/emulator/calls/{call_id}/burst", content), 400)
        assert error["param"] in {"count", "seconds", "burst", None}, content
    with pytest.raises(ValueError, match="seconds"):
        emulator.burst(call_id, 10, float("inf"))
    with pytest.raises(ValueError, match="count"):
        emulator.burst(call_id, 10**6, 0)
    assert post(emulator, f"/emulator/calls/{call_id}/burst", '{"count": 3, "seconds": 0}').json() == {"sent": 3}


def test_a_burst_lets_other_requests_through(emulator, rtc_client):
    call_id = connected_call(emulator, rtc_client)
    burst = threading.Thread(
        target=post, args=(emulator, f"/emulator/calls/{call_id}/burst", '{"count": 20000, "seconds": 0}')
    )
    burst.start()
    time.sleep(0.3)
    started = time.monotonic()
    minted = sdk(emulator).realtime.client_secrets.create(session={"type": "realtime"})
    answered_in = time.monotonic() - started
    still_bursting = burst.is_alive()
    burst.join(60)
    assert minted.value.startswith("ek_")
    assert still_bursting, "the burst ended too soon to show anything"
    assert answered_in < 1.0


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"modalities": ["video"]}, "modalities[0]"),
        ({"modalities": 5}, "modalities"),
        ({"input_audio_format": "mp3"}, "input_audio_format"),
        ({"output_audio_format": {"type": "audio/pcm"}}, "output_audio_format"),
        ({"totally_made_up": 1}, "totally_made_up"),
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": 1.5}, "temperature"),
        ({"voice": "nobody"}, "voice"),
        ({"speed": 9}, "speed"),
        ({"turn_detection": {"type": "server_vad", "threshold": 2}}, "turn_detection.threshold"),
        ({"input_audio_transcription": {"model": 5}}, "input_audio_transcription.model"),
        ({"tools": [{"type": "function"}]}, "tools[0].name"),
        ({"max_response_output_tokens": "lots"}, "max_response_output_tokens"),
        ({"instructions": 5}, "instructions"),
    ],
)
def test_beta_mint_rejects_junk_naming_the_field(emulator, body, param):
    error = assert_error_json(post(emulator, "/v1/realtime/sessions", json.dumps(body)), 400)
    assert error["param"] == param
    assert "session." not in error["message"]  # the beta field's name, not its GA path


def test_beta_mint_accepts_a_full_beta_session(emulator):
    body = {
        "model": "gpt-4o-realtime-preview",
        "modalities": ["audio", "text"],
        "instructions": "Be brief.",
        "voice": "alloy",
        "input_audio_format": "g711_ulaw",
        "output_audio_format": "pcm16",
        "input_audio_transcription": {"model": "whisper-1"},
        "turn_detection": {"type": "server_vad", "threshold": 0.5, "silence_duration_ms": 500},
        "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}}],
        "tool_choice": "auto",
        "temperature": 0.7,
        "max_response_output_tokens": "inf",
        "speed": 1.1,
        "tracing": None,
        "client_secret": {"expires_after": {"anchor": "created_at", "seconds": 120}},
    }
    response = post(emulator, "/v1/realtime/sessions", json.dumps(body))
    assert response.status_code == 200, response.text
    minted = response.json()
    assert minted["input_audio_format"] == "g711_ulaw"
    assert minted["temperature"] == 0.7
    assert abs(minted["client_secret"]["expires_at"] - (time.time() + 120)) < 5


def test_port_in_use_names_the_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"port {port} on 127.0.0.1 is in use; pick another port or port=0") as info:
            Emulator(port=port)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


@pytest.mark.parametrize("host", ["no-such-host.invalid", "999.1.1.1", "", 5])
def test_a_bad_host_is_named(host):
    with pytest.raises(ValueError, match="host") as info:
        Emulator(host=host)
    assert info.value.__suppress_context__ or info.value.__context__ is None


def test_a_network_bind_warns_and_still_offers_candidates(rtc_client):
    with pytest.warns(UserWarning, match="reachable from the network"):
        emu = Emulator(host="0.0.0.0")
    with emu:
        response = raw_sdp_call(f"http://127.0.0.1:{emu.port}/v1/realtime/calls", emu.api_key, rtc_client.offer())
        assert response.status_code == 201
        assert "a=candidate:" in response.text
        rtc_client.accept(response.text)
        rtc_client.wait_for("session.created")


def test_loopback_fallback_offers_127_when_the_machine_has_no_address(monkeypatch):
    monkeypatch.setattr(_loopback, "_original", lambda use_ipv4, use_ipv6: [])
    _loopback.restrict_current_thread(_loopback.LOOPBACK_FALLBACK)
    try:
        assert _loopback._host_addresses(True, True) == ["127.0.0.1"]
    finally:
        _loopback.release_current_thread()
    monkeypatch.setattr(_loopback, "_original", lambda use_ipv4, use_ipv6: ["10.0.0.5"])
    _loopback.restrict_current_thread(_loopback.LOOPBACK_FALLBACK)
    try:
        assert _loopback._host_addresses(True, True) == ["10.0.0.5"]
    finally:
        _loopback.release_current_thread()


def test_cli_warns_about_a_network_bind():
    proc = subprocess.Popen(
        [sys.executable, "-m", "rt_widget._cli", "emulator", "--host", "0.0.0.0", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening" in proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "warning" in err
    assert "reachable from the network" in err
    assert "Traceback" not in err


def test_localhost_is_served_on_ipv4_where_clients_look_first():
    with Emulator(host="localhost") as emu:
        response = httpx.post(f"http://127.0.0.1:{emu.port}/v1/realtime/client_secrets", json={})
    assert response.status_code == 401  # reached (and asked for a key)
