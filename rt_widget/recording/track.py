"""One side of a call's audio: mono 16-bit PCM placed on the events' clock.

A track is the samples back to back plus *anchors*: pairs of (sample index, time) taken as
the audio was captured, on the clock of the events' ``t_browser`` (Unix seconds). Between
anchors a sample's time is interpolated; past the last one it runs on at the track's rate.
Anchors, not one start time, because a sound card's clock drifts from the system clock by
tens of parts per million: up to a few hundred milliseconds over an hour-long call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

RATE = 24_000
"""The rate rt-widget records at: the Realtime API's own PCM rate (the model's voice has
nothing above 12 kHz)."""
TRACKS = ("mic", "model")
"""Track names: the microphone as sent (silence while muted), and the model's voice as received
(see :attr:`Track.as_played` for the exception)."""


@dataclass(frozen=True)
class Track:
    """A recorded track.

    Attributes
    ----------
    name:
        ``"mic"`` or ``"model"``.
    samples:
        Mono 16-bit PCM at ``rate``.
    rate:
        Samples per second.
    anchors:
        Shape ``(n, 2)``: a sample index and the Unix time (events' clock) of that sample, in
        increasing order. At least one row when the track has samples.
    as_played:
        True for a model track recorded by a browser that cannot copy the frames as they
        arrive (no ``RTCRtpScriptTransform`` or WebCodecs): it holds the voice as played, after
        the browser's jitter buffer, 0.1 s or more later than it was received.
    """

    name: str
    samples: npt.NDArray[np.int16]
    rate: int
    anchors: npt.NDArray[np.float64]
    as_played: bool = False

    @classmethod
    def empty(cls, name: str, rate: int = RATE) -> Track:
        """A track with no audio."""
        return cls(name, np.zeros(0, np.int16), rate, np.zeros((0, 2)))

    @property
    def start(self) -> float | None:
        """Time of the first sample, or ``None`` for an empty track."""
        return float(self.time_at(0)) if len(self.anchors) else None

    @property
    def end(self) -> float | None:
        """Time just after the last sample, or ``None`` for an empty track."""
        return float(self.time_at(len(self.samples))) if len(self.anchors) else None

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.rate

    def time_at(self, index: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Times of sample indices (scalars or arrays), from the anchors."""
        index = np.asarray(index, np.float64)
        if len(self.anchors) == 0:
            raise ValueError(f"The {self.name} track is empty: it has no times.")
        first_i, first_t = self.anchors[0]
        last_i, last_t = self.anchors[-1]
        inside = np.interp(index, self.anchors[:, 0], self.anchors[:, 1])
        before = first_t + (index - first_i) / self.rate
        after = last_t + (index - last_i) / self.rate
        times: npt.NDArray[np.float64] = np.where(index < first_i, before, np.where(index > last_i, after, inside))
        return times

    def index_at(self, t: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Sample indices at times ``t`` (not clipped to the track)."""
        t = np.asarray(t, np.float64)
        if len(self.anchors) == 0:
            raise ValueError(f"The {self.name} track is empty: it has no times.")
        first_i, first_t = self.anchors[0]
        last_i, last_t = self.anchors[-1]
        inside = np.interp(t, self.anchors[:, 1], self.anchors[:, 0])
        before = first_i + (t - first_t) * self.rate
        after = last_i + (t - last_t) * self.rate
        indices: npt.NDArray[np.int64] = np.round(
            np.where(t < first_t, before, np.where(t > last_t, after, inside))
        ).astype(np.int64)
        return indices

    def between(self, start: float, end: float) -> npt.NDArray[np.int16]:
        """The samples from time ``start`` to ``end`` (clipped to the track)."""
        if len(self.anchors) == 0:
            return self.samples[:0]
        lo, hi = np.clip(self.index_at([start, end]), 0, len(self.samples))
        return self.samples[int(lo) : int(hi)]

    def float32(self) -> npt.NDArray[np.float32]:
        """The samples as floats in [-1, 1), for players and plots."""
        return self.samples.astype(np.float32) / 32768.0
