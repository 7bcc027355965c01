"""The emulator's GPT-Live side over real HTTP, WebRTC and WebSocket, and the openai SDK's Live clients.

Every Live server event seen here, on the data channel or a sideband, goes through
:func:`assert_live_event`: it must parse as the SDK's ``ConnectServerEvent`` with no field the
SDK does not know (its models accept unknown fields, so extras are looked for recursively), and
a ``response.event``'s nested event as the SDK's Responses stream event, with the same rule.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from openai.types.live.connect_server_event import ConnectServerEvent
from openai.types.live.live_create_response import LiveCreateResponse
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from rt_widget import Emulator
from rt_widget.emulator import _loopback
from rt_widget.emulator.live import session as live_session
from rt_widget.peer.clips import Clip
from rt_widget.peer.microphone import Microphone
from tests.conformance import unknown_fields
from tests.rtc_client import RtcClient
from tests.samples import speech

_SERVER = TypeAdapter(ConnectServerEvent)
_NESTED = TypeAdapter(ResponseStreamEvent)
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def assert_live_event(event: dict[str, Any]) -> None:
    """``event`` is a Live server event of the SDK, with no unknown field at any depth."""
    model = _SERVER.validate_python(event)
    assert type(model).__name__ != "dict", event
    extras = unknown_fields(model, event["type"])
    assert not extras, f"fields unknown to the openai SDK: {extras} in {event}"
    if event["type"] == "response.event":
        nested = _NESTED.validate_python(event["event"])
        extras = unknown_fields(nested, f"response.event.{event['event']['type']}")
        assert not extras, f"fields unknown to the openai SDK: {extras} in {event}"


class LiveClient(RtcClient):
    """The test WebRTC client with a microphone: it offers send-receive audio, as a browser does."""

    async def _setup(self) -> None:
        _loopback.restrict_current_thread()
        self.mic = Microphone()
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._pc.addTrack(self.mic)
        channel = self._pc.createDataChannel("oai-events")
        channel.on("message", self._on_message)
        channel.on("close", self.channel_closed.set)
        self._channel = channel
        self._pc.on("track", lambda track: asyncio.ensure_future(self._record(track)))

    def say(self, text: str) -> None:
        """Speak ``text`` into the microphone (offline TTS), then a second of silence."""
        said = speech(text)
        self.mic.play(Clip.from_array(said.samples, said.rate))
        self.mic.play(Clip.silence(1.0))

    def hang_up(self) -> None:
        """Close the peer connection, as a browser tab does when it closes."""
        assert self._pc is not None
        self._loop.run(self._pc.close(), timeout=10)

    def all_of(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in list(self.events) if e.get("type") == type_]

    def wait_until(self, check: Any, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout} s; saw {[e.get('type') for e in self.events]}")
            time.sleep(0.05)

    def conforms(self) -> int:
        for event in list(self.events):
            assert_live_event(event)
        return len(self.events)


def headers(emu: Emulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.api_key}"}


def create(emu: Emulator, sdp: str, session: dict[str, Any] | None = None) -> httpx.Response:
    body = {"session": session or {"model": "gpt-live-1"}, "transport": {"type": "webrtc", "sdp": sdp}}
    return httpx.post(f"{emu.base_url}/live/sessions", json=body, headers=headers(emu), timeout=30)


def start(emu: Emulator, client: LiveClient, session: dict[str, Any] | None = None) -> str:
    response = create(emu, client.offer(), session)
    assert response.status_code == 201, response.text
    client.accept(response.json()["transport"]["sdp"])
    client.wait_for("session.started")
    return str(response.json()["session"]["id"])


def running(emu: Emulator, session_id: str) -> bool:
    try:
        emu.call(session_id)
    except KeyError:
        return False
    return True


def text_of(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events)


class Sideband:
    """The openai SDK's sync sideband client, read on a thread until the session closes."""

    def __init__(self, emu: Emulator, session_id: str) -> None:
        client = openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key)
        self.connection = client.live.sideband.connect(session_id=session_id, graceful_close=True).enter()
        self.events: list[dict[str, Any]] = []
        self.parsed: list[Any] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                raw = self.connection.recv_bytes()
                self.parsed.append(self.connection.parse_event(raw))
                self.events.append(json.loads(raw))
        except Exception:  # the socket closed: the session ended
            return

    def wait_for(self, type_: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in list(self.events) if e["type"] == type_]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no {type_!r} on the sideband; saw {[e['type'] for e in self.events]}")

    def ended(self, timeout: float = 10) -> bool:
        self._reader.join(timeout)
        return not self._reader.is_alive()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def client() -> Iterator[LiveClient]:
    rtc = LiveClient()
    yield rtc
    rtc.close()


