"""The emulator's outgoing audio track: queued speech in real time, silence otherwise.

Once the call has settled on Opus (every browser offers it), the track hands aiortc Opus
packets it encodes itself (see :mod:`rt_widget.opus`), which costs a fraction of handing it
frames; for any other codec it hands frames.
"""

from __future__ import annotations

import asyncio
import collections
import fractions
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack
from av import AudioFrame, Packet

from ..opus import OpusPackets

RATE = 48_000  # Opus's clock rate, so aiortc needs no resampling
FRAME = 960  # 20 ms


def resample(samples: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.int16]:
    """Linear resampling to 48 kHz: plenty for a speech demo voice."""
    if rate == RATE or len(samples) == 0:
        return samples
    n = int(len(samples) * RATE / rate)
    positions = np.linspace(0, len(samples) - 1, n)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.int16)


@dataclass(frozen=True)
class Utterance:
    """Speech cut into 20 ms frames at 48 kHz, each with its Opus packet when the call sends Opus."""

    frames: list[npt.NDArray[np.int16]]
    packets: list[bytes] | None
    duration_s: float


class Speaker(MediaStreamTrack):
    """An audio track that plays queued speech and reports when the queue drains.

    ``on_drained`` is called (on the event loop) when queued audio has fully played out,
    which is when the service sends ``output_audio_buffer.stopped``. Speech is encoded when it
    is queued (:meth:`encode`, on any thread), not frame by frame on the loop: with ten calls
    speaking at once, encoding on the loop made it late with every call's audio.
    """

    kind = "audio"

    def __init__(self, silent: Callable[[], bool] = lambda: False) -> None:
        super().__init__()
        self._silent = silent
        self._queue: collections.deque[tuple[npt.NDArray[np.int16], bytes | None]] = collections.deque()
        self._start: float | None = None
        self._sent = 0
        self.played_samples = 0
        """Samples of queued speech played so far (silence not counted)."""
        self.on_drained: Callable[[], None] | None = None
        self.opus: OpusPackets | None = None
        """Set once the call sends Opus: frames then go out as Opus packets."""

    def encode(self, samples: npt.NDArray[np.int16], rate: int) -> Utterance:
        """Speech ready to queue: resampled, framed and (for an Opus call) encoded. Thread-safe."""
        audio = resample(samples, rate)
        frames = [audio[i : i + FRAME] for i in range(0, len(audio), FRAME)]
        packets = None
        if self.opus is not None:
            encoder = OpusPackets()  # its own: the track's encoder belongs to the loop
            packets = [bytes(encoder.packet(_padded(frame), 0)) for frame in frames]
        return Utterance(frames, packets, len(audio) / RATE)

    def play(self, speech: Utterance | npt.NDArray[np.int16], rate: int = RATE) -> float:
        """Queue speech (an :class:`Utterance`, or samples at ``rate``); return its duration in seconds."""
        utterance = speech if isinstance(speech, Utterance) else self.encode(speech, rate)
        packets: list[bytes | None] = [None] * len(utterance.frames)
        if utterance.packets is not None:
            packets = list(utterance.packets)
        self._queue.extend(zip(utterance.frames, packets, strict=True))
        return utterance.duration_s

    @property
    def queued_s(self) -> float:
        """Seconds of audio still waiting to play."""
        return sum(len(frame) for frame, _ in self._queue) / RATE

    def clear(self) -> None:
        """Drop whatever is still queued (``output_audio_buffer.clear``, barge-in)."""
        self._queue.clear()

    def _drained(self) -> None:
        # Deferred, so speech queued in between (the next reply) is not reported as played out.
        if not self._queue and self.on_drained is not None:
            self.on_drained()

    async def recv(self) -> AudioFrame | Packet[Any]:
        """The next 20 ms frame, paced in real time."""
        if self._start is None:
            self._start = time.monotonic()
        self._sent += FRAME
        wait = self._start + self._sent / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        pts = self._sent - FRAME
        if self._queue:
            chunk, encoded = self._queue.popleft()
            self.played_samples += len(chunk)
            if not self._queue:
                asyncio.get_running_loop().call_soon(self._drained)
        else:
            chunk, encoded = _SILENCE, None
        silent = self._silent()
        if self.opus is not None:
            if encoded is None or silent:
                return self.opus.packet(_SILENCE if silent else _padded(chunk), pts)
            return self.opus.stamped(encoded, pts)
        frame = AudioFrame.from_ndarray(
            (_SILENCE if silent else _padded(chunk)).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = RATE
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


_SILENCE = np.zeros(FRAME, np.int16)


def _padded(frame: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """A frame of exactly ``FRAME`` samples (the last one of an utterance is short)."""
    if len(frame) == FRAME:
        return frame
    out = np.zeros(FRAME, np.int16)
    out[: len(frame)] = frame
    return out
