"""rt-widget: realtime voice models (OpenAI Realtime over WebRTC) in a Jupyter notebook."""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._widget import Realtime
    from .analysis import cost, transcript, turns, usage
    from .call import Call
    from .emulator import Emulator
    from .events import EventLog
    from .experiments import experiment, plot_experiment
    from .recording import Recording, load
    from .recording.audio_analysis import echo_check
    from .recording.plot import plot_recording
    from .replay import replay
    from .tools import Tool

try:
    __version__ = version("rt-widget")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

# Imported on first use, so that light parts (the Jupyter server extension in _server.py)
# do not pull in the widget, pandas and the emulator's WebRTC stack.
_PUBLIC = {
    "Realtime": "._widget",
    "Call": ".call",
    "Emulator": ".emulator",
    "EventLog": ".events",
    "Recording": ".recording",
    "Tool": ".tools",
    "echo_check": ".recording.audio_analysis",
    "load": ".recording",
    "plot_recording": ".recording.plot",
    "replay": ".replay",
    "cost": ".analysis",
    "experiment": ".experiments",
    "plot_experiment": ".experiments",
    "transcript": ".analysis",
    "turns": ".analysis",
    "usage": ".analysis",
}

__all__ = [
    "Call",
    "Emulator",
    "EventLog",
    "Realtime",
    "Recording",
    "Tool",
    "__version__",
    "cost",
    "echo_check",
    "experiment",
    "load",
    "plot_experiment",
    "plot_recording",
    "replay",
    "transcript",
    "turns",
    "usage",
]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name], __name__), name)
    raise AttributeError(f"module 'rt_widget' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "rt_widget._server"}]
