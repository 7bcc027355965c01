"""rt-widget: realtime voice models (OpenAI Realtime over WebRTC) in a Jupyter notebook."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._widget import Realtime
from .analysis import cost, transcript, turns, usage
from .emulator import Emulator
from .events import EventLog
from .tools import Tool

try:
    __version__ = version("rt-widget")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["Emulator", "EventLog", "Realtime", "Tool", "__version__", "cost", "transcript", "turns", "usage"]
