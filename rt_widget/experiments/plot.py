"""The comparison plot of an experiment: latency and cost distributions per config (matplotlib)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PANELS = (
    ("latency_s", "Latency, end of input to first reply (s)"),
    ("audio_latency_s", "Latency as heard, end of input audio to first model audio (s)"),
    ("cost_usd", "Cost per trial (USD)"),
)
_NEEDED = {"config", "status", *(column for column, _ in PANELS)}


def plot_experiment(table: pd.DataFrame) -> Figure:
    """Box plots comparing the configs of an experiment: turn latencies and cost per trial.

    Parameters
    ----------
    table:
        What :func:`~rt_widget.experiments.experiment` returned (or the same read back from
        its folder). Failed trials are left out; a panel with no numbers says so.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per measure: event latency, latency as heard, cost.

    Raises
    ------
    TypeError
        ``table`` is not an experiment table.
    ImportError
        matplotlib is not installed.
    """
    if not isinstance(table, pd.DataFrame) or not set(table.columns) >= _NEEDED:
        missing = sorted(_NEEDED - set(getattr(table, "columns", [])))
        raise TypeError(f"plot_experiment() needs the table rt.experiment() returns; missing columns: {missing}.")
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("Plots need matplotlib: pip install 'rt-widget[analysis]'.") from None
    ok = table[table["status"] == "ok"]
    configs = list(dict.fromkeys(table["config"]))
    figure, axes = plt.subplots(
        len(PANELS), 1, figsize=(max(6.0, 1.2 * len(configs) + 3), 3 * len(PANELS)), squeeze=False
    )
    for ax, (column, title) in zip(axes[:, 0], PANELS, strict=True):
        values = [_numbers(ok.loc[ok["config"] == name, column]) for name in configs]
        _box(ax, configs, values, title)
    figure.tight_layout()
    return figure


def _box(ax: Axes, configs: list[str], values: list[list[float]], title: str) -> None:
    ax.set_title(title, fontsize=10)
    if not any(values):
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="#636363")
        ax.set_yticks([])
        return
    ax.boxplot([v or [math.nan] for v in values], showmeans=True)
    ax.set_xticks(range(1, len(configs) + 1), configs)


def _numbers(column: Iterable[Any]) -> list[float]:
    """Every finite number in a column of numbers or of per-turn lists."""
    out: list[float] = []
    for value in column:
        items = value if isinstance(value, list | tuple) or hasattr(value, "__array__") else [value]
        out.extend(float(v) for v in items if isinstance(v, int | float) and math.isfinite(v))
    return out
