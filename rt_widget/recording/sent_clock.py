"""When each call's sent audio was captured: the service's input times on the events' clock.

The service counts ``audio_start_ms`` and ``audio_end_ms`` in its input buffer, from the first
frame of audio the call sent. The page reads each sent frame's capture time and RTP time (see
``js/rtc/sent-audio.ts``) and reports an anchor a second: so many seconds into the call's sent
audio were captured at this Unix time. Placed by those anchors, the service's times sit on the
clock of the microphone track, free of the capture, encoding and network delay that a
receiver's own clock would add. Anchors are kept per call (a renewed session is a new call,
with a new buffer), as lines of ``sent_clock.jsonl``: ``[call_id, buffer_s, t]``, written as
they come and kept as they are when the recording is saved.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

FILE = "sent_clock.jsonl"


@dataclass(frozen=True)
class SentClock:
    """Per call id, anchors ``(buffer_s, t)`` of its sent audio, in buffer order (shape ``(n, 2)``)."""

    anchors: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)

    def time(self, call_id: str | None, buffer_s: float) -> float:
        """The Unix time at which ``buffer_s`` into the call's sent audio was captured (NaN if unknown).

        Counted from the last anchor at or before it (the first, for a time before them all), so
        the sound card's drift from the wall clock never adds up beyond an anchor's spacing.
        """
        points = self.anchors.get(call_id or "")
        if points is None or len(points) == 0 or not math.isfinite(buffer_s):
            return math.nan
        i = max(0, int(np.searchsorted(points[:, 0], buffer_s, side="right")) - 1)
        return float(points[i, 1] + (buffer_s - points[i, 0]))

    def lines(self) -> Iterable[str]:
        """The anchors as lines of :data:`FILE`."""
        for call_id, points in self.anchors.items():
            for buffer_s, t in points.tolist():
                yield json.dumps([call_id, buffer_s, t])

    @classmethod
    def read(cls, path: Path) -> SentClock:
        """The anchors in ``path`` (none if it is missing); a torn or malformed line is skipped."""
        rows: dict[str, list[tuple[float, float]]] = {}
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        for line in text.splitlines():
            try:
                call_id, buffer_s, t = json.loads(line)
            except (ValueError, TypeError):
                continue
            if isinstance(call_id, str) and _finite(buffer_s) and _finite(t):
                rows.setdefault(call_id, []).append((float(buffer_s), float(t)))
        return cls({call_id: np.array(sorted(points), np.float64) for call_id, points in rows.items()})


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
