"""Latency as heard: from the audio a headless call sent and the model's voice it captured.

The event-based ``latency_s`` of :func:`rt_widget.analysis.turns` runs from the server's
``speech_stopped`` to ``output_audio_buffer.started``: both are events, and the server decides
when speech stopped (after its VAD's silence). A headless call knows more: when the last loud
frame of its own input went out, and when the first loud frame of the model's voice came in.
``audio_latency_s`` is the time between the two, the silence a user would have waited.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from .peer import Capture, Playback
from .peer.capture import SILENCE_PEAK
from .peer.clips import RATE

FRAME = RATE // 50  # the microphone's 20 ms frame
HEARD_COLUMNS = ["input_ended", "first_heard", "audio_latency_s"]
"""What :func:`heard` adds to a turns table (wall-clock times, and seconds between them)."""


def loud_frames(played: Sequence[Playback], peak: int = SILENCE_PEAK) -> npt.NDArray[np.float64]:
    """Send times of every loud input frame of ``played``, in order.

    A clip's frames went out in real time between its playback's ``started_at`` and
    ``ended_at``; each frame's time is interpolated between the two.
    """
    times: list[npt.NDArray[np.float64]] = []
    for playback in played:
        start, end = playback.started_at, playback.ended_at
        samples = playback.clip.samples
        count = -(-len(samples) // FRAME)  # frames, the last one padded
        if start is None or end is None or count == 0:
            continue  # not played (the call ended first)
        padded = np.zeros(count * FRAME, np.int32)
        padded[: len(samples)] = np.abs(samples.astype(np.int32))
        loud = np.flatnonzero(padded.reshape(count, FRAME).max(axis=1) > peak)
        step = (end - start) / max(count - 1, 1)
        times.append(start + loud.astype(np.float64) * step)
    return np.concatenate(times) if times else np.empty(0)


def heard(turns: pd.DataFrame, played: Sequence[Playback], captures: Sequence[Capture]) -> pd.DataFrame:
    """``turns`` with :data:`HEARD_COLUMNS` added.

    For a spoken turn, ``input_ended`` is the last loud input frame sent before the server
    said speech stopped, and ``first_heard`` the first loud frame of the model's voice after
    both that moment and the turn's ``response.created`` (so the tail of an earlier reply does
    not count). Typed turns, and turns with no voice heard, get ``NaN``.
    """
    sent = loud_frames(played)
    ended: list[float] = []
    first: list[float] = []
    # GPT-Live has no response events: its turns' speech_stopped (the last user fragment's
    # arrival) is bound to come after the input's last loud frame, and the reply after it.
    created_at = turns["response_created"] if "response_created" in turns else [None] * len(turns)
    for stopped, created in zip(turns["speech_stopped"], created_at, strict=True):
        end = _last_before(sent, stopped)
        ended.append(end)
        if np.isnan(end):
            first.append(np.nan)
            continue
        after = max(end, float(created)) if pd.notna(created) else end
        first.append(_first_sound(captures, after))
    out = turns.copy()
    out["input_ended"] = ended
    out["first_heard"] = first
    out["audio_latency_s"] = np.subtract(first, ended)
    return out


def _last_before(times: npt.NDArray[np.float64], t: object) -> float:
    """The latest of ``times`` at or before ``t`` (``NaN`` if none, or no ``t``)."""
    if not isinstance(t, int | float) or np.isnan(t):
        return np.nan
    index = int(np.searchsorted(times, float(t), side="right"))
    return float(times[index - 1]) if index else np.nan


def _first_sound(captures: Sequence[Capture], t: float) -> float:
    """The first loud model frame after ``t`` in any of the calls' captures (``NaN`` if none)."""
    found = [f for f in (c.first_sound_after(t) for c in captures) if f is not None]
    return min(found) if found else np.nan