@pytest.fixture
def fast_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_session, "USAGE_INTERVAL_S", 0.5)


# -- create and start --------------------------------------------------------------------------


def test_create_answers_201_with_the_sdk_body_and_starts_the_session(emu, client):
    permissions = {"data_channel": {"allowed_client_events": "all"}}
    session = {"model": "gpt-live-1.1", "instructions": "Be brief.", "store": True, "client": permissions}
    response = create(emu, client.offer(), session)

    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/json")
    body = LiveCreateResponse.model_validate(response.json())
    assert not unknown_fields(body, "create")
    assert body.session.id.startswith("live_")
    assert body.transport.type == "webrtc"
    assert body.transport.sdp.startswith("v=0")
    assert "a=candidate:" in body.transport.sdp
    client.accept(body.transport.sdp)
    started = client.wait_for("session.started")["session"]
    assert started["id"] == body.session.id  # the session id is the call id
    assert started["model"] == "gpt-live-1.1"
    assert started["instructions"] == "Be brief."
    assert started["status"] == "active"
    assert started["audio"] == {"output": {"voice": "marin"}}  # the service's default voice
    assert started["delegation"]["type"] == "client"
    assert started["store"] is True
    assert started["expires_at"] > time.time()
    assert started["client"] == permissions
    assert client.wait_for("info")["code"] == "data_channel_permissions"
    assert client.conforms() == 2


def test_azure_form_with_api_key_header_creates_a_session(emu, client):
    body = {"session": {"model": "gpt-live-1"}, "transport": {"type": "webrtc", "sdp": client.offer()}}
    base = emu.base_url.removesuffix("/v1")
    response = httpx.post(f"{base}/openai/v1/live/sessions", json=body, headers={"api-key": emu.api_key}, timeout=30)
    assert response.status_code == 201, response.text
    client.accept(response.json()["transport"]["sdp"])
    assert client.wait_for("session.started")["session"]["id"] == response.json()["session"]["id"]


# -- a spoken turn, usage, the sideband, closing -----------------------------------------------


