"""The model's voice as heard by the kernel peer: 16-bit PCM with the arrival time of each frame.

Decoded frames are mixed down and resampled (PyAV) to :data:`RATE`, the Realtime API's own
PCM rate (the model speaks nothing above 12 kHz, so this halves memory and loses nothing),
then written into one-second chunks allocated as they fill: 48 kB per second of call plus
24 bytes per frame for its time, offset and peak. Past ``limit_s`` seconds the oldest chunks
are dropped (and counted), so a long call cannot use unbounded memory.
"""

from __future__ import annotations

import array
import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

RATE = 24_000
CHUNK = RATE  # one second per chunk
SILENCE_PEAK = 64
"""A frame whose loudest sample is at most this (about -54 dBFS) counts as silence. The
emulator's silence decodes to exact zeros; the margin is for a service's comfort noise."""
DEFAULT_LIMIT_S = 3600.0  # a whole session (the service's 60-minute cap): 173 MB at most


AudioSink = Callable[[str, npt.NDArray[np.int16], float], None]
"""Told each frame of a call's audio: the track (``"mic"`` as sent, ``"model"`` as received),
its samples at :data:`RATE` and the wall-clock time of its first sample (for recording)."""


@dataclass(frozen=True)
class CapturedAudio:
    """A stretch of captured audio.

    Attributes
    ----------
    samples:
        Mono 16-bit PCM at ``rate``, the frames back to back as they arrived.
    rate:
        Samples per second (24000).
    start:
        Wall-clock time (``time.time()``) of the first sample: its frame's arrival less the
        frame's length (a frame arrives once all its samples are in); ``None`` when empty.
    frame_times:
        Arrival time of each frame (the moment it was decoded and handed to the kernel).
    frame_offsets:
        Index in ``samples`` of each frame's first sample.
    """

    samples: npt.NDArray[np.int16]
    rate: int
    start: float | None
    frame_times: npt.NDArray[np.float64]
    frame_offsets: npt.NDArray[np.int64]

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.rate


class _Chunk:
    """One second of samples, plus the frames that begin in it."""

    def __init__(self, start: int) -> None:
        self.start = start  # index of its first sample in the whole capture
        self.samples = np.zeros(CHUNK, np.int16)
        self.size = 0
        self.times = array.array("d")
        self.offsets = array.array("q")
        self.peaks = array.array("q")


class Capture:
    """Receives the remote track's frames (on the peer's loop); readable from any thread.

    Parameters
    ----------
    limit_s:
        Keep at most this many seconds (the most recent); ``None`` keeps everything.
    """

    def __init__(self, limit_s: float | None = DEFAULT_LIMIT_S, on_audio: AudioSink | None = None) -> None:
        self._limit = None if limit_s is None else max(1, int(limit_s * RATE / CHUNK))
        self._lock = threading.Lock()
        self._chunks: collections.deque[_Chunk] = collections.deque([_Chunk(0)])
        self._total = 0  # samples ever written
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        self._on_audio = on_audio
        self.frames = 0
        self.dropped_s = 0.0
        """Seconds of the oldest audio dropped to stay within ``limit_s``."""
        self.last_sound: float | None = None
        """Arrival time of the latest frame louder than :data:`SILENCE_PEAK` (``None`` before any)."""

    def add(self, frame: av.AudioFrame, t: float) -> None:
        """Store one received frame that arrived at wall-clock time ``t``."""
        parts = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        pcm = np.concatenate(parts).astype(np.int16) if parts else np.zeros(0, np.int16)
        peak = int(np.abs(pcm.astype(np.int32)).max()) if len(pcm) else 0
        if self._on_audio is not None and len(pcm):
            self._on_audio("model", pcm, t - len(pcm) / RATE)  # a frame arrives once its last sample is in
        if peak > SILENCE_PEAK:
            self.last_sound = t
        with self._lock:
            head = self._chunks[-1]
            head.times.append(t)
            head.offsets.append(self._total)
            head.peaks.append(peak)
            self.frames += 1
            written = 0
            while written < len(pcm):
                head = self._chunks[-1]
                if head.size == CHUNK:
                    head = _Chunk(self._total)
                    self._chunks.append(head)
                    self._drop_old()
                n = min(CHUNK - head.size, len(pcm) - written)
                head.samples[head.size : head.size + n] = pcm[written : written + n]
                head.size += n
                written += n
                self._total += n

    def _drop_old(self) -> None:
        while self._limit is not None and len(self._chunks) > self._limit:
            self.dropped_s += self._chunks.popleft().size / RATE

    @property
    def duration_s(self) -> float:
        """Seconds of audio kept."""
        with self._lock:
            return sum(c.size for c in self._chunks) / RATE

    def first_sound_after(self, t: float, peak: int = SILENCE_PEAK) -> float | None:
        """Arrival time of the first frame after ``t`` louder than ``peak``; ``None`` if none yet.

        For the latency as heard: pass the time the input's last sample was sent.
        """
        with self._lock:
            for chunk in self._chunks:
                if not chunk.times or chunk.times[-1] < t:
                    continue
                times = np.frombuffer(chunk.times, np.float64)
                loud = (times >= t) & (np.frombuffer(chunk.peaks, np.int64) > peak)
                if loud.any():
                    return float(times[int(np.argmax(loud))])
        return None

    def audio(self, since: float | None = None, until: float | None = None) -> CapturedAudio:
        """The kept audio (or the frames that arrived from ``since`` to ``until``) as one array."""
        with self._lock:
            chunks = [c for c in self._chunks if c.size]
            if not chunks:
                return _empty()
            base = chunks[0].start
            samples = np.concatenate([c.samples[: c.size] for c in chunks])
            times = np.concatenate([np.frombuffer(c.times, np.float64) for c in chunks])
            offsets = np.concatenate([np.frombuffer(c.offsets, np.int64) for c in chunks]) - base
        keep = offsets >= 0  # a frame begun in a dropped chunk
        times, offsets = times[keep], offsets[keep]
        lo = 0 if since is None else int(np.searchsorted(times, since, "left"))
        hi = len(times) if until is None else int(np.searchsorted(times, until, "right"))
        if lo >= hi:
            return _empty()
        first, last = int(offsets[lo]), int(offsets[hi]) if hi < len(offsets) else len(samples)
        frame_s = (offsets[lo + 1] - first) / RATE if lo + 1 < len(offsets) else 0.02
        return CapturedAudio(
            samples[first:last].copy(),
            RATE,
            float(times[lo]) - float(frame_s),  # a frame arrives once its last sample is in
            times[lo:hi].copy(),
            offsets[lo:hi] - first,
        )


def _empty() -> CapturedAudio:
    return CapturedAudio(np.zeros(0, np.int16), RATE, None, np.zeros(0), np.zeros(0, np.int64))
