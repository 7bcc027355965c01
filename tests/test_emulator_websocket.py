"""The emulator's Realtime WebSocket transport, driven by the real ``openai`` SDK over loopback.

Every event a session sends is checked against the SDK's own server event types (unknown
fields fail) when its test ends.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import warnings
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import openai
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from rt_widget import Emulator
from rt_widget.emulator import Faults, g711
from tests.conformance import assert_server_event
from tests.samples import speech, spoken_wav

RATE = 24_000
CHUNK_S = 0.1
USER_HELLO = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello!"}]}
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


class Session:
    """The SDK's sync Realtime client on a new WebSocket session, read on a thread."""

    def __init__(self, client: openai.OpenAI, model: str = "gpt-realtime") -> None:
        self.connection = client.realtime.connect(model=model).enter()
        self.events: list[dict[str, Any]] = []
        self.arrived: list[float] = []  # monotonic arrival time of each event
        self.not_json: list[str] = []
        self.closed: ConnectionClosed | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                raw = self.connection.recv_bytes()
            except ConnectionClosed as exc:
                self.closed = exc
                return
            try:
                event = json.loads(raw)
            except ValueError:
                self.not_json.append(raw.decode())
                continue
            self.arrived.append(time.monotonic())
            self.events.append(event)

    def send(self, event: dict[str, Any]) -> None:
        self.connection.send(event)

    def send_raw(self, text: str) -> None:
        self.connection._connection.send(text)  # the SDK sends only JSON; its socket sends anything

    def wait_for(self, type_: str, after: int = 0, timeout: float = 20) -> dict[str, Any]:
        """The first ``type_`` event at index ``after`` or later."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events[after:]:
                if event["type"] == type_:
                    return event
            if self.closed is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no {type_!r}; saw {self.types()}")

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type_]

    def close(self) -> None:
        self.connection.close()
        self._reader.join(10)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key, max_retries=0)


@pytest.fixture
def session(client: openai.OpenAI) -> Iterator[Session]:
    opened = Session(client)
    yield opened
    opened.close()
    assert_conforms(opened)


def assert_conforms(session: Session) -> None:
    """Every event validates against the SDK's types, none is WebRTC-only, the first greets."""
    assert session.events, "the session sent nothing"
    assert session.events[0]["type"] == "session.created"
    for event in session.events:
        assert_server_event(event)
        assert not event["type"].startswith("output_audio_buffer."), event


def user_turn(session: Session, text: str) -> None:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    session.send({"type": "conversation.item.create", "item": item})


def pcm_24k(path: Path) -> npt.NDArray[np.int16]:
    """A mono 16-bit WAV file resampled to 24 kHz."""
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    positions = np.linspace(0, len(samples) - 1, int(len(samples) * RATE / rate))
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.int16)


def append(session: Session, pcm: npt.NDArray[np.int16], *, real_time: bool) -> None:
    """``pcm`` as 100 ms ``input_audio_buffer.append`` events, paced like a microphone or at once."""
    step = int(RATE * CHUNK_S)
    start = time.monotonic()
    for n, i in enumerate(range(0, len(pcm), step)):
        if real_time:
            time.sleep(max(0.0, start + n * CHUNK_S - time.monotonic()))
        audio = base64.b64encode(pcm[i : i + step].astype("<i2").tobytes()).decode()
        session.send({"type": "input_audio_buffer.append", "audio": audio})


def decoded_audio(session: Session, response_id: str) -> npt.NDArray[np.int16]:
    deltas = [e for e in session.of_type("response.output_audio.delta") if e["response_id"] == response_id]
    return np.frombuffer(b"".join(base64.b64decode(e["delta"]) for e in deltas), "<i2")


# -- 1. text turns, tools, usage ------------------------------------------------------------


def test_a_text_turn_through_the_sdk_gets_text_and_usage(session):
    connection = session.connection
    connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
    connection.conversation.item.create(item=USER_HELLO)
    connection.response.create()
    done = session.wait_for("response.done")

    assert session.wait_for("session.updated")["session"]["output_modalities"] == ["text"]
    text = session.wait_for("response.output_text.done")["text"]
    assert text.strip()
    assert "".join(e["delta"] for e in session.of_type("response.output_text.delta")) == text
    response = done["response"]
    assert response["status"] == "completed"
    assert response["output"][0]["content"] == [{"type": "output_text", "text": text}]
    usage = response["usage"]
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert not session.of_type("response.output_audio.delta")


