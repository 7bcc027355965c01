"""The kernel peer's microphone: queued clips in real time, silence otherwise.

aiortc pulls one frame after another from :meth:`Microphone.recv`; each is released when a
real microphone would have finished recording it (20 ms after the previous one, on the
monotonic clock), so the service hears the clips at their natural speed. Times reported to
callers are wall-clock (``time.time()``), the clock of the event log's ``t_kernel``.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import Packet

from ..opus import OpusPackets
from .capture import RATE as CAPTURE_RATE
from .capture import AudioSink
from .clips import RATE, Clip

FRAME = RATE // 50  # 20 ms, the frame length browsers send
FRAME_S = FRAME / RATE
MAX_LAG_S = 0.2
"""A frame this late (the event loop stalled) restarts the clock instead of sending the
backlog in a burst: what a real microphone's driver does after an overrun."""
ANCHOR_EVERY_FRAMES = 50  # a point of the sent audio's clock a second (see on_anchor)


class PeerClosedError(ConnectionError):
    """The call ended before a queued clip had been sent in full."""


class Playback:
    """One queued clip: await it (from any event loop) or :meth:`wait` until it has been sent.

    Attributes
    ----------
    clip:
        The clip.
    started_at, ended_at:
        Wall-clock times (``time.time()``) at which the frames holding the clip's first and
        last samples were sent; ``None`` until then.
    max_gap_s:
        The longest interval between two consecutive frames of the clip leaving the
        microphone (20 ms when paced exactly): how evenly the service heard it.
    """

    def __init__(self, clip: Clip) -> None:
        self.clip = clip
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.max_gap_s = 0.0
        self._future: concurrent.futures.Future[Playback] = concurrent.futures.Future()

    def done(self) -> bool:
        """Whether the clip has been sent in full (or can no longer be)."""
        return self._future.done()

    def wait(self, timeout: float | None = None) -> Playback:
        """Block until the clip has been sent; return this playback (for scripts).

        Raises
        ------
        PeerClosedError
            The call ended first.
        TimeoutError
            Still playing after ``timeout`` seconds.
        """
        return self._future.result(timeout)

    def __await__(self) -> Generator[Any, None, Playback]:
        return asyncio.wrap_future(self._future).__await__()

    def __repr__(self) -> str:
        state = "played" if self.ended_at is not None else "failed" if self.done() else "queued"
        return f"<Playback {self.clip.label}, {self.clip.duration_s:.2f} s, {state}>"


class Microphone(MediaStreamTrack):
    """An aiortc audio track sending queued clips in sequence, paced in real time.

    :meth:`play` may be called from any thread. Each 20 ms of 48 kHz mono audio goes out as an
    Opus packet it encodes itself (see :mod:`rt_widget.opus`): the peer offers only Opus.
    """

    kind = "audio"

    def __init__(
        self, on_audio: AudioSink | None = None, on_anchor: Callable[[float, float], None] | None = None
    ) -> None:
        super().__init__()
        self._on_audio = on_audio
        # Told, once a second, that so many seconds into the sent audio left at this Unix time:
        # the service's input times (audio_start_ms) count from the first frame (as js/rtc/sent-audio.ts).
        self._on_anchor = on_anchor
        self._queue_lock = threading.Lock()  # not _lock: pyee's EventEmitter (our base) has one
        self._queue: collections.deque[Playback] = collections.deque()
        self._offset = 0  # samples of the head of the queue already sent
        self._start: float | None = None  # monotonic time the frame clock started
        self._index = 0  # frames released since the clock (re)started
        self._stopped = False
        self._last_sent: float | None = None  # monotonic time the previous frame left
        self.frames_sent = 0
        self.max_late_s = 0.0
        """The latest any frame left after its due time (pacing accuracy)."""
        self.restarts = 0
        """How often the clock restarted after falling :data:`MAX_LAG_S` behind."""
        self._opus = OpusPackets()

    def play(self, clip: Clip) -> Playback:
        """Queue ``clip`` after whatever is queued; return its :class:`Playback` at once.

        Raises
        ------
        TypeError
            ``clip`` is not a :class:`Clip`.
        PeerClosedError
            The microphone has stopped (the call ended).
        """
        if not isinstance(clip, Clip):
            msg = f"play() takes a Clip (Clip.from_file, from_array, from_text, silence), not {type(clip).__name__}."
            raise TypeError(msg)
        playback = Playback(clip)
        with self._queue_lock:
            if self._stopped:
                raise PeerClosedError("The call has ended: nothing more can be played.")
            self._queue.append(playback)
        return playback

    @property
    def queued_s(self) -> float:
        """Seconds of audio queued and not yet sent."""
        with self._queue_lock:
            return sum(p.clip.duration_s for p in self._queue) - self._offset / RATE

    async def recv(self) -> Packet[Any]:
        """The next 20 ms, encoded, released on the real-time schedule."""
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        self._index += 1
        due = self._start + self._index * FRAME_S
        if due > now:
            await asyncio.sleep(due - now)
        elif now - due > MAX_LAG_S:
            self.restarts += 1
            self._start, self._index = now, 0
            due = now
        released = time.monotonic()
        self.max_late_s = max(self.max_late_s, released - due)
        samples, playing, started, finished = self._take()
        sent_at = time.time()
        for playback in started:
            playback.started_at = sent_at
        if self._last_sent is not None:
            for playback in playing:
                if playback not in started:  # its previous frame left at _last_sent
                    playback.max_gap_s = max(playback.max_gap_s, released - self._last_sent)
        self._last_sent = released
        for playback in finished:
            playback.ended_at = sent_at
            playback._future.set_result(playback)
        if self._on_audio is not None:  # as sent, silence included, at the recording's rate
            self._on_audio("mic", samples.reshape(-1, RATE // CAPTURE_RATE).mean(axis=1).astype(np.int16), sent_at)
        if self._on_anchor is not None and self.frames_sent % ANCHOR_EVERY_FRAMES == 0:
            self._on_anchor(self.frames_sent * FRAME_S, sent_at)
        packet = self._opus.packet(samples, self.frames_sent * FRAME)
        self.frames_sent += 1
        return packet

    def _take(self) -> tuple[np.ndarray[Any, np.dtype[np.int16]], list[Playback], list[Playback], list[Playback]]:
        """One frame of samples from the queue; the playbacks in it, those it starts and those it finishes."""
        out = np.zeros(FRAME, np.int16)
        playing: list[Playback] = []
        started: list[Playback] = []
        finished: list[Playback] = []
        filled = 0
        with self._queue_lock:
            while filled < FRAME and self._queue:
                head = self._queue[0]
                playing.append(head)
                if self._offset == 0:
                    started.append(head)
                part = head.clip.samples[self._offset : self._offset + FRAME - filled]
                out[filled : filled + len(part)] = part
                filled += len(part)
                self._offset += len(part)
                if self._offset >= len(head.clip.samples):
                    finished.append(self._queue.popleft())
                    self._offset = 0
        return out, playing, started, finished

    def stop(self) -> None:
        """End the track; queued clips fail with :class:`PeerClosedError`."""
        with self._queue_lock:
            self._stopped = True
            pending, self._queue = list(self._queue), collections.deque()
        super().stop()
        for playback in pending:
            playback._future.set_exception(PeerClosedError(f"The call ended before {playback.clip.label} was played."))
