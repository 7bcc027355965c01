"""One emulated WebRTC call: the aiortc peer, the ``oai-events`` channel and its session."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from ..beta import event_to_ga, server_event_to_beta
from .engine import Engine
from .faults import SESSION_EXPIRED, Faults
from .ids import new_id
from .listener import Listener, to_mono_24k
from .model import Model, scripted_model
from .session import default_session, merge
from .speaker import Speaker


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
    ) -> None:
        self.call_id = call_id
        self.faults = Faults() if faults is None else dataclasses.replace(faults)
        self.beta = beta
        self.event_filter = event_filter
        self.listeners: set[Callable[[str], None]] = set()
        base = default_session(str((session or {}).get("model") or "gpt-realtime"))
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._channel: RTCDataChannel | None = None
        self._early: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = asyncio.Event()
        self._pc.on("datachannel", self._on_datachannel)
        self._pc.on("track", self._on_track)
        self._pc.on("connectionstatechange", self._on_state)
        self.speaker = Speaker(silent=lambda: self.faults.silent_audio)
        self._pc.addTrack(self.speaker)
        self.engine = Engine(
            merge(base, session or {}), self.send, self.speaker, model, lambda: self.faults.slow_response_s
        )
        self.listener = Listener(self.engine)
        # Client events are handled one at a time, in arrival order.
        self._inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._spawn(self._serve_inbox())

    async def answer(self, offer_sdp: str) -> str:
        """Apply the browser's offer and return the SDP answer (all candidates inline)."""
        await self._pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        return str(self._pc.localDescription.sdp)

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
            elif self._channel.readyState == "open":
                self._channel.send(text)
                if self.faults.close_channel_mid_response and wire["type"].endswith(".delta"):
                    self._channel.close()
        for listener in list(self.listeners):
            listener(text)

    def receive(self, message: str | bytes) -> None:
        """Queue one client event (from the data channel or a sideband connection)."""
        if self.beta:
            # A message that does not parse goes on as it is: the engine reports what is wrong.
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                message = json.dumps(event_to_ga(json.loads(message)))
        self._inbox.put_nowait(message)

    async def burst(self, count: int, seconds: float = 1.0) -> None:
        """Send ``count`` ``rate_limits.updated`` events spread over ``seconds`` (load tests).

        ``remaining`` counts down from ``count - 1`` to 0, so a client can check the order.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(count):
            due = start + seconds * i / count
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            limits = {"name": "tokens", "limit": count, "remaining": count - 1 - i, "reset_seconds": 1.0}
            self.send({"type": "rate_limits.updated", "rate_limits": [limits]})

    async def close(self) -> None:
        """Hang up: close the peer connection and stop background work. Idempotent."""
        if self.closed.is_set():
            return
        self.closed.set()
        self.engine.close()
        self.listener.close()
        for task in self._tasks:
            task.cancel()
        if self._channel is not None:
            self._channel.close()  # a clean close the client sees at once
        await self._pc.close()

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        self._channel = channel
        channel.on("message", self.receive)
        # The channel is open once aiortc reports it; the service greets with session.created.
        self.send({"type": "session.created", "session": self.engine.session})
        if self.faults.malformed_event:
            channel.send("{this is not JSON (injected fault)")
        self._spawn(self._expire_when_due())
        for text in self._early:
            channel.send(text)
        self._early.clear()

    async def _serve_inbox(self) -> None:
        while True:
            await self.engine.receive(await self._inbox.get())

    async def _expire_when_due(self) -> None:
        """End the call once the session_expired fault is due (it may be set at any time)."""
        opened = asyncio.get_running_loop().time()
        while True:
            after_s = self.faults.session_expired_after_s
            if after_s is not None and asyncio.get_running_loop().time() - opened >= after_s:
                break
            await asyncio.sleep(0.05)
        self.engine.error("session_expired", SESSION_EXPIRED)
        await asyncio.sleep(0.2)  # let the error reach the client before the channel closes
        await self.close()

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._spawn(self._hear(track))

    async def _on_state(self) -> None:
        if self._pc.connectionState in {"failed", "closed"}:
            await self.close()

    async def _hear(self, track: MediaStreamTrack) -> None:
        """Feed the caller's microphone to the listener, frame by frame."""
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if not isinstance(frame, AudioFrame):
                    continue
                samples = frame.to_ndarray().reshape(-1)
                if samples.dtype.kind == "f":  # planar float decoders: scale to 16-bit
                    samples = samples * 32767
                self.listener.feed(to_mono_24k(samples.astype(np.int16), len(frame.layout.channels)))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
