"""The emulator's outgoing audio track: queued speech in real time, silence otherwise.

Once the call has settled on Opus (every browser offers it), the track hands aiortc Opus
packets it encodes itself (see :mod:`rt_widget.opus`), which costs a fraction of handing it
frames; for any other codec it hands frames.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
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


class Speaker(MediaStreamTrack):
    """An audio track that plays queued PCM and reports when the queue drains.

    ``on_drained`` is called (on the event loop) when queued audio has fully played out,
    which is when the service sends ``output_audio_buffer.stopped``.
    """

    kind = "audio"

    def __init__(self, silent: Callable[[], bool] = lambda: False) -> None:
        super().__init__()
        self._silent = silent
        self._queue: npt.NDArray[np.int16] = np.zeros(0, np.int16)
        self._start: float | None = None
        self._sent = 0
        self.played_samples = 0
        self.on_drained: Callable[[], None] | None = None
        self.opus: OpusPackets | None = None
        """Set once the call sends Opus: frames then go out as packets encoded here."""

    def play(self, samples: npt.NDArray[np.int16], rate: int) -> float:
        """Queue speech; return its duration in seconds."""
        audio = resample(samples, rate)
        self._queue = np.concatenate([self._queue, audio])
        return len(audio) / RATE

    @property
    def queued_s(self) -> float:
        """Seconds of audio still waiting to play."""
        return len(self._queue) / RATE

    def clear(self) -> None:
        """Drop whatever is still queued (``output_audio_buffer.clear``, barge-in)."""
        self._queue = np.zeros(0, np.int16)

    async def recv(self) -> AudioFrame | Packet[Any]:
        """The next 20 ms frame, paced in real time."""
        if self._start is None:
            self._start = time.monotonic()
        self._sent += FRAME
        wait = self._start + self._sent / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        chunk = self._queue[:FRAME]
        self._queue = self._queue[FRAME:]
        if len(chunk):
            self.played_samples += len(chunk)
            if len(self._queue) == 0 and self.on_drained is not None:
                asyncio.get_running_loop().call_soon(self.on_drained)
        frame_samples = np.zeros(FRAME, np.int16)
        if not self._silent():
            frame_samples[: len(chunk)] = chunk
        if self.opus is not None:
            return self.opus.packet(frame_samples, self._sent - FRAME)
        frame = AudioFrame.from_ndarray(frame_samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._sent - FRAME
        frame.time_base = fractions.Fraction(1, RATE)
        return frame