def test_spoken_turn_gives_fragments_and_a_spoken_reply_seen_by_the_sdk_sideband(emu, client, fast_usage):
    session_id = start(emu, client)
    sideband = Sideband(emu, session_id)
    assert sideband.wait_for("session.started")["session"]["id"] == session_id  # the replay on attach

    client.say("hello there")
    client.wait_until(lambda: "Hello!" in text_of(client.all_of("session.output_transcript.delta")))
    heard = client.all_of("session.input_transcript.delta")
    assert text_of(heard).strip(" .!").lower() == "hello there"
    first_reply = client.all_of("session.output_transcript.delta")[0]
    assert heard[0]["start_ms"] < heard[-1]["end_ms"] <= first_reply["start_ms"]
    assert all(e["start_ms"] < e["end_ms"] for e in heard)
    client.wait_until(lambda: text_of(client.all_of("session.output_transcript.delta")).endswith("today?"))
    spoken = client.all_of("session.output_transcript.delta")
    assert text_of(spoken).startswith("Hello! I am the local emulator")
    starts = [e["start_ms"] for e in spoken]
    assert starts == sorted(starts)
    assert spoken[-1]["end_ms"] - spoken[0]["start_ms"] > 1000
    assert client.peak_level() > 3000  # the reply is real speech on the audio track

    client.wait_until(lambda: len(client.all_of("session.usage.updated")) >= 2)
    usage = [e["usage"]["seconds"] for e in client.all_of("session.usage.updated")]
    assert usage == sorted(usage)
    assert usage[-1] >= 1
    client.send({"type": "session.close", "event_id": "evt_close"})
    closed = client.wait_for("session.closed")
    assert closed["reason"] == "close_requested"
    assert closed["client_event_id"] == "evt_close"
    assert closed["session"]["id"] == session_id
    assert closed["usage"]["seconds"] >= usage[-1]
    assert client.channel_closed.wait(10)  # then the call ends
    assert sideband.ended()
    client.conforms()
    channel = [e["event_id"] for e in client.events]
    seen = [e["event_id"] for e in sideband.events[1:]]  # after the replayed session.started
    assert channel[channel.index(seen[0]) :] == seen  # from its attach on, the same events in the same order
    assert sideband.events[-1]["type"] == "session.closed"
    for event in sideband.events:
        assert_live_event(event)
    assert [type(e).__name__ for e in sideband.parsed][-1] == "SessionClosedEvent"  # the SDK's own parse


def test_hanging_up_closes_the_session_for_the_sideband(emu, client):
    session_id = start(emu, client)
    sideband = Sideband(emu, session_id)
    sideband.wait_for("session.started")
    client.hang_up()  # the browser goes away
    closed = sideband.wait_for("session.closed")
    assert closed["reason"] == "remote_hangup"
    assert_live_event(closed)
    assert sideband.ended()


def test_rest_hangup_closes_with_close_requested(emu, client):
    session_id = start(emu, client)
    response = httpx.post(f"{emu.base_url}/live/sessions/{session_id}/hangup", headers=headers(emu), timeout=10)
    assert response.status_code == 200
    assert client.wait_for("session.closed")["reason"] == "close_requested"
    assert client.channel_closed.wait(10)
    client.conforms()
    client.wait_until(lambda: not running(emu, session_id), timeout=5)
    again = httpx.post(f"{emu.base_url}/live/sessions/{session_id}/hangup", headers=headers(emu), timeout=10)
    assert again.status_code == 404  # the session is gone


def test_speech_during_a_reply_cuts_it_off(emu, client):
    speech("hello there")  # synthesized now (in a subprocess), so the user speaks when told to
    start(emu, client)
    long = "One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen."
    client.send({"type": "session.commentary.append", "content": long, "delegation_id": None})
    client.wait_until(lambda: len(client.all_of("session.output_transcript.delta")) >= 2)
    client.say("hello there")  # the user talks over the model
    client.wait_until(lambda: "today?" in text_of(client.all_of("session.output_transcript.delta")), timeout=30)
    spoken = client.all_of("session.output_transcript.delta")
    said = text_of(spoken)
    assert said.startswith("One two")
    assert "sixteen" not in said
    heard = client.all_of("session.input_transcript.delta")
    assert text_of(heard).strip(" .!").lower() == "hello there"
    reply = next(i for i, e in enumerate(spoken) if e["delta"].startswith("Hello!"))
    # The commentary stopped as the user began to speak (the detector needs 0.2 s of speech and
    # the audio some latency), not only when the reply, 1.5 s after the speech, replaced it.
    assert spoken[reply - 1]["start_ms"] < heard[0]["start_ms"] + 1000 < spoken[reply]["start_ms"]
    client.conforms()


