"""The kernel as the WebRTC peer of a Realtime call: microphone out, model's voice in, events both ways.

A :class:`KernelPeer` offers what a browser offers (one ``sendrecv`` audio transceiver and the
``oai-events`` data channel) and runs on a background loop of rt-widget's own, so it works
the same from a notebook cell (which already has a running loop) and from a script. Its
coroutine methods may be awaited from any event loop: they run on the peer's loop. Callbacks
are called on the peer's loop thread and must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from .._checks import clip as shorten
from .._loop import BackgroundLoop
from ..opus import prefer_opus
from ..rtp_decoding import decode_on_loop
from .capture import DEFAULT_LIMIT_S, AudioSink, Capture
from .clips import Clip
from .microphone import Microphone, PeerClosedError, Playback

log = logging.getLogger("rt_widget.peer")
T = TypeVar("T")

CHANNEL = "oai-events"
CONNECT_TIMEOUT_S = 20.0
STATES = ("new", "offered", "connecting", "open", "closed", "failed")

_loops: dict[bool, BackgroundLoop] = {}
_loops_lock = threading.Lock()


def media_loop(loopback: bool = False) -> BackgroundLoop:
    """The process-wide loop kernel peers run on (one for loopback-only peers, one for others).

    ICE host addresses are chosen per thread (see ``emulator._loopback``), hence two loops.
    """
    with _loops_lock:
        if loopback not in _loops:
            from ..emulator import _loopback  # only a peer needs aioice's address patch

            loop = BackgroundLoop("rt-widget-peer-loopback" if loopback else "rt-widget-peer")
            mode = _loopback.LOOPBACK_ONLY if loopback else _loopback.LOOPBACK_FALLBACK
            loop.loop.call_soon_threadsafe(_loopback.restrict_current_thread, mode)
            _loops[loopback] = loop
        return _loops[loopback]


def ice_servers_from(servers: Sequence[Mapping[str, Any] | RTCIceServer] | None) -> list[RTCIceServer]:
    """ICE servers as aiortc wants them, from the browser's ``{"urls", "username", "credential"}`` shape.

    Raises
    ------
    ValueError
        A server is not a mapping with ``urls`` (a str or a list of str).
    """
    result: list[RTCIceServer] = []
    for i, server in enumerate(servers or []):
        if isinstance(server, RTCIceServer):
            result.append(server)
            continue
        urls = server.get("urls") if isinstance(server, Mapping) else None
        if not (isinstance(urls, str) or (isinstance(urls, list) and urls and all(isinstance(u, str) for u in urls))):
            msg = f"ice_servers[{i}] needs 'urls': a URL like 'stun:stun.example.org:3478' or a list of them."
            raise ValueError(msg)
        assert isinstance(server, Mapping)
        unknown = set(server) - {"urls", "username", "credential"}
        if unknown:
            raise ValueError(f"ice_servers[{i}] has unknown keys {sorted(unknown)}: use urls, username, credential.")
        result.append(RTCIceServer(urls=urls, username=server.get("username"), credential=server.get("credential")))
    return result


class KernelPeer:
    """The kernel's end of one WebRTC call.

    Parameters
    ----------
    on_message:
        Called with each data-channel message (``str``, or ``bytes`` for a binary one) and
        its receive time (``time.time()``, the clock of the event log's ``t_kernel``).
    on_state:
        Called with the new state on every change: ``"offered"``, ``"connecting"``,
        ``"open"`` (the data channel is open), ``"closed"`` or ``"failed"``.
    ice_servers:
        STUN/TURN servers (browser shape); none by default, as the Realtime API needs none.
    loopback:
        Offer 127.0.0.1 as the only ICE candidate: for an emulator bound to loopback.
    capture_limit_s:
        Keep at most this many seconds of the model's voice (``None``: all).
    on_audio:
        Called with each piece of audio sent and received (``"mic"`` or ``"model"``, 16-bit
        samples at 24 kHz, Unix time of the first): what a recording is made of.
    on_anchor:
        Called once a second with a point of the sent audio's clock: seconds since its first
        frame, and the Unix time that audio left (see :mod:`rt_widget.recording.sent_clock`).

    Examples
    --------
    >>> async with KernelPeer(on_message=print) as peer:      # doctest: +SKIP
    ...     await peer.accept(post_offer(await peer.offer()))
    ...     await peer.play(Clip.from_file("question.wav"))
    """

    def __init__(
        self,
        *,
        on_message: Callable[[str | bytes, float], None] | None = None,
        on_state: Callable[[str], None] | None = None,
        ice_servers: Sequence[Mapping[str, Any] | RTCIceServer] | None = None,
        loopback: bool = False,
        capture_limit_s: float | None = DEFAULT_LIMIT_S,
        on_audio: AudioSink | None = None,
        on_anchor: Callable[[float, float], None] | None = None,
    ) -> None:
        self._ice_servers = ice_servers_from(ice_servers)
        self._on_message = on_message
        self._on_state = on_state
        self._runner = media_loop(loopback)
        self.microphone = Microphone(on_audio, on_anchor)
        """The outgoing track (see :meth:`play`)."""
        self.capture = Capture(capture_limit_s, on_audio)
        """The model's voice as received."""
        self._pc: RTCPeerConnection | None = None
        self._channel: RTCDataChannel | None = None
        self._opened: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing: asyncio.Future[None] | None = None
        self._state = "new"

    @property
    def state(self) -> str:
        """One of :data:`STATES`."""
        return self._state

    async def offer(self) -> str:
        """Create the SDP offer, every ICE candidate inline (no trickle).

        Raises
        ------
        RuntimeError
            An offer was already made (one peer makes one call).
        """
        return await self._on_loop(self._offer())

    async def accept(self, answer_sdp: str, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        """Apply the service's SDP answer and wait until the data channel is open.

        On failure the peer is closed, so no connection outlives a refused call.

        Raises
        ------
        ValueError
            ``answer_sdp`` is not an SDP answer to this offer.
        ConnectionError
            ICE or DTLS failed, or the call was closed, before the channel opened.
        TimeoutError
            The channel did not open within ``connect_timeout_s`` seconds.
        """
        await self._on_loop(self._accept(answer_sdp, connect_timeout_s))

    def send(self, event: Mapping[str, Any] | str) -> None:
        """Send a client event (a dict, or JSON text) on the data channel. Thread-safe.

        Raises
        ------
        RuntimeError
            The channel is not open (the call has not connected or has ended).
        """
        text = event if isinstance(event, str) else json.dumps(event)
        channel = self._channel
        if self._state != "open" or channel is None:
            raise RuntimeError(f"Cannot send: the call's data channel is not open (state {self._state!r}).")

        def send() -> None:
            if channel.readyState == "open":  # it may have closed since
                channel.send(text)

        self._runner.loop.call_soon_threadsafe(send)

    def play(self, clip: Clip) -> Playback:
        """Queue ``clip`` on the microphone; await the result (or ``.wait()``) until it has been sent.

        Clips play back to back in the order queued. Thread-safe.

        Raises
        ------
        TypeError
            ``clip`` is not a :class:`Clip`.
        PeerClosedError
            The call has ended.
        """
        return self.microphone.play(clip)

    async def close(self) -> None:
        """Hang up and stop every task of the peer. Idempotent; queued clips fail."""
        await self._on_loop(self._close())

    async def __aenter__(self) -> KernelPeer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- on the peer's loop -------------------------------------------------------------------

    async def _on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the peer's loop, from whichever loop awaits."""
        if asyncio.get_running_loop() is self._runner.loop:
            return await coro
        return await asyncio.wrap_future(self._runner.submit(coro))

    def _set_state(self, state: str) -> None:
        if self._state == state or self._state in ("closed", "failed"):
            return
        self._state = state
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:  # a caller's callback must not break the call
                log.exception("on_state callback failed")

    async def _offer(self) -> str:
        if self._pc is not None:
            raise RuntimeError("This peer already made its offer: use a new KernelPeer for another call.")
        if self._closing is not None:
            raise PeerClosedError("This peer is closed: use a new KernelPeer.")
        self._opened = asyncio.Event()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers))
        self._pc = pc
        prefer_opus(pc.addTransceiver(self.microphone, direction="sendrecv"))  # its packets are Opus
        channel = pc.createDataChannel(CHANNEL)
        self._channel = channel
        channel.on("open", self._channel_open)
        channel.on("message", self._message)
        channel.on("close", self._channel_closed)
        pc.on("track", self._track)
        pc.on("connectionstatechange", self._connection_state)
        try:
            await pc.setLocalDescription(await pc.createOffer())
        except BaseException:
            await self._close()
            raise
        self._set_state("offered")
        return str(pc.localDescription.sdp)

    async def _accept(self, answer_sdp: str, connect_timeout_s: float) -> None:
        pc, opened = self._pc, self._opened
        if pc is None or opened is None:
            raise RuntimeError("No offer yet: call offer() and post it to the service first.")
        if self._state != "offered":
            raise RuntimeError(f"An answer was already applied (state {self._state!r}).")
        try:
            if not isinstance(answer_sdp, str) or not answer_sdp.lstrip().startswith("v=0"):
                raise ValueError("an SDP answer is text starting with 'v=0'")
            await pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        except Exception as exc:  # aiortc fails on bad SDP with assertions, KeyErrors...
            await self._close()
            reason = str(exc) or f"it is incomplete or malformed ({type(exc).__name__} in aiortc)"
            raise ValueError(f"Invalid SDP answer: {shorten(reason, 300)}.") from None
        self._set_state("connecting")
        try:
            await asyncio.wait_for(opened.wait(), connect_timeout_s)
        except TimeoutError:
            await self._close()
            raise TimeoutError(f"The call did not connect within {connect_timeout_s:g} s (ICE and DTLS).") from None
        except BaseException:
            await self._close()
            raise
        if self._state != "open":
            raise ConnectionError(f"The call ended before it connected (state {self._state!r}).")

    def _channel_open(self) -> None:
        self._set_state("open")
        if self._opened is not None:
            self._opened.set()

    def _message(self, message: str | bytes) -> None:
        t = time.time()  # first: the receive time is the point of it
        if self._on_message is None:
            return
        try:
            self._on_message(message, t)
        except Exception:
            log.exception("on_message callback failed")

    def _channel_closed(self) -> None:
        if self._closing is None:
            self._spawn(self._close())  # the service hung up (session expired, an error)

    async def _connection_state(self) -> None:
        pc = self._pc
        if pc is not None and pc.connectionState in ("failed", "closed") and self._closing is None:
            self._set_state(pc.connectionState)
            self._spawn(self._close())

    def _track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and self._pc is not None:
            decode_on_loop(self._pc, track, buffered_frames=1)
            self._spawn(self._record(track))

    async def _record(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, AudioFrame):
                    self.capture.add(frame, time.time())

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self) -> None:
        """Shut down once, however many callers ask; each returns when it is done."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._shutdown())
        await asyncio.shield(self._closing)

    async def _shutdown(self) -> None:
        self._set_state("closed")  # "failed" stays "failed"
        if self._opened is not None:
            self._opened.set()  # wakes a pending accept(), which then reports the end
        self.microphone.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        pc, channel = self._pc, self._channel
        if channel is not None and pc is not None and pc.sctp is not None and pc.sctp.transport.state == "connected":
            # A clean close the service sees at once; once DTLS is down, aiortc would fail
            # sending the stream reset in a task nobody awaits.
            channel.close()
        if pc is not None:
            await pc.close()
        await asyncio.gather(*tasks, return_exceptions=True)