def test_a_tool_call_round_trip(session):
    session.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "output_modalities": ["text"], "tools": [WEATHER_TOOL]},
        }
    )
    user_turn(session, "What is the weather in Paris? Use get_weather.")
    session.send({"type": "response.create"})
    called = session.wait_for("response.function_call_arguments.done")
    first_done = session.wait_for("response.done")
    assert called["name"] == "get_weather"
    assert isinstance(json.loads(called["arguments"])["city"], str)
    assert first_done["response"]["output"][0]["type"] == "function_call"

    output = {"type": "function_call_output", "call_id": called["call_id"], "output": '{"sky": "sunny"}'}
    session.send({"type": "conversation.item.create", "item": output})
    after = len(session.events)
    session.send({"type": "response.create"})
    answer = session.wait_for("response.output_text.done", after)["text"]
    assert "sunny" in answer
    assert session.wait_for("response.done", after)["response"]["status"] == "completed"


# -- 2. audio in and out --------------------------------------------------------------------


def test_a_spoken_turn_is_heard_by_the_vad_and_answered_in_audio_deltas(session, tmp_path):
    said = pcm_24k(spoken_wav(tmp_path / "hello.wav", "hello there"))
    session.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}}},
        }
    )
    session.wait_for("session.updated")
    silence = np.zeros(int(RATE * 0.3), np.int16)
    append(session, np.concatenate([silence, said, np.zeros(RATE, np.int16)]), real_time=True)

    started = session.wait_for("input_audio_buffer.speech_started")
    stopped = session.wait_for("input_audio_buffer.speech_stopped")
    committed = session.wait_for("input_audio_buffer.committed")
    assert started["item_id"] == stopped["item_id"] == committed["item_id"]
    # The speech starts 300 ms in (prefix padding moves the turn's start earlier) and lasts as long as the WAV.
    assert 0 <= started["audio_start_ms"] <= 300
    assert abs(stopped["audio_end_ms"] - (300 + len(said) / RATE * 1000)) < 300
    heard = session.wait_for("conversation.item.input_audio_transcription.completed")
    assert heard["item_id"] == committed["item_id"]
    assert "hello there" in heard["transcript"].lower()

    done = session.wait_for("response.done", timeout=30)["response"]
    assert done["status"] == "completed"
    response_id = done["id"]
    transcript = session.wait_for("response.output_audio_transcript.done")["transcript"]
    deltas = session.of_type("response.output_audio_transcript.delta")
    assert "".join(e["delta"] for e in deltas) == transcript
    assert done["output"][0]["content"] == [{"type": "output_audio", "transcript": transcript}]

    # The reply's speech: non-silent, as long as the offline voice takes to say the transcript.
    audio = decoded_audio(session, response_id)
    seconds = len(audio) / RATE
    expected = speech(transcript).duration_s
    assert abs(seconds - expected) < 0.2 * expected, (seconds, expected)
    assert np.sqrt(np.mean(audio.astype(np.float64) ** 2)) > 300
    # One delta per 100 ms, sent in real time, all before output_audio.done.
    types = session.types()
    chunks = [i for i, t in enumerate(types) if t == "response.output_audio.delta"]
    assert len(chunks) == pytest.approx(seconds / CHUNK_S, abs=1)
    assert max(chunks) < types.index("response.output_audio.done")
    sent_over = session.arrived[chunks[-1]] - session.arrived[chunks[0]]
    assert sent_over > 0.8 * (seconds - CHUNK_S)
    assert usage_has_audio(done["usage"])


def usage_has_audio(usage: dict[str, Any]) -> bool:
    return bool(usage["input_token_details"]["audio_tokens"] > 0 and usage["output_token_details"]["audio_tokens"] > 0)


def test_manual_turns_commit_the_appended_audio(session, tmp_path):
    said = pcm_24k(spoken_wav(tmp_path / "hello.wav", "hello there"))
    session.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "output_modalities": ["text"],
                "audio": {"input": {"turn_detection": None, "transcription": {"model": "whisper-1"}}},
            },
        }
    )
    session.wait_for("session.updated")
    append(session, said, real_time=False)  # no VAD: nothing happens until the commit
    session.send({"type": "input_audio_buffer.commit"})
    committed = session.wait_for("input_audio_buffer.committed")
    heard = session.wait_for("conversation.item.input_audio_transcription.completed")
    assert heard["item_id"] == committed["item_id"]
    assert "hello there" in heard["transcript"].lower()
    assert not session.of_type("input_audio_buffer.speech_started")
    session.send({"type": "response.create"})
    assert session.wait_for("response.done")["response"]["status"] == "completed"


