"""The GPT-Live protocol for one emulated WebRTC session, independent of HTTP.

A :class:`LiveSession` runs inside a :class:`~rt_widget.emulator.call.Call` in place of the
Realtime engine. Turns are server-driven: the call's microphone audio goes through the
emulator's speech detector (:class:`~rt_widget.emulator.listener.Listener`); each finished turn
is recognized offline and reported as ``session.input_transcript.delta`` fragments, one a word,
each stamped with its share of the turn's audio on the session timeline (they go out once the
turn is recognized, not while it is spoken). The model answers by voice, with
``session.output_transcript.delta`` fragments released as their words play and stamped the
same way. Speech during a reply cuts it off (barge-in); so does an audio fixture.

Who answers follows the session's delegation:

- ``client`` (the default) and ``decisions``: the voice model answers each turn itself with
  the emulator's model and the Live instructions (the emulator creates no client delegations:
  it needs no help to answer).
- ``responses``: every turn is delegated to the Responses backend (``session.delegation.created``
  then the backend's stream in ``response.event`` envelopes; see :mod:`.backend`). A function
  call waits for the client's ``function_call_output`` items and one ``response.create``; the
  backend's text is then spoken.

``session.usage.updated`` goes out every :data:`USAGE_INTERVAL_S`; ``session.closed`` ends
every session, whether the client closed it or hung up.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .. import asr_worker, tts
from ..ids import new_id
from ..listener import Listener
from ..model import Context, Model, scripted_model
from ..speaker import Speaker, Utterance
from ..transcription import INPUT_RATE
from ..validation import ProtocolError, decode_event
from . import backend
from .resource import DEFAULT_VOICE, apply_update
from .validation import check_append, validate_client_event

logger = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]

USAGE_INTERVAL_S = 60.0
"""How often ``session.usage.updated`` goes out (about once a minute, as the service does).
Read when a session starts, so tests may patch it."""
CLOSE_GRACE_S = 0.3
"""After ``session.closed``, the call stays up this long so the event reaches the client."""
MAX_FIXTURE_S = 30.0
FIXTURE_RATE = 24_000
SERVER_VAD = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "create_response": True,
    "interrupt_response": True,
}
"""How the emulator's voice model hears turns (GPT-Live has no turn settings)."""