def test_a_muted_microphone_is_not_heard(emu, client):
    start(emu, client)
    client.send({"type": "session.input_audio.mute", "event_id": "mute"})
    assert client.wait_for("session.input_audio.muted")["client_event_id"] == "mute"
    client.say("hello there")
    time.sleep(speech("hello there").duration_s + 2.5)
    assert not client.all_of("session.input_transcript.delta")
    assert not client.all_of("session.output_transcript.delta")
    client.send({"type": "session.input_audio.unmute"})
    client.wait_for("session.input_audio.unmuted")
    client.say("hello there")
    client.wait_until(lambda: client.all_of("session.output_transcript.delta"), timeout=20)
    client.conforms()


# -- delegation to the Responses backend ---------------------------------------------------------


def test_delegated_turn_runs_a_function_call_round_trip(emu, client):
    backend = {"model": "gpt-5.5", "instructions": "Use the tools.", "tools": [WEATHER_TOOL], "tool_choice": "required"}
    start(emu, client, {"model": "gpt-live-1", "delegation": {"type": "responses", "responses": backend}})

    client.say("hello there")
    client.wait_until(lambda: any(e["event"]["type"] == "response.completed" for e in client.all_of("response.event")))
    created = client.wait_for("session.delegation.created")["delegation"]
    assert created["target"] == "responses"
    assert created["type"] == "delegation"
    nested = [e for e in client.all_of("response.event")]
    assert {e["delegation_id"] for e in nested} == {created["id"]}
    assert nested[0]["event"]["type"] == "response.created"
    assert nested[0]["event"]["response"]["id"] == created["response_id"]
    assert nested[0]["event"]["response"]["output"] == []  # lifecycle snapshots are slim
    done = [e["event"]["item"] for e in nested if e["event"]["type"] == "response.output_item.done"]
    assert [item["type"] for item in done] == ["function_call"]
    call = done[0]
    assert call["name"] == "get_weather"
    assert "city" in json.loads(call["arguments"])
    assert not client.all_of("session.output_transcript.delta")  # nothing is said until the tool's result

    output = {"type": "function_call_output", "call_id": call["call_id"], "output": '{"sky": "sunny and 21 C"}'}
    client.send({"type": "response.item.create", "item": output})
    client.send({"type": "response.create", "event_id": "evt_go"})
    client.wait_until(lambda: "sunny and 21 C" in text_of(client.all_of("session.output_transcript.delta")))
    said = text_of(client.all_of("session.output_transcript.delta"))
    assert said.startswith("The get_weather tool says")
    continued = [e for e in client.all_of("response.event") if e.get("client_event_id") == "evt_go"]
    assert continued
    assert {e["delegation_id"] for e in continued} == {created["id"]}
    texts = [e["event"]["text"] for e in continued if e["event"]["type"] == "response.output_text.done"]
    assert texts == [said]  # the backend's text is what the voice says
    completed = next(e["event"] for e in continued if e["event"]["type"] == "response.completed")
    assert completed["response"]["usage"]["total_tokens"] > 0
    assert len(client.all_of("session.delegation.created")) == 1
    client.conforms()


# -- commands ---------------------------------------------------------------------------------------


