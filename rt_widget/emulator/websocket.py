"""One Realtime session over the WebSocket transport (``GET /v1/realtime?model=...``).

The server authenticates the handshake and hands the open socket here. The session runs the
same :class:`~.engine.Engine` as a WebRTC call; only the audio differs: it rides in events
(:class:`~.audio_events.AudioEvents`). Appended microphone audio is cut into the 20 ms frames
a WebRTC call hears and goes through the same :class:`~.listener.Listener` (server VAD,
transcription, commit); the reply's speech goes out as ``response.output_audio.delta`` events
in real time, and no ``output_audio_buffer.*`` event is sent (those are WebRTC and SIP only).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

import numpy as np
from aiohttp import WSCloseCode, WSMsgType, web

from .audio_events import AudioEvents
from .engine import Engine
from .faults import SESSION_EXPIRED, Faults
from .ids import new_id
from .listener import FRAME_MS, Listener
from .model import Model
from .transcription import INPUT_RATE

logger = logging.getLogger("rt_widget.emulator")

FRAME_BYTES = INPUT_RATE * FRAME_MS // 1000 * 2
"""One listener frame of PCM16: appends are heard in the frames a WebRTC call hears."""
EXPIRED_CLOSE = WSCloseCode.GOING_AWAY  # 1001, as reported for the service's 60-minute cap


class WebSocketSession:
    """A Realtime session on one open WebSocket, from ``session.created`` until either side closes.

    Parameters
    ----------
    ws:
        The prepared WebSocket.
    session:
        The effective session (GA response shape) it starts with.
    model:
        The reply function of the scripted model.
    faults:
        Faults to inject (a copy is kept: change ``session.faults`` to affect only this one).
        ``slow_response_s``, ``silent_audio``, ``malformed_event``, ``session_expired_after_s``
        and ``close_channel_mid_response`` (the socket closes after the first delta) apply; the
        others concern SDP answers or REST requests.
    """

    def __init__(self, ws: web.WebSocketResponse, session: dict[str, Any], model: Model, faults: Faults) -> None:
        self.faults = dataclasses.replace(faults)
        self.closed = asyncio.Event()
        self._ws = ws
        # (event type, text) to send, or a close code to close with once all before it went out
        self._outbox: asyncio.Queue[tuple[str, str] | int] = asyncio.Queue()
        self._inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._unheard = bytearray()  # appended audio short of a whole frame
        audio = AudioEvents(self._hear, silent=lambda: self.faults.silent_audio)
        self.engine = Engine(session, self.send, audio, model, lambda: self.faults.slow_response_s)
        self.listener = Listener(self.engine)

    async def serve(self) -> None:
        """Greet with ``session.created``, then handle client events until the socket closes."""
        self.send({"type": "session.created", "session": self.engine.session})
        if self.faults.malformed_event:
            self._outbox.put_nowait(("", "{this is not JSON (injected fault)"))
        tasks = [asyncio.ensure_future(work) for work in (self._forward(), self._handle(), self._expire_when_due())]
        try:
            async for message in self._ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    self._inbox.put_nowait(message.data)  # a binary frame gets its error event from the engine
        finally:
            self.closed.set()
            self.engine.close()
            self.listener.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def send(self, event: dict[str, Any]) -> None:
        """Queue one server event; they go out in order."""
        event = {"event_id": new_id("event"), **event}
        self._outbox.put_nowait((event["type"], json.dumps(event)))

    async def close(self, code: int = WSCloseCode.OK, message: bytes = b"") -> None:
        """Close the socket (and so the session). Idempotent."""
        await self._ws.close(code=code, message=message)

    def _hear(self, pcm: bytes) -> None:
        """Feed appended audio to the listener, in whole 20 ms frames."""
        self._unheard += pcm
        whole = len(self._unheard) - len(self._unheard) % FRAME_BYTES
        frames = np.frombuffer(bytes(self._unheard[:whole]), "<i2").astype(np.int16).reshape(-1, FRAME_BYTES // 2)
        del self._unheard[:whole]
        for frame in frames:
            self.listener.feed(frame)

    async def _forward(self) -> None:
        while True:
            entry = await self._outbox.get()
            if isinstance(entry, int):
                await self.close(entry, b"session expired")
                return
            type_, text = entry
            try:
                await self._ws.send_str(text)
            except ConnectionError:
                return  # the client went away; the read loop ends the session
            if self.faults.close_channel_mid_response and type_.endswith(".delta"):
                await self.close()
                return

    async def _handle(self) -> None:
        # Client events are handled one at a time, in arrival order, as on a call.
        while True:
            await self.engine.receive(await self._inbox.get())

    async def _expire_when_due(self) -> None:
        """End the session once the ``session_expired`` fault is due (it may be set at any time)."""
        loop = asyncio.get_running_loop()
        opened = loop.time()
        while True:
            after_s = self.faults.session_expired_after_s
            if after_s is not None and loop.time() - opened >= after_s:
                break
            await asyncio.sleep(0.05)
        self.engine.error("session_expired", SESSION_EXPIRED)
        self._outbox.put_nowait(EXPIRED_CLOSE)  # after the error
