"""Plots of a session (matplotlib, from the 'analysis' extra): latency waterfall and timeline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .analysis import check_log, transcript, turns
from .events import EventLog
from .recording import Recording

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# Each stage of a turn: (label, start column, end column, colour).
STAGES = [
    ("user speaking", "speech_started", "speech_stopped", "#9ecae1"),
    ("commit", "speech_stopped", "committed", "#c6dbef"),
    ("to response", "committed", "response_created", "#fdae6b"),
    ("to first audio", "response_created", "first_audio", "#e6550d"),
    ("model speaking", "first_audio", "audio_stopped", "#74c476"),
]


def _axes(ax: Axes | None, height: float) -> Axes:
    if ax is not None:
        if not hasattr(ax, "barh"):
            raise TypeError(f"ax={ax!r} is not valid: use a matplotlib Axes (e.g. plt.subplots()[1]), or None.")
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("Plots need matplotlib: pip install 'rt-widget[analysis]'.") from None
    return plt.subplots(figsize=(9, height))[1]


def latency_waterfall(log: EventLog | Recording, ax: Axes | None = None) -> Axes:
    """One row per turn: when the user spoke, the wait for the model, and the model speaking.

    Times are seconds from the start of each turn; the label gives the latency from end of
    user speech to first model audio.
    """
    log = check_log(log, "latency_waterfall")
    table = turns(log)
    ax = _axes(ax, 1 + 0.45 * max(1, len(table)))
    for row, turn in enumerate(table.to_dict("records")):
        origin = _first_number(turn, ["speech_started", "committed", "response_created"])
        for label, begin, end, colour in STAGES:
            if _number(turn.get(begin)) and _number(turn.get(end)) and turn[end] >= turn[begin]:
                ax.barh(row, turn[end] - turn[begin], left=turn[begin] - origin, color=colour,
                        label=label if row == 0 else None)  # fmt: skip
        if _number(turn.get("latency_s")):
            ax.text(0, row + 0.3, f"{turn['latency_s'] * 1000:.0f} ms", fontsize=8)
    ax.set_yticks(range(len(table)), [f"turn {i + 1}" for i in range(len(table))])
    ax.invert_yaxis()
    ax.set_xlabel("seconds from the start of the turn")
    ax.set_title("Turn latency (end of user speech to first model audio)")
    if len(table):
        ax.legend(loc="lower right", fontsize=8)
    return ax


def timeline(log: EventLog | Recording, ax: Axes | None = None) -> Axes:
    """The whole session on one time axis: who spoke when, and every event as a tick."""
    log = check_log(log, "timeline")
    items = transcript(log)
    times = [t for (t,) in log.rows("t_kernel")]
    ax = _axes(ax, 3)
    if not times:
        return ax
    start = min(times)
    lanes = {"user": 2, "assistant": 1, "tool": 1, "system": 1}
    for item in items.to_dict("records"):
        lane = lanes.get(item["role"], 1)
        colour = "#3182bd" if item["role"] == "user" else ("#de2d26" if item["interrupted"] else "#31a354")
        ax.barh(lane, max(item["end"] - item["start"], 0.05), left=item["start"] - start, color=colour, height=0.6)
    event_times = [(t_b if t_b is not None else t_k) - start for t_b, t_k in log.rows("t_browser", "t_kernel")]
    ax.plot(event_times, [0] * len(event_times), "|", color="#636363", markersize=10)
    ax.set_yticks([0, 1, 2], ["events", "model", "user"])
    ax.set_xlabel("seconds")
    ax.set_title("Session timeline (red: interrupted replies)")
    return ax


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and value == value  # not None, not NaN


def _first_number(turn: dict[Any, Any], keys: list[str]) -> float:
    return next((float(turn[k]) for k in keys if _number(turn.get(k))), 0.0)