def test_commands_are_acknowledged_and_mistakes_are_errors(emu, client):
    responses = {"model": "gpt-5.5", "tools": [WEATHER_TOOL]}
    session = {"model": "gpt-live-1", "delegation": {"type": "responses", "responses": responses}}
    start(emu, client, session)
    trigger = {
        "type": "decisions",
        "event_type": "session.input_transcript.delta",
        "decisions": {"questions": [{"type": "predicate", "instructions": "Is the user angry?"}]},
    }
    commands = [
        {"type": "session.input_audio.mute", "event_id": "c1"},
        {"type": "session.input_audio.unmute", "event_id": "c2"},
        {"type": "session.instructions.append", "content": "Be kind.", "delegation_id": None, "event_id": "c3"},
        {"type": "session.thinking.append", "content": "The user is new.", "delegation_id": None, "event_id": "c4"},
        {
            "type": "session.update",
            "event_id": "c5",
            "session": {
                "delegation": {"type": "responses", "responses": {"instructions": "Be terse."}},
                "triggers": [trigger],
            },
        },
        {"type": "session.update", "event_id": "c6", "session": {"delegation": {"type": "client"}}},
        {"type": "session.commentary.append", "content": "x" * 4000, "delegation_id": None, "event_id": "c7"},
        {"type": "session.commentary.append", "content": "Hi", "event_id": "c8"},
        {"type": "session.start", "session": {"model": "gpt-live-1"}, "event_id": "c9"},
        {"type": "response.create", "event_id": "c10", "extra": 1},
        {"type": "session.thinking.append", "content": "x", "delegation_id": "dlg_nope", "event_id": "c11"},
        {"type": "decision.create", "event_id": "c12"},
    ]
    for command in commands:
        client.send(command)
    client.send_raw("{not json")
    client.wait_until(lambda: len(client.all_of("error")) >= 8)
    by_id = {e.get("client_event_id"): e for e in client.events}
    assert by_id["c1"]["type"] == "session.input_audio.muted"
    assert by_id["c2"]["type"] == "session.input_audio.unmuted"
    assert by_id["c3"]["type"] == "session.instructions.appended"
    assert by_id["c4"]["type"] == "session.thinking.appended"
    updated = by_id["c5"]
    assert updated["type"] == "session.updated"
    assert updated["session"]["delegation"]["responses"] == {**responses, "instructions": "Be terse."}  # merged
    assert updated["session"]["triggers"] == [trigger]
    errors = {key: by_id[key]["error"] for key in ("c6", "c7", "c8", "c9", "c10", "c11", "c12")}
    assert all(by_id[key]["type"] == "error" for key in errors)
    assert errors["c6"]["param"] == "session.delegation.type"
    assert errors["c7"]["code"] == "string_above_max_length"
    assert errors["c8"] == {
        "type": "invalid_request_error",
        "code": "missing_required_parameter",
        "message": "Missing required parameter: 'delegation_id'.",
        "param": "delegation_id",
        "client_event_id": "c8",
    }
    assert "primary WebSocket" in errors["c9"]["message"]
    assert errors["c10"]["code"] == "unknown_parameter"
    assert errors["c10"]["param"] == "extra"
    assert errors["c11"]["param"] == "delegation_id"
    assert "Decisions" in errors["c12"]["message"]
    assert any(e["type"] == "error" and e["error"]["code"] == "invalid_json" for e in client.events)
    client.conforms()


def test_data_channel_permissions_limit_the_browser_not_the_sideband(emu, client):
    permissions = {"allowed_client_events": ["session.close"], "allowed_server_events": [{"type": "error"}]}
    session_id = start_quietly(emu, client, {"model": "gpt-live-1", "client": {"data_channel": permissions}})
    sideband = Sideband(emu, session_id)
    sideband.wait_for("session.started")
    client.send({"type": "session.input_audio.mute", "event_id": "m1"})
    error = client.wait_for("error")["error"]
    assert error["code"] == "event_not_allowed"
    assert error["client_event_id"] == "m1"
    sideband.connection.session.input_audio.mute(event_id="m2")
    muted = sideband.wait_for("session.input_audio.muted")
    assert muted["client_event_id"] == "m2"
    assert {e["type"] for e in client.events} == {"error"}  # the channel carries errors only
    sideband.connection.session.close()
    sideband.wait_for("session.closed")
    for event in [*client.events, *sideband.events]:
        assert_live_event(event)


def start_quietly(emu: Emulator, client: LiveClient, session: dict[str, Any]) -> str:
    """Start a session whose data channel may not carry ``session.started``."""
    response = create(emu, client.offer(), session)
    assert response.status_code == 201, response.text
    client.accept(response.json()["transport"]["sdp"])
    client.wait_until(lambda: client._channel is not None and client._channel.readyState == "open")
    time.sleep(0.3)
    return str(response.json()["session"]["id"])