def test_barge_in_cancels_the_spoken_reply(session, tmp_path):
    said = pcm_24k(spoken_wav(tmp_path / "hello.wav", "hello there"))
    user_turn(session, "Tell me a long story about the sea.")
    session.send({"type": "response.create"})
    session.wait_for("response.output_audio.delta")
    append(session, np.concatenate([said, np.zeros(RATE // 2, np.int16)]), real_time=True)
    session.wait_for("input_audio_buffer.speech_started")
    done = session.wait_for("response.done")["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"]["reason"] == "turn_detected"
    assert session.wait_for("response.output_audio.done")["response_id"] == done["id"]


@pytest.mark.parametrize(("kind", "decode"), [("audio/pcmu", g711.ulaw_decode), ("audio/pcma", g711.alaw_decode)])
def test_g711_sessions_take_and_give_8_khz_telephone_audio(session, tmp_path, kind, decode):
    said = pcm_24k(spoken_wav(tmp_path / "hello.wav", "hello there"))
    at_8k = said[::3]  # "hello there" is speech well below 4 kHz
    encoded = (g711.ulaw_encode if kind == "audio/pcmu" else g711.alaw_encode)(at_8k)
    g711_format = {"type": kind}
    audio = {"input": {"format": g711_format, "turn_detection": None, "transcription": {"model": "whisper-1"}}}
    audio["output"] = {"format": g711_format}
    session.send({"type": "session.update", "session": {"type": "realtime", "audio": audio}})
    assert session.wait_for("session.updated")["session"]["audio"]["output"]["format"] == g711_format
    for i in range(0, len(encoded), 800):  # 100 ms at 8 kHz, one byte a sample
        session.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(encoded[i : i + 800]).decode()})
    session.send({"type": "input_audio_buffer.commit"})
    assert "hello there" in session.wait_for("conversation.item.input_audio_transcription.completed")["transcript"]

    session.send({"type": "response.create", "response": {"max_output_tokens": 6}})
    done = session.wait_for("response.done")["response"]
    assert done["audio"]["output"]["format"] == g711_format
    deltas = [base64.b64decode(e["delta"]) for e in session.of_type("response.output_audio.delta")]
    assert {len(d) for d in deltas[:-1]} == {800}  # 100 ms a delta
    reply = decode(b"".join(deltas))
    expected = speech(done["output"][0]["content"][0]["transcript"]).duration_s
    assert abs(len(reply) / g711.RATE - expected) < 0.2 * expected
    assert np.sqrt(np.mean(reply.astype(np.float64) ** 2)) > 300


def test_g711_matches_the_reference_codec_on_every_sample():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # the C reference (in the standard library up to Python 3.12; the project is on 3.11)
    samples = np.arange(-32768, 32768, dtype=np.int16)
    every_byte = bytes(range(256))
    assert g711.ulaw_encode(samples) == audioop.lin2ulaw(samples.tobytes(), 2)
    assert g711.alaw_encode(samples) == audioop.lin2alaw(samples.tobytes(), 2)
    assert g711.ulaw_decode(every_byte).tobytes() == audioop.ulaw2lin(every_byte, 2)
    assert g711.alaw_decode(every_byte).tobytes() == audioop.alaw2lin(every_byte, 2)


# -- faults ----------------------------------------------------------------------------------


def test_faults_apply_to_websocket_sessions(emu, client):
    emu.faults = Faults(malformed_event=True, silent_audio=True, session_expired_after_s=2.5, slow_response_s=0.5)
    try:
        opened = Session(client)
    finally:
        emu.faults = Faults()
    try:
        user_turn(opened, "Hello!")
        opened.send({"type": "response.create", "response": {"max_output_tokens": 4}})  # done before it expires
        done = opened.wait_for("response.done")["response"]
        expired = opened.wait_for("error", timeout=5)
        opened._reader.join(5)
    finally:
        opened.close()
    assert opened.not_json == ["{this is not JSON (injected fault)"]
    arrived = dict(zip(opened.types(), opened.arrived, strict=True))  # the last of each type
    assert arrived["response.output_item.added"] - arrived["response.created"] >= 0.45  # slow_response_s
    assert not decoded_audio(opened, done["id"]).any()  # silence, yet every event says audio
    assert expired["error"]["code"] == "session_expired"
    assert opened.closed is not None
    assert opened.closed.rcvd is not None
    assert opened.closed.rcvd.code == 1001
    assert_conforms(opened)


def test_the_socket_closes_mid_response_with_that_fault(emu, client):
    emu.faults = Faults(close_channel_mid_response=True)
    try:
        opened = Session(client)
    finally:
        emu.faults = Faults()
    try:
        opened.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        opened._reader.join(10)
    finally:
        opened.close()
    assert opened.closed is not None
    assert [t for t in opened.types() if t.endswith(".delta")] == ["response.output_text.delta"]
    assert "response.done" not in opened.types()


# -- the Azure form and browser-style auth --------------------------------------------------


def test_azure_form_with_api_key_header(emu):
    url = f"ws://127.0.0.1:{emu.port}/openai/v1/realtime?model=my-deployment"
    with connect(url, additional_headers={"api-key": emu.api_key}) as ws:
        created = json.loads(ws.recv(timeout=10))
        assert created["type"] == "session.created"
        assert created["session"]["model"] == "my-deployment"
    with pytest.raises(InvalidStatus) as info:
        connect(url, additional_headers={"api-key": "wrong"}).close()
    assert info.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as info:
        connect(url + "&api-version=2025-04-01-preview", additional_headers={"api-key": emu.api_key}).close()
    assert info.value.response.status_code == 400
    assert "api-version" in json.loads(info.value.response.body)["error"]["message"]


def test_browser_subprotocol_and_ephemeral_keys(emu, client):
    url = emu.base_url.replace("http", "ws") + "/realtime?model=gpt-realtime"
    protocols = ["realtime", f"openai-insecure-api-key.{emu.api_key}"]
    with connect(url, subprotocols=protocols) as ws:
        assert ws.subprotocol == "realtime"
        assert json.loads(ws.recv(timeout=10))["type"] == "session.created"
    secret = client.realtime.client_secrets.create(session={"type": "realtime", "instructions": "Be brief."})
    with connect(url, additional_headers={"Authorization": f"Bearer {secret.value}"}) as ws:
        assert json.loads(ws.recv(timeout=10))["session"]["instructions"] == "Be brief."


# -- 4. bad input ----------------------------------------------------------------------------


def handshake_error(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    with pytest.raises(InvalidStatus) as info:
        connect(url, additional_headers=headers or {}).close()
    return info.value.response.status_code, json.loads(info.value.response.body)["error"]


def test_a_bad_key_is_a_401_at_the_handshake(emu):
    with pytest.raises(InvalidStatus) as info:
        openai.OpenAI(base_url=emu.base_url, api_key="sk-wrong").realtime.connect(model="gpt-realtime").enter()
    assert info.value.response.status_code == 401
    body = info.value.response.body.decode()
    assert json.loads(body)["error"]["code"] == "invalid_api_key"
    assert "sk-wrong" not in body
    assert emu.api_key not in body
    status, error = handshake_error(emu.base_url.replace("http", "ws") + "/realtime?model=gpt-realtime")
    assert (status, error["code"]) == (401, "invalid_api_key")


def test_unknown_or_missing_models_are_refused_at_the_handshake(emu, client):
    with pytest.raises(InvalidStatus) as info:
        client.realtime.connect(model="gpt-4o").enter()
    assert info.value.response.status_code == 404
    error = json.loads(info.value.response.body)["error"]
    assert (error["code"], error["param"]) == ("model_not_found", "model")
    assert "'gpt-4o'" in error["message"]
    assert "gpt-realtime" in error["message"]
    auth = {"Authorization": f"Bearer {emu.api_key}"}
    status, error = handshake_error(emu.base_url.replace("http", "ws") + "/realtime", auth)
    assert (status, error["code"], error["param"]) == (400, "missing_required_parameter", "model")


def test_a_plain_get_is_a_400_in_error_json(emu):
    auth = {"Authorization": f"Bearer {emu.api_key}"}
    response = httpx.get(f"{emu.base_url}/realtime?model=gpt-realtime", headers=auth, timeout=10)
    assert response.status_code == 400
    assert "WebSocket" in response.json()["error"]["message"]


def test_bad_frames_get_error_events_and_the_session_goes_on(session):
    session.send_raw("this is not JSON")
    session.send({"type": "input_audio_buffer.append", "audio": "not base64!", "event_id": "bad_append"})
    session.send({"type": "output_audio_buffer.clear", "event_id": "webrtc_only"})
    errors = [session.wait_for("error")]
    deadline = time.monotonic() + 10
    while len(session.of_type("error")) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    errors = session.of_type("error")
    assert [e["error"]["code"] for e in errors] == ["invalid_json", "invalid_value", "invalid_value"]
    assert errors[1]["error"]["param"] == "audio"
    assert errors[1]["error"]["event_id"] == "bad_append"
    assert errors[2]["error"]["event_id"] == "webrtc_only"
    assert "conversation.item.truncate" in errors[2]["error"]["message"]
    session.send({"type": "session.update", "session": {"type": "realtime", "instructions": "Still here."}})
    assert session.wait_for("session.updated")["session"]["instructions"] == "Still here."
