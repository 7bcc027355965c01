"""The emulator's REST front and its WebRTC peer, driven by real HTTP and a real aiortc peer."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from rt_widget import Emulator
from tests.conformance import assert_server_event
from tests.rtc_client import RtcClient


def post_call(emu: Emulator, sdp: str, *, key: str | None = None) -> httpx.Response:
    files = {
        "sdp": (None, sdp, "application/sdp"),
        "session": (None, '{"type": "realtime", "model": "gpt-realtime"}', "application/json"),
    }
    headers = {"Authorization": f"Bearer {key or emu.api_key}"}
    return httpx.post(f"{emu.base_url}/realtime/calls", files=files, headers=headers, timeout=30)


def test_unified_call_returns_201_answer_and_location(emulator, rtc_client):
    response = post_call(emulator, rtc_client.offer())

    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/sdp")
    assert response.headers["location"].startswith("/v1/realtime/calls/rtc_")
    answer = response.text
    assert answer.startswith("v=0")
    assert "a=candidate:" in answer
    assert " 127.0.0.1 " in answer
    assert "stun" not in answer.lower()


def test_data_channel_greets_with_session_created(emulator, rtc_client):
    response = post_call(emulator, rtc_client.offer())
    rtc_client.accept(response.text)

    event = rtc_client.wait_for("session.created")
    assert event["event_id"].startswith("event_")
    session = event["session"]
    assert session["type"] == "realtime"
    assert session["object"] == "realtime.session"
    assert session["id"].startswith("sess_")
    assert session["model"] == "gpt-realtime"
    assert session["audio"]["output"]["voice"] == "alloy"


def test_session_part_configures_the_call(emulator, rtc_client):
    files = {
        "sdp": (None, rtc_client.offer(), "application/sdp"),
        "session": (
            None,
            json.dumps(
                {
                    "type": "realtime",
                    "instructions": "Be brief.",
                    "audio": {"output": {"voice": "marin"}},
                }
            ),
            "application/json",
        ),
    }
    response = httpx.post(
        f"{emulator.base_url}/realtime/calls",
        files=files,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=30,
    )
    rtc_client.accept(response.text)
    session = rtc_client.wait_for("session.created")["session"]
    assert session["instructions"] == "Be brief."
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["audio"]["output"]["speed"] == 1.0  # defaults kept where not overridden


@pytest.mark.parametrize("key", ["sk-wrong", ""])
def test_wrong_or_missing_key_gets_401_envelope(emulator, key):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = httpx.post(f"{emulator.base_url}/realtime/calls", content="v=0", headers=headers, timeout=10)
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "invalid_api_key"
    assert emulator.api_key not in response.text


def test_missing_sdp_part_is_a_400(emulator):
    response = httpx.post(
        f"{emulator.base_url}/realtime/calls",
        files={"session": (None, '{"type": "realtime"}', "application/json")},
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "sdp"


def test_garbage_sdp_is_a_400_and_server_keeps_serving(emulator, rtc_client):
    bad = post_call(emulator, "this is not sdp")
    assert bad.status_code == 400
    assert "sdp" in bad.json()["error"]["message"].lower()
    assert post_call(emulator, rtc_client.offer()).status_code == 201


def test_cors_preflight_allows_browser_pages(emulator):
    response = httpx.options(
        f"{emulator.base_url}/realtime/calls",
        headers={
            "Origin": "http://127.0.0.1:8888",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=10,
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in response.headers["access-control-allow-headers"]
    assert response.headers["access-control-expose-headers"] == "Location"


def test_hangup_ends_a_call(emulator, rtc_client):
    created = post_call(emulator, rtc_client.offer())
    call_id = created.headers["location"].rsplit("/", 1)[-1]
    url = f"{emulator.base_url}/realtime/calls/{call_id}/hangup"
    auth = {"Authorization": f"Bearer {emulator.api_key}"}

    assert httpx.post(url, headers=auth, timeout=10).status_code == 200
    again = httpx.post(url, headers=auth, timeout=10)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "call_id_not_found"


def test_two_emulators_serve_independently():
    with Emulator() as first, Emulator() as second:
        assert first.port != second.port
        assert first.api_key != second.api_key
        client = RtcClient()
        try:
            assert post_call(second, client.offer(), key=first.api_key).status_code == 401
        finally:
            client.close()


def test_stop_frees_the_port_and_is_idempotent():
    emu = Emulator()
    port = emu.port
    emu.stop()
    emu.stop()
    assert not emu.running
    with Emulator(port=port) as again:
        assert again.port == port


def test_repr_never_shows_the_key(emulator):
    assert emulator.api_key not in repr(emulator)
    assert emulator.base_url in repr(emulator)


def test_cli_help_describes_the_emulator_command():
    result = subprocess.run(
        [sys.executable, "-m", "rt_widget._cli", "emulator", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--port" in result.stdout
    assert "--host" in result.stdout


def connected_client(emu: Emulator, client: RtcClient) -> None:
    client.accept(post_call(emu, client.offer()).text)
    client.wait_for("session.created")


def test_spoken_reply_over_webrtc_is_real_speech(emulator, rtc_client):
    connected_client(emulator, rtc_client)
    rtc_client.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]},
        }
    )
    rtc_client.send({"type": "response.create"})

    done = rtc_client.wait_for("response.done", timeout=20)
    rtc_client.wait_for("output_audio_buffer.stopped", timeout=20)
    transcript = done["response"]["output"][0]["content"][0]["transcript"]
    assert transcript.startswith("Hello!")
    assert rtc_client.peak_level() > 3000  # speech, not silence
    for event in rtc_client.events:
        assert_server_event(event)
    assert [e["type"] for e in rtc_client.events].index("output_audio_buffer.started") < [
        e["type"] for e in rtc_client.events
    ].index("response.output_audio_transcript.delta")


def test_client_errors_come_back_on_the_data_channel(emulator, rtc_client):
    connected_client(emulator, rtc_client)
    rtc_client.send({"type": "session.update", "event_id": "evt_1", "session": {"modalities": ["text"]}})
    error = rtc_client.wait_for("error")["error"]
    assert error == {
        "type": "invalid_request_error",
        "code": "missing_required_parameter",
        "message": "Missing required parameter: 'session.type'.",
        "param": "session.type",
        "event_id": "evt_1",
    }


def test_session_part_wrapped_like_the_webrtc_guide_is_accepted(emulator, rtc_client):
    wrapped = json.dumps(
        {"session": {"type": "realtime", "model": "gpt-realtime", "audio": {"output": {"voice": "marin"}}}}
    )
    response = httpx.post(
        f"{emulator.base_url}/realtime/calls",
        files={"sdp": (None, rtc_client.offer(), "application/sdp"), "session": (None, wrapped, "application/json")},
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=30,
    )
    assert response.status_code == 201
    rtc_client.accept(response.text)
    assert rtc_client.wait_for("session.created")["session"]["audio"]["output"]["voice"] == "marin"


def test_cli_serves_until_interrupted():
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "rt_widget._cli", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("Realtime emulator listening on http://127.0.0.1:")
        base_url = first.split()[4]
        assert "sk-emulator-local" in proc.stdout.readline()
        minted = httpx.post(
            f"{base_url}/realtime/client_secrets",
            json={"session": {"type": "realtime"}},
            headers={"Authorization": "Bearer sk-emulator-local"},
            timeout=10,
        )
        assert minted.json()["value"].startswith("ek_")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0


def test_cli_explains_a_busy_port(emulator):
    result = subprocess.run(
        [sys.executable, "-m", "rt_widget._cli", "emulator", "--port", str(emulator.port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{emulator.port}" in result.stderr
    assert "Pick another --port" in result.stderr
    assert "Traceback" not in result.stderr