def test_fixture_plays_through_the_call_audio(emu, client):
    start(emu, client)
    tone = (np.sin(np.arange(12_000) * 2 * np.pi * 440 / 24_000) * 12_000).astype("<i2")
    client.send({"type": "session.output_audio.fixture.play", "audio": base64.b64encode(tone.tobytes()).decode()})
    client.wait_for("session.output_audio.fixture.played", timeout=10)
    types = [e["type"] for e in client.events]
    assert types.index("session.output_audio.fixture.playing") < types.index("session.output_audio.fixture.played")
    assert client.peak_level() > 5000
    client.send({"type": "session.output_audio.fixture.play", "audio": "AAA"})
    assert client.wait_for("error")["error"]["param"] == "audio"
    client.conforms()


# -- the SDK's own Live client ---------------------------------------------------------------------


def test_sdk_live_create_with_a_real_offer_and_its_sideband(emu, client):
    sdk = openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key)
    created = sdk.live.create(session={"model": "gpt-live-1"}, transport={"type": "webrtc", "sdp": client.offer()})
    assert isinstance(created, LiveCreateResponse)
    client.accept(created.transport.sdp)
    assert client.wait_for("session.started")["session"]["id"] == created.session.id

    sideband = Sideband(emu, created.session.id)
    sideband.wait_for("session.started")
    sideband.connection.session.commentary.append(content="Hello from the sideband.", delegation_id=None)
    assert sideband.wait_for("session.commentary.appended")["start_ms"] >= 0
    client.wait_until(lambda: text_of(client.all_of("session.output_transcript.delta")).endswith("sideband."))
    sideband.connection.session.close(event_id="sb_close")
    assert client.wait_for("session.closed")["client_event_id"] == "sb_close"
    assert sideband.ended()
    assert "SessionClosedEvent" in [type(e).__name__ for e in sideband.parsed]
    client.conforms()
    for event in sideband.events:
        assert_live_event(event)


def test_sdk_errors_are_openai_errors(emu):
    sdk = openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.live.create(session={"model": "gpt-live-1", "voice": "marin"}, transport={"type": "webrtc", "sdp": "v=0"})
    assert bad.value.param == "session.voice"
    assert bad.value.code == "unknown_parameter"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=emu.base_url, api_key="sk-wrong", max_retries=0).live.create(
            session={"model": "gpt-live-1"}, transport={"type": "webrtc", "sdp": "v=0"}
        )


# -- bad requests --------------------------------------------------------------------------------


