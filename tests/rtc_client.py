"""A minimal WebRTC client (aiortc) for tests that need a real peer but no browser."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from rt_widget._loop import BackgroundLoop
from rt_widget.emulator import _loopback


class RtcClient:
    """Offers like a browser would (audio + ``oai-events``) and collects server events."""

    def __init__(self) -> None:
        self._loop = BackgroundLoop("test-rtc-client")
        self.events: list[dict[str, Any]] = []
        self.audio: list[np.ndarray] = []  # received frames, 16-bit
        self._pc: RTCPeerConnection | None = None
        self._channel: RTCDataChannel | None = None
        self.channel_closed = threading.Event()
        self._loop.run(self._setup())

    async def _setup(self) -> None:
        _loopback.restrict_current_thread()
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._pc.addTransceiver("audio", direction="recvonly")
        channel = self._pc.createDataChannel("oai-events")
        channel.on("message", self._on_message)
        channel.on("close", self.channel_closed.set)
        self._channel = channel
        self._pc.on("track", lambda track: asyncio.ensure_future(self._record(track)))

    def _on_message(self, message: str) -> None:
        try:
            self.events.append(json.loads(message))
        except ValueError:
            self.events.append({"type": "<malformed>", "raw": message})

    async def _record(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.audio.append(frame.to_ndarray().reshape(-1))

    def send(self, event: dict[str, Any]) -> None:
        """Send one client event on the data channel."""
        self.send_raw(json.dumps(event))

    def send_raw(self, message: str | bytes) -> None:
        """Send one message as it is (text, or a binary message for bytes)."""
        channel = self._channel
        assert channel is not None

        def send() -> None:
            if channel.readyState == "open":  # after the server hung up there is nobody to send to
                channel.send(message)

        self._loop.loop.call_soon_threadsafe(send)

    def peak_level(self) -> int:
        """The loudest received sample (0 means silence)."""
        return int(max((np.abs(f.astype(np.int32)).max() for f in self.audio if len(f)), default=0))

    def offer(self) -> str:
        """Create the SDP offer (aiortc gathers candidates before returning it)."""

        async def make() -> str:
            assert self._pc is not None
            await self._pc.setLocalDescription(await self._pc.createOffer())
            return str(self._pc.localDescription.sdp)

        return self._loop.run(make(), timeout=10)

    def accept(self, answer_sdp: str) -> None:
        """Apply the server's SDP answer."""
        assert self._pc is not None
        desc = RTCSessionDescription(answer_sdp, "answer")
        self._loop.run(self._pc.setRemoteDescription(desc), timeout=10)

    def wait_for(self, type_: str, timeout: float = 10) -> dict[str, Any]:
        """Wait for the first server event of ``type_``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if event.get("type") == type_:
                    return event
            time.sleep(0.02)
        seen = [e.get("type") for e in self.events]
        raise AssertionError(f"no {type_!r} within {timeout} s; saw {seen}")

    def close(self) -> None:
        if self._pc is not None:
            self._loop.run(self._pc.close(), timeout=10)
        self._loop.close()
