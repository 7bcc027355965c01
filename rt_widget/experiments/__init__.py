"""Experiments: the same inputs through several session configs, repeated, compared in one table.

:func:`experiment` runs every (config, input, repeat) as a headless :class:`~rt_widget.Call`,
here or on Ray, writes each trial to a folder as it finishes and resumes from it;
:func:`plot_experiment` compares the configs' latency and cost.
"""

from __future__ import annotations

from .plot import plot_experiment
from .run import experiment

__all__ = ["experiment", "plot_experiment"]
