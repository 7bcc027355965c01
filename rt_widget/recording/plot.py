"""A recording on one time axis: both waveforms, the turns, and the events that made them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..plots import _axes
from .audio_analysis import _measure, check_recording
from .store import Recording
from .track import Track

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# The events ticked, each with its colour and lane (mic above the middle, model below).
TICKS = {
    "input_audio_buffer.speech_started": ("#08519c", 0.3),
    "input_audio_buffer.speech_stopped": ("#6baed6", 0.2),
    "response.created": ("#fd8d3c", 0.05),
    "response.done": ("#a63603", -0.05),
    "output_audio_buffer.started": ("#31a354", -0.2),
    "output_audio_buffer.stopped": ("#a1d99b", -0.3),
    "output_audio_buffer.cleared": ("#de2d26", -0.3),
}
MIC_Y, MODEL_Y = 1.0, -1.0
HALF_HEIGHT = 0.45  # a full-scale waveform's half height, so the lanes never touch


def plot_recording(
    recording: Recording, ax: Axes | None = None, start: float | None = None, end: float | None = None
) -> Axes:
    """Both tracks' waveforms with the turns shaded and the events ticked, on one time axis.

    The mic is drawn above, the model below, each as its minimum and maximum per pixel (so an
    hour plots as fast as a minute); between them a tick for each turn-taking event. Each
    turn is shaded from the start of the user's speech to the end of the reply's voice (from
    :func:`~rt_widget.recording.audio_analysis.audio_turns`), the silence the user waited
    in orange.

    Parameters
    ----------
    recording:
        A recording (``rt.load(path)``).
    ax:
        The matplotlib Axes to draw on; a new figure when ``None``.
    start, end:
        The window to draw, in seconds from the recording's start; all of it by default.

    Returns
    -------
    matplotlib.axes.Axes
        The waveforms are its first two lines, one line per event type ticked follows.
    """
    recording = check_recording(recording, "plot_recording")
    origin = _origin(recording)
    lo, hi = _window(recording, origin, start, end)
    made = ax is None
    ax = _axes(ax, 4)
    from matplotlib.figure import Figure  # matplotlib is there: _axes checked

    figure = ax.get_figure()
    if made and isinstance(figure, Figure):
        figure.set_size_inches(12, 4)
    bins = max(200, int(ax.bbox.width))
    for track, y, colour in ((recording.mic, MIC_Y, "#3182bd"), (recording.model, MODEL_Y, "#31a354")):
        x, level = _envelope(track, origin + lo, origin + hi, bins)
        ax.plot(x - origin, y + level * HALF_HEIGHT, color=colour, linewidth=0.6, label=f"{track.name} track")
    _shade_turns(ax, recording, origin, lo, hi)
    times: dict[str, list[float]] = {}
    for kind, t_browser, t_kernel in recording.events.rows("type", "t_browser", "t_kernel"):
        t = t_browser if t_browser is not None else t_kernel
        if kind in TICKS and t is not None and lo <= t - origin <= hi:
            times.setdefault(kind, []).append(t - origin)
    for kind, (colour, y) in TICKS.items():
        if kind in times:
            ax.plot(times[kind], [y] * len(times[kind]), "|", color=colour, markersize=12, label=kind, zorder=3)
    ax.set_xlim(lo, hi)
    ax.set_ylim(MODEL_Y - 0.6, MIC_Y + 0.6)
    ax.set_yticks([MIC_Y, 0, MODEL_Y], ["mic", "events", "model"])
    ax.set_xlabel("seconds from the start of the recording")
    ax.set_title("Recording: both sides, turns (grey), the user's wait (orange) and events")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    if made and isinstance(figure, Figure):
        figure.tight_layout()  # room for the legend beside the plot
    return ax


def _origin(recording: Recording) -> float:
    """Time zero: the first sample of either track, else the first event."""
    starts = [t.start for t in recording.audio.values() if t.start is not None and len(t.samples)]
    if starts:
        return min(starts)
    times = [b if b is not None else k for b, k in recording.events.rows("t_browser", "t_kernel")]
    return min((t for t in times if t is not None), default=0.0)


def _window(recording: Recording, origin: float, start: Any, end: Any) -> tuple[float, float]:
    ends = [t.end for t in recording.audio.values() if t.end is not None]
    last = max(ends) - origin if ends else 0.0
    times = [b if b is not None else k for b, k in recording.events.rows("t_browser", "t_kernel")]
    last = max([last, *(t - origin for t in times if t is not None)])
    bounds = []
    for name, value, default in (("start", start, 0.0), ("end", end, last)):
        if value is None:
            bounds.append(default)
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise TypeError(f"plot_recording({name}={value!r}) is not valid: use seconds from the recording's start.")
        else:
            bounds.append(float(value))
    lo, hi = bounds
    if hi <= lo:
        if start is None and end is None:
            hi = lo + 1.0  # nothing recorded: an empty plot, not an error
        else:
            raise ValueError(f"plot_recording(start={lo:g}, end={hi:g}) is not valid: start must be before end.")
    return lo, hi


def _envelope(track: Track, t0: float, t1: float, bins: int) -> tuple[npt.NDArray[np.float64], Any]:
    """Times and levels (full scale = 1) of the min and max of each bin, as one zigzag line."""
    if len(track.samples) == 0:
        return np.zeros(0), np.zeros(0)
    lo, hi = (int(i) for i in np.clip(track.index_at([t0, t1]), 0, len(track.samples)))
    if hi - lo < 2:
        return np.zeros(0), np.zeros(0)
    edges = np.unique(np.linspace(lo, hi, min(bins, hi - lo) + 1).astype(np.int64))
    samples = track.samples[lo:hi]
    low = np.minimum.reduceat(samples, edges[:-1] - lo) / 32768.0
    high = np.maximum.reduceat(samples, edges[:-1] - lo) / 32768.0
    middle = track.time_at((edges[:-1] + edges[1:]) / 2)
    return np.repeat(middle, 2), np.column_stack([low, high]).reshape(-1)


def _shade_turns(ax: Axes, recording: Recording, origin: float, lo: float, hi: float) -> None:
    """Each turn from its speech to its reply's end, and the wait between them."""
    for number, turn in enumerate(_measure(recording).to_dict("records"), 1):
        begin, reply_end = turn["turn_start"], turn["reply_end"]
        ended, heard = turn["speech_ended"], turn["first_heard"]
        finish = reply_end if math.isfinite(reply_end) else ended
        if math.isfinite(begin) and math.isfinite(finish) and begin - origin < hi and finish - origin > lo:
            ax.axvspan(begin - origin, finish - origin, color="#bdbdbd", alpha=0.25, linewidth=0)
            ax.text(max(begin - origin, lo), MIC_Y + 0.5, f" turn {number}", fontsize=7, va="top", clip_on=True)
        if math.isfinite(ended) and math.isfinite(heard):
            ax.axvspan(ended - origin, heard - origin, ymin=0.47, ymax=0.53, color="#fd8d3c", alpha=0.5, linewidth=0)
