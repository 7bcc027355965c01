"""The caller's audio on the sender's clock: lost frames kept as silence, and when the buffer began.

The service's ``audio_start_ms`` and ``audio_end_ms`` count milliseconds of the audio written
to the input buffer. Counting received frames would put every onset after a lost packet early
by that packet's 20 ms; counting RTP time (each frame's ``pts``) keeps the buffer on the
sender's clock, as a decoder that conceals the loss would. The wall-clock time the buffer
began (:attr:`InputClock.began_at`) lets a test place those offsets on the events' clock.
"""

from __future__ import annotations

from av import AudioFrame

MAX_FILL_S = 1.0
"""A longer hole is not filled: the sender restarted or the network was down, not a lost packet."""


class InputClock:
    """Follows one track's frames in arrival order."""

    def __init__(self) -> None:
        self._first: float | None = None  # the first frame's RTP time, in seconds
        self._next: float | None = None  # where the next frame should start, in seconds
        self.began_at: float | None = None
        """Wall-clock time (``time.time()``) the first frame's audio began, from the earliest
        arrival less its RTP time and length (a frame arrives once all of it is in); ``None``
        before any frame. Later than the sender took the sample by its capture and encoding
        delay, which the receiver cannot see (Chromium's: 20-50 ms on this machine)."""

    def place(self, frame: AudioFrame, arrived: float) -> float:
        """Account for ``frame``, which arrived at ``arrived``; return the seconds lost just before it."""
        if frame.pts is None or frame.time_base is None or not frame.sample_rate:
            return 0.0
        start = float(frame.pts * frame.time_base)
        length = frame.samples / frame.sample_rate
        if self._first is None:
            self._first = start
        began = arrived - (start - self._first) - length
        self.began_at = began if self.began_at is None else min(self.began_at, began)
        lost = 0.0 if self._next is None else start - self._next
        self._next = start + length
        return lost if 0.0 < lost <= MAX_FILL_S else 0.0