class LiveSession:
    """One GPT-Live session: its client commands, turns, voice and backend.

    Parameters
    ----------
    resource:
        The resolved ``SessionResource`` (see :func:`.resource.resolve`).
    emit:
        Sends one server event to the data channel and every sideband (adds ``event_id``).
    speaker:
        The call's outgoing audio track.
    hang_up:
        Ends the call (after ``session.closed`` has gone out).
    model:
        The emulator's model function: the voice model's replies and the Responses backend.
    """

    def __init__(
        self,
        resource: dict[str, Any],
        emit: Emit,
        speaker: Speaker,
        hang_up: Callable[[], Awaitable[None]],
        model: Model = scripted_model,
    ) -> None:
        self.resource = resource
        self._emit = emit
        self._speaker = speaker
        self._hang_up = hang_up
        self._model = model
        self._loop = asyncio.get_running_loop()
        self._started_at: float | None = None
        self._audio_origin_ms: int | None = None  # session time of the first microphone frame
        self._closed = False
        self._muted = False
        self._fixture_until = 0.0
        self._items: list[dict[str, Any]] = list(_history(resource.get("input") or []))
        self._instructions: list[str] = []  # session.instructions.append, in order
        self._voice: asyncio.Task[None] | None = None
        self._backend_busy = False
        self._pending: set[str] = set()  # ids of the backend's function calls, until response.create
        self._answered: set[str] = set()
        self._open_delegation: str | None = None
        self._inbox: asyncio.Queue[tuple[str | bytes, bool]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ears = _Ears(self)
        self._listener = Listener(self._ears)  # _Ears offers the part of a Realtime engine it drives
        self._spawn(self._serve())

    # -- the call's side -------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether ``session.started`` has gone out (the data channel opened)."""
        return self._started_at is not None

    def start(self) -> None:
        """The data channel opened: the session starts (``session.started``)."""
        if self._started_at is not None:
            return
        self._started_at = self._loop.time()
        self.emit({"type": "session.started", "session": self.resource})
        if "client" in self.resource:
            allowed = self.resource["client"]["data_channel"]
            message = (
                f"Data channel permissions applied: client events {_rules(allowed.get('allowed_client_events'))}; "
                f"server events {_rules(allowed.get('allowed_server_events'))}."
            )
            self.emit({"type": "info", "code": "data_channel_permissions", "message": message})
        self._spawn(self._report_usage(USAGE_INTERVAL_S))
        self._spawn(self._expire(self.resource["expires_at"] - time.time()))

    def receive(self, message: str | bytes) -> None:
        """Queue one message from the data channel (subject to the session's permissions)."""
        self._inbox.put_nowait((message, False))

    def receive_trusted(self, message: str | bytes) -> None:
        """Queue one message from a sideband (trusted: no data-channel permissions apply)."""
        self._inbox.put_nowait((message, True))

    def hear(self, pcm: npt.NDArray[np.int16]) -> None:
        """One frame of the caller's microphone, mono 16-bit at 24 kHz."""
        if self._started_at is None or self._closed:
            return
        if self._audio_origin_ms is None:
            self._audio_origin_ms = self.now_ms() - int(len(pcm) / INPUT_RATE * 1000)
        if self._muted or self._loop.time() < self._fixture_until:
            pcm = np.zeros_like(pcm)  # muted: the model hears silence (and the session is still billed)
        self._listener.feed(pcm)

    def close(self, reason: str = "remote_hangup") -> None:
        """The call is ending: ``session.closed`` (unless already sent) and stop all work."""
        if not self._closed:
            self._finish(reason)
        self._listener.close()
        self._speaker.clear()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()

    async def expire(self) -> None:
        """The session reached its duration limit: ``session.closed`` with reason ``expired``."""
        await self.request_close(reason="expired")

    async def request_close(self, client_event_id: str | None = None, reason: str = "close_requested") -> None:
        """End the session from the server's side: ``session.closed``, then the call.

        For ``session.close``, a hang-up request, or the session's expiry (``reason="expired"``).
        """
        if self._closed:
            return
        self._finish(reason, client_event_id)
        await asyncio.sleep(CLOSE_GRACE_S)
        await self._hang_up()

    # -- events ------------------------------------------------------------------------------

    def now_ms(self) -> int:
        """Milliseconds since the session started (its timeline)."""
        return 0 if self._started_at is None else int((self._loop.time() - self._started_at) * 1000)

    def emit(self, event: dict[str, Any], client_event_id: str | None = None) -> None:
        """Send one server event, echoing the command's ``event_id`` when there is one.

        Nothing follows ``session.closed``: events of work still winding down are dropped.
        """
        if self._closed:
            return
        if client_event_id is not None:
            event = {**event, "client_event_id": client_event_id}
        self._emit(event)

    def error(self, exc: ProtocolError, client_event_id: str | None, *, type_: str = "invalid_request_error") -> None:
        """Send an ``error`` event for a command (the session goes on)."""
        error: dict[str, Any] = {"type": type_, "code": exc.code, "message": exc.message}
        if exc.param:
            error["param"] = exc.param
        if client_event_id is not None:
            error["client_event_id"] = client_event_id
        self.emit({"type": "error", "error": error}, client_event_id)

    def usage(self) -> dict[str, Any]:
        """The session's cumulative ``SessionUsage`` (whole seconds, never paused)."""
        seconds = self.now_ms() // 1000
        return {"seconds": seconds, "active_seconds": seconds, "paused_seconds": 0}

    def _finish(self, reason: str, client_event_id: str | None = None) -> None:
        event = {"type": "session.closed", "reason": reason, "session": self.resource, "usage": self.usage()}
        self.emit(event, client_event_id)
        self._closed = True
        self.barge_in()  # the voice stops with the session

    async def _expire(self, after_s: float) -> None:
        await asyncio.sleep(max(0.0, after_s))
        await self.expire()

    async def _report_usage(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            self.emit({"type": "session.usage.updated", "usage": self.usage()})

    # -- client commands -------------------------------------------------------------------

    async def _serve(self) -> None:
        while True:
            message, trusted = await self._inbox.get()
            await self._handle(message, trusted)

    async def _handle(self, message: str | bytes, trusted: bool) -> None:
        if self._closed:
            return  # the session has ended: nothing answers any more
        event_id, type_ = None, None
        try:
            event = decode_event(message)
            if isinstance(event.get("event_id"), str):
                event_id = event["event_id"]
            type_ = validate_client_event(event)
            if not trusted:
                self._check_permitted(type_)
            await getattr(self, "_on_" + re.sub(r"[.]", "_", type_))(event, event_id)
        except ProtocolError as exc:
            self.error(exc, event_id)
        except Exception as exc:
            logger.warning("The emulator failed on a %r Live command: %s: %s", type_, type(exc).__name__, exc)
            logger.debug("Traceback of the failure", exc_info=True)
            msg = (
                f"The emulator failed to handle this {type_ or 'client'} event ({type(exc).__name__}). "
                "This is a bug in rt-widget's emulator; the session goes on."
            )
            self.error(ProtocolError("server_error", msg), event_id, type_="server_error")

    def _check_permitted(self, type_: str) -> None:
        allowed = self.resource.get("client", {}).get("data_channel", {}).get("allowed_client_events", "all")
        if allowed != "all" and type_ not in allowed:
            msg = (
                f"This session's client.data_channel.allowed_client_events does not let the data channel send "
                f"{type_!r}. Send it from the sideband, or allow it when creating the session."
            )
            raise ProtocolError("event_not_allowed", msg, "type")

    async def _on_session_update(self, event: dict[str, Any], event_id: str | None) -> None:
        self.resource = apply_update(self.resource, event["session"])
        self.emit({"type": "session.updated", "session": self.resource}, event_id)

    async def _on_session_input_audio_mute(self, event: dict[str, Any], event_id: str | None) -> None:
        self._muted = True
        self.emit({"type": "session.input_audio.muted"}, event_id)

    async def _on_session_input_audio_unmute(self, event: dict[str, Any], event_id: str | None) -> None:
        self._muted = False
        self.emit({"type": "session.input_audio.unmuted"}, event_id)

    async def _on_session_close(self, event: dict[str, Any], event_id: str | None) -> None:
        self._spawn(self.request_close(event_id))

    async def _on_session_instructions_append(self, event: dict[str, Any], event_id: str | None) -> None:
        self._check_append(event)
        self._instructions.append(event["content"])
        self._appended("session.instructions.appended", event_id)

    async def _on_session_thinking_append(self, event: dict[str, Any], event_id: str | None) -> None:
        self._check_append(event)
        self._items.append(_message("developer", event["content"]))
        self._appended("session.thinking.appended", event_id)

    async def _on_session_commentary_append(self, event: dict[str, Any], event_id: str | None) -> None:
        self._check_append(event)
        self._appended("session.commentary.appended", event_id)
        self._spawn(self._say(event["content"]))  # commentary is content to be spoken

    def _check_append(self, event: dict[str, Any]) -> None:
        if self._loop.time() < self._fixture_until:
            msg = (
                "An audio fixture is playing; append context once it has played (session.output_audio.fixture.played)."
            )
            raise ProtocolError("fixture_playing", msg)
        check_append(event["content"])
        delegation_id = event["delegation_id"]
        if delegation_id is None:
            return
        if self.resource["delegation"]["type"] == "responses":
            msg = "Under Responses delegation, appends take delegation_id null; the backend's work needs no reply."
            raise ProtocolError("invalid_value", msg, "delegation_id")
        msg = f"Unknown delegation_id {delegation_id[:80]!r}: no client delegation of this session has that id."
        raise ProtocolError("invalid_value", msg, "delegation_id")

    def _appended(self, type_: str, event_id: str | None) -> None:
        now = self.now_ms()
        self.emit({"type": type_, "start_ms": now, "end_ms": now}, event_id)

    async def _on_session_output_audio_fixture_play(self, event: dict[str, Any], event_id: str | None) -> None:
        try:
            pcm = base64.b64decode(event["audio"], validate=True)
        except binascii.Error:
            raise ProtocolError("invalid_audio", "Invalid 'audio': expected base64 PCM16 at 24 kHz.", "audio") from None
        seconds = len(pcm) / 2 / FIXTURE_RATE
        if len(pcm) % 2 or not pcm:
            msg = "Invalid 'audio': 16-bit PCM has an even, non-zero number of bytes."
            raise ProtocolError("invalid_audio", msg, "audio")
        if seconds > MAX_FIXTURE_S:
            msg = f"Invalid 'audio': {seconds:.1f} s of audio; a fixture is at most {MAX_FIXTURE_S:g} s."
            raise ProtocolError("invalid_audio", msg, "audio")
        self.barge_in()  # a fixture interrupts the model's speech
        duration = self._speaker.play(np.frombuffer(pcm, "<i2").astype(np.int16), FIXTURE_RATE)
        self._fixture_until = self._loop.time() + duration  # and mutes the input while it plays
        self.emit({"type": "session.output_audio.fixture.playing"}, event_id)
        self._spawn(self._fixture_played(duration, event_id))

    async def _fixture_played(self, duration: float, event_id: str | None) -> None:
        await asyncio.sleep(duration)
        self.emit({"type": "session.output_audio.fixture.played"}, event_id)

    async def _on_response_item_create(self, event: dict[str, Any], event_id: str | None) -> None:
        self._require_responses("response.item.create")
        item = event["item"]
        if item["type"] == "function_call_output":
            if item["call_id"] not in self._pending:
                pending = ", ".join(sorted(self._pending)) or "none"
                msg = f"No function call {item['call_id'][:64]!r} is waiting for output (waiting: {pending})."
                raise ProtocolError("invalid_value", msg, "item.call_id")
            self._answered.add(item["call_id"])
            self._items.append({"type": "function_call_output", "call_id": item["call_id"], "output": item["output"]})
        else:
            content = item["content"]
            text = content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)
            self._items.append(_message(item["role"], text))

    async def _on_response_create(self, event: dict[str, Any], event_id: str | None) -> None:
        self._require_responses("response.create")
        if self._backend_busy:
            msg = "The backend is already generating a response; send response.create after its response.completed."
            raise ProtocolError("conversation_already_has_active_response", msg)
        missing = sorted(self._pending - self._answered)
        if missing:
            msg = (
                f"No tool output found for function call {missing[0]}. Send a function_call_output item for every "
                "pending call with response.item.create, then one response.create."
            )
            raise ProtocolError("missing_tool_output", msg)
        delegation_id = self._open_delegation
        self._pending.clear()
        self._answered.clear()
        self._open_delegation = None
        self._spawn(self._delegate(delegation_id, event_id))

    def _require_responses(self, type_: str) -> None:
        target = self.resource["delegation"]["type"]
        if target != "responses":
            msg = (
                f"{type_} drives a Responses backend, and this session delegates to {target!r}. Create the session "
                "with delegation {'type': 'responses', ...}, or reply with session.commentary.append."
            )
            raise ProtocolError("invalid_request", msg, "type")

    async def _on_decision_create(self, event: dict[str, Any], event_id: str | None) -> None:
        raise _no_decisions(event["type"])

    async def _on_decision_item_create(self, event: dict[str, Any], event_id: str | None) -> None:
        raise _no_decisions(event["type"])

    async def _on_decision_item_delete(self, event: dict[str, Any], event_id: str | None) -> None:
        raise _no_decisions(event["type"])

    async def _on_transport_dtmf_send(self, event: dict[str, Any], event_id: str | None) -> None:
        msg = "transport.dtmf.send sends keypresses on a SIP call; this session is a WebRTC one."
        raise ProtocolError("invalid_request", msg, "type")

    # -- turns -------------------------------------------------------------------------------

    def user_turn(self, pcm: bytes, start_ms: int, end_ms: int) -> None:
        """A turn the speech detector closed: recognize it, then answer it."""
        origin = self._audio_origin_ms or 0
        self._spawn(self._answer(np.frombuffer(pcm, np.int16), origin + start_ms, origin + end_ms))

    def barge_in(self) -> None:
        """Stop speaking at once (the user spoke, or a fixture plays)."""
        if self._voice is not None:
            self._voice.cancel()
            self._voice = None
        self._speaker.clear()

    async def _answer(self, pcm: npt.NDArray[np.int16], start_ms: int, end_ms: int) -> None:
        text = await asr_worker.transcribe(pcm, INPUT_RATE, {"tools": self._backend_tools()})
        if not text or self._closed:
            return  # nothing intelligible: the model lets it pass
        words = re.findall(r"\S+\s*", text)
        for i, word in enumerate(words):  # the fragments share the turn's audio, word by word
            span = (end_ms - start_ms) / len(words)
            event = {"delta": word, "start_ms": int(start_ms + i * span), "end_ms": int(start_ms + (i + 1) * span)}
            self.emit({"type": "session.input_transcript.delta", **event})
        self._items.append(_message("user", text))
        if self.resource["delegation"]["type"] == "responses":
            await self._delegate(None, None)
            return
        instructions = " ".join(filter(None, [self.resource.get("instructions") or "", *self._instructions]))
        try:
            reply = self._model(Context(list(self._items), instructions, [], "none"))
        except Exception as exc:  # the user's model function: the turn goes unanswered
            logger.warning("The emulator's model failed on a Live turn: %s: %s", type(exc).__name__, exc)
            return
        if isinstance(reply, str):
            await self._say(reply)

    def _backend_tools(self) -> list[dict[str, Any]]:
        delegation = self.resource["delegation"]
        return list(delegation["responses"].get("tools") or []) if delegation["type"] == "responses" else []

    async def _delegate(self, delegation_id: str | None, client_event_id: str | None) -> None:
        """One backend response: a new delegation (``delegation_id`` None) or a continuation."""
        self._backend_busy = True
        try:
            settings = self.resource["delegation"]["responses"]
            turn = backend.respond(self._model, settings, list(self._items), " ".join(self._instructions))
            if delegation_id is None:
                delegation_id = new_id("delegation")
                delegation = {"id": delegation_id, "type": "delegation", "target": "responses"}
                created = {"delegation": {**delegation, "response_id": turn.response_id}, "offset_ms": self.now_ms()}
                self.emit({"type": "session.delegation.created", **created})
            for nested in turn.events:
                self.emit({"type": "response.event", "delegation_id": delegation_id, "event": nested}, client_event_id)
                await asyncio.sleep(0)  # a stream, not one burst
        finally:
            self._backend_busy = False
        if turn.item is not None:
            self._items.append(turn.item)
        if turn.call is not None:
            self._pending.add(turn.call["call_id"])
            self._open_delegation = delegation_id
        elif turn.text:
            await self._say(turn.text)  # the backend's text is spoken by the voice model

    async def _say(self, text: str) -> None:
        """Speak ``text``, replacing any speech in progress; returns once spoken or cut off."""
        voice = self.resource["audio"]["output"]["voice"]
        name = voice if isinstance(voice, str) else DEFAULT_VOICE
        speech = await tts.off_the_loop(self._synthesize, text, name)
        self.barge_in()
        task = asyncio.ensure_future(self._play(text, speech))
        self._voice = task
        await asyncio.wait([task])  # a barge-in cancels the speech, not the turn waiting on it

    def _synthesize(self, text: str, voice: str) -> Utterance:
        spoken = tts.speak(text, voice)
        return self._speaker.encode(spoken.samples, spoken.rate)

    async def _play(self, text: str, speech: Utterance) -> None:
        duration = self._speaker.play(speech)
        start_ms, start = self.now_ms(), self._loop.time()
        words = re.findall(r"\S+\s*", text)
        said = ""
        try:
            for i, word in enumerate(words):  # each word goes out as it starts playing
                await asyncio.sleep(max(0.0, start + duration * i / len(words) - self._loop.time()))
                span = duration * 1000 / len(words)
                stamps = {"start_ms": int(start_ms + i * span), "end_ms": int(start_ms + (i + 1) * span)}
                self.emit({"type": "session.output_transcript.delta", "delta": word, **stamps})
                said += word
        finally:
            if said:
                self._items.append(_message("assistant", said.strip()))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_report_failure)


