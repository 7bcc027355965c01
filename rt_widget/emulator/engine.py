"""The Realtime protocol (GA) for one session, independent of the transport.

The engine reads client events and emits server events in the orders the service uses
(reference/realtime-protocol.md section 4.6). Audio goes to a :class:`Speaker` when there is
one (WebRTC), or out as ``response.output_audio.delta`` events given :class:`AudioEvents`
(WebSocket); transcript deltas are paced to that audio.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._checks import clip
from . import tts
from .audio_events import CHUNK_MS, AudioEvents, duration_s
from .conversation import Conversation
from .ids import new_id
from .model import Context, FunctionCall, Model, Reply, scripted_model
from .session import merge
from .speaker import Speaker, Utterance
from .transcription import INPUT_RATE, Transcriber
from .usage import UsageMeter, text_tokens
from .validation import ProtocolError, check_tool_choice, decode_event, validate_client_event

Emit = Callable[[dict[str, Any]], None]
logger = logging.getLogger(__name__)

RATE_LIMIT_TOKENS = 40_000
# An uncommitted manual-turn buffer keeps the latest 5 minutes, not a whole session.
MAX_INPUT_BUFFER_BYTES = INPUT_RATE * 2 * 300


class Engine:
    """One session's state and behaviour.

    Parameters
    ----------
    session:
        The effective session (GA response shape); the engine keeps it up to date.
    emit:
        Sends one server event (the transport adds ``event_id``).
    speaker:
        Where spoken replies go: a WebRTC track (:class:`Speaker`, with the
        ``output_audio_buffer.*`` events), audio events (:class:`AudioEvents`, WebSocket), or
        ``None`` (no audio: replies are timed as if spoken).
    model:
        The reply function (see :mod:`rt_widget.emulator.model`).
    """

    def __init__(
        self,
        session: dict[str, Any],
        emit: Emit,
        speaker: Speaker | AudioEvents | None = None,
        model: Model = scripted_model,
        thinking_s: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.session = session
        self._emit = emit
        self._speaker = speaker
        self._model = model
        self._thinking_s = thinking_s  # read at each response, so it can change mid-call
        self.conversation_id = new_id("conv")
        self.conversation = Conversation()
        self._audio_ms: dict[str, float] = {}  # assistant item id -> spoken length
        self._user_audio_ms: dict[str, float] = {}  # user item id -> committed audio length
        self._transcriber = Transcriber(lambda: self.session, self._emit)
        self._cancel_reason = "client_cancelled"
        self._input_audio = bytearray()
        self._active: asyncio.Task[None] | None = None
        self._active_id: str | None = None
        self._stop_requests: dict[str, asyncio.Event] = {}  # response id -> cancel request
        self._stopped_after_done: str | None = None
        self._playing_id: str | None = None
        self._voice_locked = False
        self._meter = UsageMeter()
        if isinstance(speaker, Speaker):
            speaker.on_drained = self._on_drained

    # -- entry point ----------------------------------------------------------------------

    async def receive(self, text: str | bytes) -> None:
        """Handle one message from the client: a JSON client event.

        Whatever the message holds, the session carries on: a client mistake becomes the
        service's ``error`` event (``invalid_request_error``), and a failure inside the
        emulator a ``server_error`` one (logged).
        """
        event_id, type_ = None, None
        try:
            event = decode_event(text)
            if isinstance(event.get("event_id"), str):
                event_id = event["event_id"]
            validate_client_event(event, self.session["type"])
            type_ = event["type"]
            await getattr(self, "_on_" + type_.replace(".", "_"))(event)
        except ProtocolError as exc:
            self.error(exc.code, exc.message, exc.param, event_id)
        except Exception as exc:
            logger.warning("The emulator failed on a %r client event: %s: %s", type_, type(exc).__name__, exc)
            logger.debug("Traceback of the failure", exc_info=True)
            msg = (
                f"The emulator failed to handle this {type_ or 'client'} event ({type(exc).__name__}). "
                "This is a bug in rt-widget's emulator; the session goes on."
            )
            self.error("server_error", msg, None, event_id, type_="server_error")

    @property
    def items(self) -> list[dict[str, Any]]:
        """The conversation's items, in order."""
        return self.conversation.items

    def emit(self, event: dict[str, Any]) -> None:
        """Send one server event."""
        self._emit(event)

    @staticmethod
    def new_item_id() -> str:
        """A fresh conversation item id."""
        return new_id("item")

    def error(
        self,
        code: str,
        message: str,
        param: str | None = None,
        event_id: str | None = None,
        *,
        type_: str = "invalid_request_error",
    ) -> None:
        """Emit an ``error`` event (the session stays open)."""
        self._emit(
            {
                "type": "error",
                "error": {
                    "type": type_,
                    "code": code,
                    "message": message,
                    "param": param,
                    "event_id": event_id,
                },
            }
        )

    def close(self) -> None:
        """Stop any response and transcription in progress."""
        if self._active is not None:
            self._active.cancel()
        self._transcriber.close()

    # -- session ---------------------------------------------------------------------------

    async def _on_session_update(self, event: dict[str, Any]) -> None:
        update = dict(event["session"])
        if "model" in update and update["model"] != self.session["model"]:
            msg = "Cannot update a session's model. Start a new session to use another model."
            raise ProtocolError("invalid_value", msg, "session.model")
        audio = update.get("audio") or {}
        voice = (audio.get("output") or {}).get("voice")
        if voice is not None and voice != self._voice and self._voice_locked:
            msg = "Cannot update a session's voice after the model has responded with audio."
            raise ProtocolError("cannot_update_voice", msg, "session.audio.output.voice")
        input_config = audio.get("input") or {}
        merged = merge(self.session, update)
        check_tool_choice(merged["tool_choice"], merged["tools"], "session.tool_choice")
        self.session = merged
        for key in ("turn_detection", "transcription", "noise_reduction"):
            if key in input_config and input_config[key] is not None:
                # A new VAD type or transcription model replaces the old object outright.
                self.session["audio"]["input"][key] = input_config[key]
        for direction in ("input", "output"):
            new_format = (audio.get(direction) or {}).get("format")
            if new_format is not None:  # a G.711 format has no rate to keep from audio/pcm
                kind = new_format.get("type", self.session["audio"][direction]["format"]["type"])
                pcm = kind == "audio/pcm"
                self.session["audio"][direction]["format"] = {"type": kind, "rate": 24000} if pcm else {"type": kind}
        self._emit({"type": "session.updated", "session": self.session})

    @property
    def _voice(self) -> Any:
        return self.session["audio"]["output"]["voice"]

    # -- conversation items ----------------------------------------------------------------

    async def _on_conversation_item_create(self, event: dict[str, Any]) -> None:
        item = self.conversation.normalize(event["item"])
        self.conversation.insert(item, event.get("previous_item_id"))
        self._announce(item)

    async def _on_conversation_item_retrieve(self, event: dict[str, Any]) -> None:
        item = self.conversation.find(event, "item_id")
        self._emit({"type": "conversation.item.retrieved", "item": item})

    async def _on_conversation_item_delete(self, event: dict[str, Any]) -> None:
        item = self.conversation.find(event, "item_id")
        self.conversation.remove(item)
        self._emit({"type": "conversation.item.deleted", "item_id": item["id"]})

    async def _on_conversation_item_truncate(self, event: dict[str, Any]) -> None:
        item = self.conversation.find(event, "item_id")
        if item.get("role") != "assistant" or item["id"] not in self._audio_ms:
            msg = "Only assistant messages with audio can be truncated."
            raise ProtocolError("invalid_value", msg, "item_id")
        if event["content_index"] >= len(item["content"]):
            msg = f"Invalid 'content_index': {event['content_index']}. The item's audio is its content part 0."
            raise ProtocolError("invalid_value", msg, "content_index")
        end_ms, length = event["audio_end_ms"], self._audio_ms[item["id"]]
        if end_ms > length:
            msg = f"Audio content of {length:.0f}ms is already shorter than {end_ms}ms"
            raise ProtocolError("invalid_value", msg, "audio_end_ms")
        part = item["content"][0]
        kept = len(part.get("transcript") or "") * end_ms / length if length else 0
        part["transcript"] = (part.get("transcript") or "")[: int(kept)]
        self._audio_ms[item["id"]] = end_ms
        self._emit(
            {
                "type": "conversation.item.truncated",
                "item_id": item["id"],
                "content_index": event["content_index"],
                "audio_end_ms": end_ms,
            }
        )

    def _announce(self, item: dict[str, Any]) -> None:
        previous = self.conversation.previous_id(item)
        for type_ in ("conversation.item.added", "conversation.item.done"):
            self._emit({"type": type_, "previous_item_id": previous, "item": item})

    # -- input audio buffer (manual turns; the microphone's VAD feeds the same buffer) ----

    async def _on_input_audio_buffer_append(self, event: dict[str, Any]) -> None:
        try:
            pcm = base64.b64decode(event["audio"], validate=True)
        except binascii.Error:
            msg = "Invalid 'audio': expected base64-encoded 16-bit PCM."
            raise ProtocolError("invalid_value", msg, "audio") from None
        if isinstance(self._speaker, AudioEvents):
            pcm = self._speaker.decode(pcm, self.session["audio"]["input"]["format"])
            if self.session["audio"]["input"]["turn_detection"] is not None:
                self._speaker.hear(pcm)  # the transport's server VAD makes the turns
                return
        if len(self._input_audio) + len(pcm) > MAX_INPUT_BUFFER_BYTES:
            held = len(self._input_audio) / 2 / INPUT_RATE
            msg = (
                f"Error appending to the input audio buffer: it holds {held:.1f} s of audio and may hold at most "
                f"{MAX_INPUT_BUFFER_BYTES / 2 / INPUT_RATE:.0f} s. Commit it (input_audio_buffer.commit) or "
                "clear it (input_audio_buffer.clear) before appending more."
            )
            raise ProtocolError("input_audio_buffer_full", msg, "audio")
        self._input_audio += pcm

    async def _on_input_audio_buffer_commit(self, event: dict[str, Any]) -> None:
        ms = len(self._input_audio) / 2 / INPUT_RATE * 1000
        if ms < 100:
            msg = (
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"100ms of audio, but buffer only has {ms:.2f}ms of audio."
            )
            raise ProtocolError("input_audio_buffer_commit_empty", msg)
        self.commit_audio(bytes(self._input_audio))
        self._input_audio.clear()

    def append_input_audio(self, pcm: bytes) -> None:
        """Add microphone audio to the input buffer (manual turns), keeping the latest minutes."""
        self._input_audio += pcm
        excess = len(self._input_audio) - MAX_INPUT_BUFFER_BYTES
        if excess > 0:
            del self._input_audio[:excess]

    def commit_audio(self, pcm: bytes, item_id: str | None = None) -> dict[str, Any]:
        """Turn committed audio into a user item (``committed`` + ``added`` + ``done``)."""
        item: dict[str, Any] = {
            "id": item_id or new_id("item"),
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self.conversation.items.append(item)
        self._user_audio_ms[item["id"]] = len(pcm) / 2 / INPUT_RATE * 1000
        self._emit(
            {
                "type": "input_audio_buffer.committed",
                "item_id": item["id"],
                "previous_item_id": self.conversation.previous_id(item),
            }
        )
        self._announce(item)
        self._transcriber.start(item, pcm)
        return item

    async def interrupt(self) -> None:
        """Barge-in: cancel the reply in progress (``turn_detected``) and cut its audio."""
        if self._active is not None:
            await self.cancel_response("turn_detected")
        self.clear_output_audio()

    async def _on_input_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        self._input_audio.clear()
        self._emit({"type": "input_audio_buffer.cleared"})

    # -- responses -------------------------------------------------------------------------

    async def _on_response_create(self, event: dict[str, Any]) -> None:
        # Absent and null fields both mean "as the session says" (the SDK's types are optional).
        params = {k: v for k, v in (event.get("response") or {}).items() if v is not None}
        tools = params.get("tools", self.session["tools"])
        check_tool_choice(params.get("tool_choice", self.session["tool_choice"]), tools, "response.tool_choice")
        if "input" in params:
            params["input"] = self._input_items(params["input"])
        out_of_band = params.get("conversation") == "none"
        if self._active is not None and not out_of_band:
            msg = f"Conversation already has an active response in progress: {self._active_id}."
            raise ProtocolError("conversation_already_has_active_response", msg)
        self.start_response(params)

    def _input_items(self, refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``response.input`` as items: references resolved, new items in the stored shape."""
        items = []
        for i, ref in enumerate(refs):
            if ref["type"] != "item_reference":
                items.append(self.conversation.normalize(ref, stored=False))
                continue
            index = self.conversation.index(ref["id"])
            if index is None:
                msg = f"Item with item_id not found: {ref['id']}"
                raise ProtocolError("item_not_found", msg, f"response.input[{i}].id")
            items.append(self.items[index])
        return items

    def start_response(self, params: dict[str, Any] | None = None) -> str:
        """Begin a response (for ``response.create`` and for turns ended by the VAD)."""
        response_id = new_id("resp")
        self._stop_requests[response_id] = asyncio.Event()
        task = asyncio.ensure_future(self._respond(response_id, params or {}))
        task.add_done_callback(lambda _t: self._stop_requests.pop(response_id, None))
        task.add_done_callback(_report_failure)
        if (params or {}).get("conversation") != "none":
            self._active, self._active_id = task, response_id
            task.add_done_callback(lambda _t: self._finished(response_id))
        return response_id

    def _finished(self, response_id: str) -> None:
        if self._active_id == response_id:
            self._active, self._active_id = None, None

    @property
    def responding(self) -> bool:
        """Whether a response is in progress."""
        return self._active is not None

    async def _on_response_cancel(self, event: dict[str, Any]) -> None:
        wanted = event.get("response_id")
        if self._active is None or (wanted and wanted != self._active_id):
            msg = "Cancellation failed: no active response found"
            raise ProtocolError("response_cancel_not_active", msg)
        await self.cancel_response("client_cancelled")

    async def cancel_response(self, reason: str) -> None:
        """Cancel the active response; its ``response.done`` says ``cancelled``/``reason``."""
        task, response_id = self._active, self._active_id
        if task is None or response_id is None:
            return
        self._cancel_reason = reason
        self._stop_requests[response_id].set()
        await task

    async def _on_output_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        if isinstance(self._speaker, AudioEvents):
            msg = (
                "Invalid value: 'output_audio_buffer.clear'. It is for WebRTC and SIP sessions; over a "
                "WebSocket the client plays the audio: stop playback and send conversation.item.truncate."
            )
            raise ProtocolError("invalid_value", msg, "type")
        self.clear_output_audio()

    def clear_output_audio(self) -> None:
        """Cut the model's voice off and say so (``output_audio_buffer.cleared``)."""
        if isinstance(self._speaker, Speaker):
            self._speaker.clear()
        if self._playing_id is not None:
            playing, self._playing_id = self._playing_id, None
            self._emit({"type": "output_audio_buffer.cleared", "response_id": playing})

    def _speak(self, text: str, voice: str, speed: float) -> Utterance:
        """Speech for ``text``, ready for the speaker (runs in a worker thread)."""
        assert isinstance(self._speaker, Speaker)
        speech = tts.speak(text, voice, speed)
        return self._speaker.encode(speech.samples, speech.rate)

    def _speak_chunks(self, text: str, voice: str, speed: float, audio_format: dict[str, Any]) -> list[bytes]:
        """Speech for ``text`` in the chunks of its ``response.output_audio.delta`` events (worker thread)."""
        speech = tts.speak(text, voice, speed)
        return AudioEvents.encode(speech.samples, speech.rate, audio_format)

    def _on_drained(self) -> None:
        if self._playing_id is None:
            return
        if self._playing_id == self._active_id:
            self._stopped_after_done = self._playing_id  # never before its response.done
            return
        playing, self._playing_id = self._playing_id, None
        self._emit({"type": "output_audio_buffer.stopped", "response_id": playing})

    async def _pause(self, response_id: str, seconds: float) -> None:
        """Wait ``seconds``, or raise :class:`_Stopped` as soon as a cancel is requested."""
        request = self._stop_requests[response_id]
        if not request.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(request.wait(), seconds)
        if request.is_set():
            raise _Stopped

    async def _respond(self, response_id: str, params: dict[str, Any]) -> None:
        """One response, from ``response.created`` to ``response.done``, whatever happens between."""
        out_of_band = params.get("conversation") == "none"
        modalities = params.get("output_modalities") or self.session["output_modalities"]
        voice = ((params.get("audio") or {}).get("output") or {}).get("voice") or self._voice
        response: dict[str, Any] = {
            "id": response_id,
            "object": "realtime.response",
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "conversation_id": None if out_of_band else self.conversation_id,
            "output_modalities": modalities,
            "max_output_tokens": params.get("max_output_tokens", self.session["max_output_tokens"]),
            "audio": {"output": {"format": self.session["audio"]["output"]["format"], "voice": voice}},
            "usage": None,
            "metadata": params.get("metadata"),
        }
        self._emit({"type": "response.created", "response": dict(response)})
        turn = _Turn(params, out_of_band)
        status, details = "completed", None
        try:
            status, details = await self._produce(response_id, response, turn, voice)
        except _Stopped:
            status = "cancelled"
            details = {"type": "cancelled", "reason": self._cancel_reason}
            self._end_partial(response_id, turn)
        except Exception as exc:
            status, details = "failed", {"type": "failed", "error": self._failure(exc)}
            with contextlib.suppress(Exception):  # the response.done below must go out regardless
                self._end_partial(response_id, turn)
        if turn.item is not None:
            self._emit(
                {"type": "response.output_item.done", "response_id": response_id, "output_index": 0, "item": turn.item}
            )
            if not out_of_band and self.conversation.index(turn.item["id"]) is not None:
                self._emit(
                    {
                        "type": "conversation.item.done",
                        "previous_item_id": self.conversation.previous_id(turn.item),
                        "item": turn.item,
                    }
                )
        response.update(status=status, status_details=details, output=[turn.item] if turn.item else [])
        response["usage"] = self._meter.count(
            turn.context or Context([], "", []),
            turn.item,
            user_audio_ms=self._user_audio_ms,
            model_audio_ms=self._audio_ms,
        )
        self._emit({"type": "response.done", "response": response})
        self._emit(
            {
                "type": "rate_limits.updated",
                "rate_limits": [
                    {
                        "name": "tokens",
                        "limit": RATE_LIMIT_TOKENS,
                        "remaining": max(0, RATE_LIMIT_TOKENS - self._meter.used),
                        "reset_seconds": 60.0,
                    }
                ],
            }
        )
        if self._stopped_after_done == response_id:
            self._stopped_after_done = self._playing_id = None
            self._emit({"type": "output_audio_buffer.stopped", "response_id": response_id})

    async def _produce(
        self, response_id: str, response: dict[str, Any], turn: _Turn, voice: Any
    ) -> tuple[str, dict[str, Any] | None]:
        """Ask the model and stream its reply; returns the response's status and details."""
        await self._transcriber.settle()  # the scripted model understands speech through its transcript
        turn.context = context = self._context(turn.params)
        thinking_s = self._thinking_s()
        if thinking_s > 0:
            await self._pause(response_id, thinking_s)
        reply = self._ask_model(context)
        turn.item = item = self._output_item(reply)
        if not turn.out_of_band:
            self.conversation.items.append(item)
        self._emit(
            {
                "type": "response.output_item.added",
                "response_id": response_id,
                "output_index": 0,
                "item": _in_progress(item),
            }
        )
        if not turn.out_of_band:
            self._emit(
                {
                    "type": "conversation.item.added",
                    "previous_item_id": self.conversation.previous_id(item),
                    "item": _in_progress(item),
                }
            )
        await self._pause(response_id, 0)
        if isinstance(reply, FunctionCall):
            await self._stream_arguments(response_id, item)
            return "completed", None
        text, truncated = _limit(reply, response["max_output_tokens"])
        spoken_voice = voice if response["output_modalities"] == ["audio"] else None
        await self._stream_content(response_id, item, text, spoken_voice, turn.spoken)
        if truncated:
            return "incomplete", {"type": "incomplete", "reason": "max_output_tokens"}
        return "completed", None

    def _ask_model(self, context: Context) -> Reply:
        """The model's reply, checked: text, or a call of a tool this response offers."""
        name = getattr(self._model, "__qualname__", None) or repr(self._model)
        try:
            reply = self._model(context)
        except Exception as exc:
            raise _ModelFailed(
                f"The emulator's model raised {type(exc).__name__}: {clip(str(exc), 300)}", name
            ) from None
        if isinstance(reply, str):
            return reply
        if not isinstance(reply, FunctionCall):
            msg = f"The emulator's model returned {type(reply).__name__}; a model returns a str or a FunctionCall."
            raise _ModelFailed(msg, name)
        offered = [t.get("name") for t in context.tools if t.get("type") == "function"]
        if reply.name not in offered:
            listed = ", ".join(f"'{n}'" for n in offered) or "none"
            msg = (
                f"The emulator's model called the tool {reply.name!r}, which this response does not offer "
                f"(offered: {listed})."
            )
            raise _ModelFailed(msg, name)
        if not isinstance(reply.arguments, dict):
            kind = type(reply.arguments).__name__
            msg = f"The emulator's model gave {reply.name} arguments of type {kind}; use a dict."
            raise _ModelFailed(msg, name)
        try:
            json.dumps(reply.arguments, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            msg = f"The emulator's model gave {reply.name} arguments that are not JSON: {clip(str(exc), 300)}."
            raise _ModelFailed(msg, name) from None
        return reply

    def _failure(self, exc: Exception) -> dict[str, Any]:
        """The ``status_details.error`` of a failed response, logged for the developer."""
        if isinstance(exc, _ModelFailed):
            logger.warning("%s (model %s); the response failed.", exc.message, exc.model)
            return {"type": "server_error", "code": "model_error", "message": exc.message}
        logger.warning("The emulator failed during a response: %s: %s", type(exc).__name__, exc)
        logger.debug("Traceback of the failure", exc_info=True)
        msg = f"The emulator failed while generating this response ({type(exc).__name__}); this is a bug in rt-widget."
        return {"type": "server_error", "code": "server_error", "message": msg}

    def _end_partial(self, response_id: str, turn: _Turn) -> None:
        """Close the content of a reply that stopped part-way (cancelled or failed)."""
        if turn.item is not None and turn.item["type"] == "message":
            spoken = turn.spoken
            self._finish_content(response_id, turn.item, spoken.text, spoken.audio, "incomplete", spoken.ms)
        elif turn.item is not None:
            turn.item["status"] = "incomplete"

    def _context(self, params: dict[str, Any]) -> Context:
        items = params.get("input", self.items)  # resolved by _input_items
        return Context(
            items=[self._transcriber.as_heard(i) for i in items],
            instructions=params.get("instructions", self.session["instructions"]),
            tools=list(params.get("tools", self.session["tools"])),
            tool_choice=params.get("tool_choice", self.session["tool_choice"]),
        )

    def _output_item(self, reply: Reply) -> dict[str, Any]:
        if isinstance(reply, FunctionCall):
            return {
                "id": new_id("item"),
                "type": "function_call",
                "status": "completed",
                "name": reply.name,
                "call_id": new_id("call", 16),
                "arguments": json.dumps(reply.arguments),
            }
        return {"id": new_id("item"), "type": "message", "status": "completed", "role": "assistant", "content": []}

    async def _stream_arguments(self, response_id: str, item: dict[str, Any]) -> None:
        arguments = item["arguments"]
        common = {"response_id": response_id, "item_id": item["id"], "output_index": 0, "call_id": item["call_id"]}
        for chunk in _chunks(arguments, 8):
            self._emit({"type": "response.function_call_arguments.delta", **common, "delta": chunk})
            await self._pause(response_id, 0)
        self._emit(
            {"type": "response.function_call_arguments.done", **common, "name": item["name"], "arguments": arguments}
        )

    async def _stream_content(
        self,
        response_id: str,
        item: dict[str, Any],
        text: str,
        voice: Any,
        spoken: Spoken,
    ) -> None:
        audio = spoken.audio = voice is not None
        ids = {"response_id": response_id, "item_id": item["id"], "output_index": 0, "content_index": 0}
        part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        self._emit({"type": "response.content_part.added", **ids, "part": part})
        delta_type = "response.output_audio_transcript.delta" if audio else "response.output_text.delta"
        words = re.findall(r"\S+\s*", text)
        duration = 0.0
        chunks: list[bytes] = []  # the reply's audio, when it goes out in events
        audio_format = self.session["audio"]["output"]["format"]
        if audio and isinstance(self._speaker, Speaker):
            # In a thread: synthesis and encoding take tens of ms, which on this loop would hold
            # up every call's audio.
            speech = await tts.off_the_loop(
                self._speak,
                text,
                voice if isinstance(voice, str) else "alloy",
                float(self.session["audio"]["output"]["speed"]),
            )
            if self._playing_id is not None:  # a previous reply still playing is replaced
                self._speaker.clear()
            duration = self._speaker.play(speech)
            self._playing_id = response_id
            self._voice_locked = True
            self._emit({"type": "output_audio_buffer.started", "response_id": response_id})
        elif audio and isinstance(self._speaker, AudioEvents):
            chunks = await tts.off_the_loop(
                self._speak_chunks,
                text,
                voice if isinstance(voice, str) else "alloy",
                float(self.session["audio"]["output"]["speed"]),
                audio_format,
            )
            duration = duration_s(chunks, audio_format)
            self._voice_locked = True
        elif audio:
            duration = len(text) * 0.06  # no track (sideband): time as if spoken
            self._voice_locked = True
        loop = asyncio.get_running_loop()
        start = loop.time()
        # Each word's delta goes out as the word starts playing, each audio chunk as it is due
        # to play; like the service, the response is done before the last word has finished playing.
        timeline: list[tuple[float, int, str | bytes]] = [
            (duration * (index / max(1, len(words))), 1, word) for index, word in enumerate(words)
        ]
        timeline += [(n * CHUNK_MS / 1000, 0, chunk) for n, chunk in enumerate(chunks)]
        timeline.sort(key=lambda entry: entry[:2])  # stable: words keep their order
        for offset, _kind, word in timeline:
            await self._pause(response_id, max(0.0, start + offset - loop.time()))
            if isinstance(word, bytes):
                assert isinstance(self._speaker, AudioEvents)
                delta = self._speaker.payload(word, audio_format)
                self._emit({"type": "response.output_audio.delta", **ids, "delta": delta})
                continue
            self._emit({"type": delta_type, **ids, "delta": word})
            spoken.text += word
            spoken.ms = (loop.time() - start) * 1000 if audio else 0.0
        spoken.ms = duration * 1000
        self._finish_content(response_id, item, text, audio, "completed", spoken.ms)

    def _finish_content(
        self,
        response_id: str,
        item: dict[str, Any],
        text: str,
        audio: bool,
        status: str,
        audio_ms: float = 0.0,
    ) -> None:
        ids = {"response_id": response_id, "item_id": item["id"], "output_index": 0, "content_index": 0}
        if audio:
            self._emit({"type": "response.output_audio.done", **ids})
            self._emit({"type": "response.output_audio_transcript.done", **ids, "transcript": text})
            part = {"type": "audio", "transcript": text}
            item["content"] = [{"type": "output_audio", "transcript": text}]
            self._audio_ms[item["id"]] = audio_ms or self._audio_ms.get(item["id"], 0.0)
        else:
            self._emit({"type": "response.output_text.done", **ids, "text": text})
            part = {"type": "text", "text": text}
            item["content"] = [{"type": "output_text", "text": text}]
        self._emit({"type": "response.content_part.done", **ids, "part": part})
        item["status"] = status


class _Stopped(Exception):  # noqa: N818 - control flow, not an error
    """A response was asked to stop (``response.cancel`` or barge-in)."""


class _ModelFailed(Exception):  # noqa: N818 - named for what happened
    """The user's model raised, or replied with something that is not a reply."""

    def __init__(self, message: str, model: str) -> None:
        super().__init__(message)
        self.message = message
        self.model = model


@dataclass
class Spoken:
    """How much of a reply went out before it ended (for cancelled responses)."""

    text: str = ""
    ms: float = 0.0
    audio: bool = False


@dataclass
class _Turn:
    """What one response has produced so far."""

    params: dict[str, Any]
    out_of_band: bool
    context: Context | None = None
    item: dict[str, Any] | None = None
    spoken: Spoken = field(default_factory=Spoken)


def _in_progress(item: dict[str, Any]) -> dict[str, Any]:
    started = {**item, "status": "in_progress"}
    if item["type"] == "message":
        started["content"] = []
    else:
        started["arguments"] = ""
    return started


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _limit(text: str, max_tokens: Any) -> tuple[str, bool]:
    if max_tokens == "inf" or text_tokens(text) <= int(max_tokens):
        return text, False
    return text[: int(max_tokens) * 4], True


def _report_failure(task: asyncio.Task[None]) -> None:
    """Log a response task that failed outside its own guard (a bug: it must always end in response.done)."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("A response ended without response.done", exc_info=task.exception())
