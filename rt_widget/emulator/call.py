"""One emulated WebRTC call: the aiortc peer, the ``oai-events`` channel and its session."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from .._checks import finite, whole
from ..beta import event_to_ga, server_event_to_beta
from ..opus import OpusPackets, negotiated_opus
from ..rtp_decoding import decode_on_loop
from . import strict_json
from .engine import Engine
from .faults import SESSION_EXPIRED, Faults
from .ids import new_id
from .input_clock import InputClock
from .listener import Listener, to_mono_24k
from .model import Model, scripted_model
from .replay import Replay, ReplayPlayer
from .session import default_session, merge
from .speaker import Speaker
from .transcription import INPUT_RATE
from .validation import ProtocolError

logger = logging.getLogger("rt_widget.emulator")

CONNECT_TIMEOUT_S = 20.0
"""A call whose client has not completed ICE and DTLS within this time is closed (read at
each call's start, so tests may patch it)."""
EXPIRED_GRACE_S = 2.0
"""After its ``session_expired`` error, a call waits this long for the client to hang up."""
MAX_BURST_COUNT = 100_000
MAX_BURST_S = 60.0
_BURST_YIELD_EVERY = 100  # events sent back to back before letting other calls run


class SessionProtocol(Protocol):
    """A session protocol a call runs in place of the Realtime engine (GPT-Live: see :mod:`.live`)."""

    def start(self) -> None:
        """The data channel opened."""

    def receive(self, message: str | bytes) -> None:
        """One message from the data channel."""

    def hear(self, pcm: npt.NDArray[np.int16]) -> None:
        """One frame of the caller's microphone, mono 16-bit at 24 kHz."""

    def close(self) -> None:
        """The call is ending."""

    async def expire(self) -> None:
        """The session reached its duration limit (the ``session_expired`` fault): end it its own way."""


class CallSetupError(Exception):
    """The emulator could not set up a call (no socket, no ICE candidate): not the client's fault."""


def check_burst(count: Any, seconds: Any) -> None:
    """Validate :meth:`Call.burst` arguments; raise :class:`ProtocolError` naming the bad one."""
    if whole(count, 1, MAX_BURST_COUNT) is None:
        msg = f"Invalid 'count': expected an integer from 1 to {MAX_BURST_COUNT}, got {count!r}."
        raise ProtocolError("invalid_value", msg, "count")
    number = finite(seconds)
    if number is None or not 0 <= number <= MAX_BURST_S:
        msg = f"Invalid 'seconds': expected a number of seconds from 0 to {MAX_BURST_S:g}, got {seconds!r}."
        raise ProtocolError("invalid_value", msg, "seconds")


class Call:
    """A call created by ``POST /v1/realtime/calls``.

    Parameters
    ----------
    call_id:
        The ``rtc_...`` id returned in the ``Location`` header.
    session:
        The session config the call was created with (GA request shape), or ``None``.
    model:
        The reply function of the scripted model.
    beta:
        Speak the legacy beta shape (flat sessions, beta event names) instead of GA.
    event_filter:
        When set, only these event types reach the data channel (Azure's ``webrtcfilter=on``);
        sideband connections still get every event.
    faults:
        Faults to inject into this call (a copy: change ``call.faults`` to affect only it).
    replay:
        Answer by replaying this recording instead of running a session: its server events
        on their recorded timing and its model voice on the audio track (see
        :mod:`rt_widget.emulator.replay`). Client events are then ignored, ``session`` and
        ``model`` unused, and :attr:`engine` and :attr:`listener` are ``None``.
    protocol:
        Run the session this builds from the call instead of the Realtime engine (GPT-Live);
        ``session``, ``model`` and ``beta`` are then unused, and :attr:`engine` and
        :attr:`listener` are ``None``.
    """

    def __init__(
        self,
        call_id: str,
        session: dict[str, Any] | None = None,
        model: Model = scripted_model,
        *,
        beta: bool = False,
        event_filter: frozenset[str] | None = None,
        faults: Faults | None = None,
        replay: Replay | None = None,
        protocol: Callable[[Call], SessionProtocol] | None = None,
    ) -> None:
        self.call_id = call_id
        self.faults = Faults() if faults is None else dataclasses.replace(faults)
        self.beta = beta
        self.event_filter = event_filter
        self.listeners: set[Callable[[str], None]] = set()
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._channel: RTCDataChannel | None = None
        self._early: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = asyncio.Event()
        self.connected = asyncio.Event()
        self._pc.on("datachannel", self._on_datachannel)
        self._pc.on("track", self._on_track)
        self._pc.on("connectionstatechange", self._on_state)
        self.speaker = Speaker(silent=lambda: self.faults.silent_audio)
        self._pc.addTrack(self.speaker)
        self.input_clock = InputClock()
        """The caller's audio on its own clock: ``input_clock.began_at`` is when the input buffer's
        time 0 was, on the wall clock (what ``audio_start_ms`` counts from)."""
        self.engine: Engine | None = None
        self.listener: Listener | None = None
        self._player: ReplayPlayer | None = None
        self.protocol: SessionProtocol | None = None
        # Client events are handled one at a time, in arrival order.
        self._inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        if replay is not None:
            self._player = ReplayPlayer(replay, self._send_recorded, self.speaker)
        elif protocol is not None:
            self.protocol = protocol(self)
        else:
            base = default_session(str((session or {}).get("model") or "gpt-realtime"))
            self.engine = Engine(
                merge(base, session or {}), self.send, self.speaker, model, lambda: self.faults.slow_response_s
            )
            self.listener = Listener(self.engine)
            self._spawn(self._serve_inbox(self.engine))

    @property
    def connecting(self) -> bool:
        """Whether the call is open but its client has not connected (ICE and DTLS) yet."""
        return not self.connected.is_set() and not self.closed.is_set()

    async def answer(self, offer_sdp: str) -> str:
        """Apply the browser's offer and return the SDP answer (all candidates inline).

        On any failure the call is closed, so no peer connection outlives a refused offer.

        Raises
        ------
        ValueError
            The offer is not an SDP offer the call can answer (the message says why).
        CallSetupError
            The emulator could not open what the call needs (a socket, an ICE candidate).
        """
        try:
            if not offer_sdp.lstrip().startswith("v=0"):
                raise ValueError("an SDP offer starts with 'v=0'")
            await self._pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            await self._pc.setLocalDescription(await self._pc.createAnswer())
            answer = str(self._pc.localDescription.sdp)
            if negotiated_opus(answer):
                self.speaker.opus = OpusPackets()
            if self._player is not None:
                self._player.prepare()  # the codec is known: encode the first audio now
            if "a=candidate:" not in answer:
                msg = "The emulator found no network address to offer as an ICE candidate; bind it to 127.0.0.1."
                raise CallSetupError(msg)
        except CallSetupError:
            await self.close()
            raise
        except OSError as exc:
            await self.close()
            msg = f"The emulator could not open a socket for the call ({exc.strerror or exc}). Close other calls."
            raise CallSetupError(msg) from None
        except Exception as exc:  # aiortc fails on bad SDP with assertions, KeyErrors...
            await self.close()
            reason = str(exc) or f"it is incomplete or malformed ({type(exc).__name__} in aiortc)"
            raise ValueError(f"Invalid SDP offer: {reason[:300]}.") from None
        except BaseException:
            await self.close()  # cancelled: the offer is dropped, the call with it
            raise
        self._spawn(self._close_unless_connected())
        return answer

    def send(self, event: dict[str, Any]) -> None:
        """Send one server event (GA) to the data channel and the sideband listeners."""
        event = {"event_id": new_id("event"), **event}
        wire = server_event_to_beta(event) if self.beta else event
        if wire is None:
            return
        text = json.dumps(wire)
        if self.event_filter is None or wire["type"] in self.event_filter:
            if self._channel is None:
                self._early.append(text)  # a sideband can act before the browser's channel opens
            elif self._channel.readyState == "open" and self._transport_up():
                self._send_on_channel(text)
                if self.faults.close_channel_mid_response and wire["type"].endswith(".delta"):
                    self._channel.close()
        for listener in list(self.listeners):
            listener(text)

    def receive(self, message: str | bytes) -> None:
        """Queue one client event (from the data channel or a sideband connection).

        A replaying call ignores client events (hanging up still ends it).
        """
        if self.protocol is not None:
            self.protocol.receive(message)
            return
        if self.engine is None:
            logger.debug("Call %s replays a recording: a client message was ignored.", self.call_id)
            return
        if self.beta:
            # A message that does not parse or translate goes on as it is: the engine reports
            # what is wrong with it (however it fails here: deep nesting, odd shapes, bytes).
            with contextlib.suppress(Exception):
                message = json.dumps(event_to_ga(strict_json.loads(message)))
        self._inbox.put_nowait(message)

    async def burst(self, count: int, seconds: float = 1.0) -> None:
        """Send ``count`` ``rate_limits.updated`` events spread over ``seconds`` (load tests).

        ``remaining`` counts down from ``count - 1`` to 0, so a client can check the order.
        Other calls go on meanwhile, however short ``seconds`` is; a call that closes stops it.

        Raises
        ------
        ProtocolError
            ``count`` is not an integer from 1 to :data:`MAX_BURST_COUNT`, or ``seconds``
            not a number from 0 to :data:`MAX_BURST_S`.
        """
        check_burst(count, seconds)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(count):
            if self.closed.is_set():
                return
            delay = start + seconds * i / count - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif i % _BURST_YIELD_EVERY == 0:
                await asyncio.sleep(0)
            limits = {"name": "tokens", "limit": count, "remaining": count - 1 - i, "reset_seconds": 1.0}
            self.send({"type": "rate_limits.updated", "rate_limits": [limits]})

    async def close(self) -> None:
        """Hang up: close the peer connection and stop background work. Idempotent.

        Safe from the call's own tasks (the session-expired fault, the connect timeout): the
        task closing the call is not cancelled, so the peer connection always closes fully.
        """
        if self.closed.is_set():
            return
        self.closed.set()
        if self.protocol is not None:
            self.protocol.close()
        if self.engine is not None:
            self.engine.close()
        if self.listener is not None:
            self.listener.close()
        if self._player is not None:
            self._player.close()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        if self._channel is not None and self._transport_up():
            # A clean close the client sees at once. Once the peer has gone (DTLS closed) aiortc
            # would send the stream reset anyway and fail in a task nobody awaits.
            self._channel.close()
        await self._pc.close()
        self.speaker.stop()

    def _transport_up(self) -> bool:
        """Whether the DTLS transport under the data channel can still carry data."""
        sctp = self._pc.sctp
        return sctp is not None and sctp.transport.state == "connected"

    def _send_recorded(self, event: dict[str, Any]) -> None:
        """Send one replayed event: a beta call gets it in beta shape, whichever it was recorded in."""
        self.send(event_to_ga(event) if self.beta else event)

    def _send_on_channel(self, text: str) -> None:
        assert self._channel is not None
        try:
            self._channel.send(text)
        except ValueError as exc:  # larger than the peer's max-message-size
            logger.warning("Call %s: an event was not sent on the data channel: %s", self.call_id, exc)

    async def _close_unless_connected(self) -> None:
        """Close the call if its client does not connect within :data:`CONNECT_TIMEOUT_S`."""
        try:
            await asyncio.wait_for(self.connected.wait(), CONNECT_TIMEOUT_S)
        except TimeoutError:
            logger.info("Call %s closed: its client did not connect within %g s.", self.call_id, CONNECT_TIMEOUT_S)
            await self.close()

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        self._channel = channel
        channel.on("message", self.receive)
        # The channel is open once aiortc reports it; the service greets with session.created
        # (a replay with the recording's first event, which is its time 0).
        if self._player is not None:
            self._player.start()
        elif self.protocol is not None:
            self.protocol.start()
        elif self.engine is not None:
            self.send({"type": "session.created", "session": self.engine.session})
        if self.faults.malformed_event:
            channel.send("{this is not JSON (injected fault)")
        self._spawn(self._expire_when_due())
        for text in self._early:
            self._send_on_channel(text)
        self._early.clear()

    async def _serve_inbox(self, engine: Engine) -> None:
        while True:
            await engine.receive(await self._inbox.get())

    async def _expire_when_due(self) -> None:
        """End the call once the session_expired fault is due (it may be set at any time)."""
        opened = asyncio.get_running_loop().time()
        while True:
            after_s = self.faults.session_expired_after_s
            if after_s is not None and asyncio.get_running_loop().time() - opened >= after_s:
                break
            await asyncio.sleep(0.05)
        if self.protocol is not None:
            await self.protocol.expire()
            return
        error = {"type": "invalid_request_error", "code": "session_expired", "message": SESSION_EXPIRED}
        self.send({"type": "error", "error": {**error, "param": None, "event_id": None}})
        # A client that reads the error hangs up; one that does not is cut off. Closing at once
        # could drop the error still queued on the data channel.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closed.wait(), EXPIRED_GRACE_S)
        await self.close()

    def _on_track(self, track: MediaStreamTrack) -> None:
        # Each frame as soon as the next is in (aiortc waits for four): the buffer's clock then
        # follows the caller's, as with the kernel peer.
        decode_on_loop(self._pc, track, buffered_frames=1)
        self._spawn(self._hear(track))

    async def _on_state(self) -> None:
        if self._pc.connectionState == "connected":
            self.connected.set()
        elif self._pc.connectionState in {"failed", "closed"}:
            await self.close()

    async def _hear(self, track: MediaStreamTrack) -> None:
        """Feed the caller's microphone to the listener, frame by frame (a replay drops it)."""
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()  # read even when unheard: unread frames pile up
                if not isinstance(frame, AudioFrame):
                    continue
                lost = self.input_clock.place(frame, time.time())
                listener = self.listener.feed if self.listener is not None else None
                hear = self.protocol.hear if self.protocol is not None else listener
                if hear is None:  # a replay: nobody listens
                    continue
                samples = frame.to_ndarray().reshape(-1)
                if samples.dtype.kind == "f":  # planar float decoders: scale to 16-bit
                    samples = samples * 32767
                pcm = to_mono_24k(samples.astype(np.int16), len(frame.layout.channels))
                if lost and len(pcm):  # a lost frame is heard as silence, where it was
                    gap = np.zeros(len(pcm), np.int16)
                    for _ in range(round(lost * INPUT_RATE / len(pcm))):
                        hear(gap)
                hear(pcm)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