BAD_CREATES = [
    ({"transport": {"type": "webrtc", "sdp": "v=0\r\n"}}, "session", "missing_required_parameter"),
    ({"session": {"model": "gpt-live-1"}}, "transport", "missing_required_parameter"),
    ({"session": {}, "transport": {"type": "webrtc", "sdp": "v=0\r\n"}}, "session.model", None),
    ({"session": {"model": "gpt-realtime"}}, "session.model", "invalid_value"),
    ({"session": {"model": "gpt-live-1", "tools": []}}, "session.tools", "unknown_parameter"),
    ({"session": {"model": "gpt-live-1", "audio": {"output": {"voice": "nova"}}}}, "session.audio.output.voice", None),
    ({"session": {"model": "gpt-live-1", "audio": {"format": {"type": "audio/pcm"}}}}, "session.audio.format", None),
    ({"session": {"model": "gpt-live-1", "store": "yes"}}, "session.store", "invalid_type"),
    ({"session": {"model": "gpt-live-1", "idle_timeout_s": 0}}, "session.idle_timeout_s", None),
    ({"session": {"model": "gpt-live-1", "delegation": {"type": "agents"}}}, "session.delegation.type", None),
    ({"session": {"model": "gpt-live-1", "delegation": {"type": "responses"}}}, "session.delegation.responses", None),
    (
        {"session": {"model": "gpt-live-1", "delegation": {"type": "responses", "responses": {"tools": []}}}},
        "session.delegation.responses.model",
        None,
    ),
    (
        {
            "session": {
                "model": "gpt-live-1",
                "delegation": {"type": "responses", "responses": {"model": "m", "tools": [{"type": "function"}]}},
            }
        },
        "session.delegation.responses.tools[0].name",
        None,
    ),
    (
        {
            "session": {
                "model": "gpt-live-1",
                "delegation": {
                    "type": "responses",
                    "responses": {"model": "m", "tool_choice": {"type": "function", "name": "nope"}},
                },
            }
        },
        "session.delegation.responses.tool_choice.name",
        None,
    ),
    ({"session": {"model": "gpt-live-1", "input": [{"role": "system", "content": []}]}}, "session.input[0].role", None),
    (
        {"session": {"model": "gpt-live-1", "client": {"data_channel": {"allowed_client_events": ["session.nope"]}}}},
        "session.client.data_channel.allowed_client_events[0]",
        None,
    ),
    (
        {"session": {"model": "gpt-live-1", "triggers": [{"type": "decisions", "event_type": "x", "decisions": {}}]}},
        "session.triggers[0].event_type",
        None,
    ),
    ({"session": {"model": "gpt-live-1"}, "transport": {"type": "sip"}}, "transport.type", "invalid_value"),
    ({"session": {"model": "gpt-live-1"}, "transport": {"type": "webrtc"}}, "transport.sdp", None),
    ({"session": {"model": "gpt-live-1"}, "transport": {"type": "webrtc", "sdp": "hello"}}, "transport.sdp", None),
    ({"session": {"model": "gpt-live-1"}, "model": "gpt-live-1"}, "model", "unknown_parameter"),
]


@pytest.mark.parametrize(("body", "param", "code"), BAD_CREATES, ids=[case[1] for case in BAD_CREATES])
def test_bad_create_requests_are_400s_naming_the_field(emu, body, param, code):
    if "transport" not in body and param != "transport":
        body = {**body, "transport": {"type": "webrtc", "sdp": "v=0\r\n"}}
    response = httpx.post(f"{emu.base_url}/live/sessions", json=body, headers=headers(emu), timeout=10)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error
    if code is not None:
        assert error["code"] == code
    assert error["message"]


@pytest.mark.parametrize(
    ("request_headers", "content", "status"),
    [
        ({"Authorization": "Bearer sk-wrong"}, None, 401),
        ({}, None, 401),
        (None, "not json", 400),
        (None, "[1, 2]", 400),
    ],
)
def test_bad_keys_and_bodies(emu, request_headers, content, status):
    sent = headers(emu) if request_headers is None else request_headers
    body = content if content is not None else json.dumps({"session": {"model": "gpt-live-1"}})
    response = httpx.post(
        f"{emu.base_url}/live/sessions",
        content=body,
        headers={**sent, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert emu.api_key not in response.text
    if status == 401:
        assert error["code"] == "invalid_api_key"


def test_a_form_body_and_unknown_sessions_are_refused(emu):
    form = httpx.post(f"{emu.base_url}/live/sessions", data={"sdp": "v=0"}, headers=headers(emu), timeout=10)
    assert form.status_code == 400
    assert "application/json" in form.json()["error"]["message"]
    hangup = httpx.post(f"{emu.base_url}/live/sessions/live_nope/hangup", headers=headers(emu), timeout=10)
    assert hangup.status_code == 404
    assert hangup.json()["error"]["code"] == "session_not_found"
    attach = httpx.get(f"{emu.base_url}/live/sessions/live_nope/attach", headers=headers(emu), timeout=10)
    assert attach.status_code == 404
    unauthorized = httpx.get(f"{emu.base_url}/live/sessions/live_nope/attach", timeout=10)
    assert unauthorized.status_code == 401
