"""One emulated WebRTC call: the aiortc peer, the ``oai-events`` channel and its session."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from .engine import Engine
from .ids import new_id
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
    """

    def __init__(
        self,
        call_id: str,
        session: dict[str, Any] | None = None,
        model: Model = scripted_model,
    ) -> None:
        self.call_id = call_id
        base = default_session(str((session or {}).get("model") or "gpt-realtime"))
        self.sent: list[dict[str, Any]] = []
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._channel: RTCDataChannel | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = asyncio.Event()
        self._pc.on("datachannel", self._on_datachannel)
        self._pc.on("track", self._on_track)
        self._pc.on("connectionstatechange", self._on_state)
        self.speaker = Speaker()
        self._pc.addTrack(self.speaker)
        self.engine = Engine(merge(base, session or {}), self.send, self.speaker, model)
        # Client events are handled one at a time, in arrival order.
        self._inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._spawn(self._serve_inbox())

    async def answer(self, offer_sdp: str) -> str:
        """Apply the browser's offer and return the SDP answer (all candidates inline)."""
        await self._pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        return str(self._pc.localDescription.sdp)

    def send(self, event: dict[str, Any]) -> None:
        """Send one server event on the data channel, adding its ``event_id``."""
        event = {"event_id": new_id("event"), **event}
        self.sent.append(event)
        if self._channel is not None and self._channel.readyState == "open":
            self._channel.send(json.dumps(event))

    async def close(self) -> None:
        """Hang up: close the peer connection and stop background work."""
        self.engine.close()
        for task in self._tasks:
            task.cancel()
        await self._pc.close()
        self.closed.set()

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        self._channel = channel
        channel.on("message", self._on_message)
        # The channel is open once aiortc reports it; the service greets with session.created.
        self.send({"type": "session.created", "session": self.engine.session})

    def _on_message(self, message: str | bytes) -> None:
        self._inbox.put_nowait(message)

    async def _serve_inbox(self) -> None:
        while True:
            await self.engine.receive(await self._inbox.get())

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._spawn(self._drain(track))

    async def _on_state(self) -> None:
        if self._pc.connectionState in {"failed", "closed"}:
            await self.close()

    async def _drain(self, track: MediaStreamTrack) -> None:
        # Read the microphone so aiortc's receive queue does not grow without bound.
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