class _Ears:
    """The part of a Realtime engine the :class:`Listener` uses, for a Live session.

    The listener reports a turn's start (barge-in) and end (with its audio); Live has no
    speech or commit events, so nothing of that goes on the wire.
    """

    session: ClassVar[dict[str, Any]] = {"audio": {"input": {"turn_detection": SERVER_VAD}}}
    responding = False  # the Live session answers each committed turn itself

    def __init__(self, live: LiveSession) -> None:
        self._live = live
        self._start_ms = 0
        self._end_ms = 0

    def emit(self, event: dict[str, Any]) -> None:
        if event["type"] == "input_audio_buffer.speech_started":
            self._start_ms = int(event["audio_start_ms"])
        elif event["type"] == "input_audio_buffer.speech_stopped":
            self._end_ms = int(event["audio_end_ms"])

    @staticmethod
    def new_item_id() -> str:
        return new_id("item")

    async def interrupt(self) -> None:
        self._live.barge_in()

    def append_input_audio(self, pcm: bytes) -> None:
        """Unused: Live turn detection is always on."""

    def commit_audio(self, pcm: bytes, item_id: str | None = None) -> dict[str, Any]:
        self._live.user_turn(pcm, self._start_ms, self._end_ms)
        return {}

    def start_response(self, params: dict[str, Any] | None = None) -> str:
        return ""


def _message(role: str, text: str) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def _history(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The startup ``input`` as the model's conversation items."""
    return [_message(item["role"], item["content"][0]["text"]) for item in items]


def _rules(rules: Any) -> str:
    if rules is None or rules == "all":
        return "all"
    names = [rule if isinstance(rule, str) else rule["type"] for rule in rules]
    return ", ".join(names) or "none"


def _no_decisions(type_: str) -> ProtocolError:
    msg = f"The emulator does not run the Decisions API, so {type_} has no effect here; test Decisions on the service."
    return ProtocolError("unsupported", msg, "type")


def _report_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("A Live session task failed", exc_info=task.exception())
