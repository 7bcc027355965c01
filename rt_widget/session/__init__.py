"""The kernel-side session, with no widget in it.

:class:`Session` holds a session's settings, events, tools and call state; a
:class:`Transport` carries its calls: :class:`PageTransport` for a browser page showing the
widget. :class:`rt_widget.Realtime` wraps a session and mirrors its state in traits. Importing
this package does not import anywidget or ipywidgets.
"""

from __future__ import annotations

from .core import Session, StateObserver
from .page import PageTransport
from .transport import Transport

__all__ = ["PageTransport", "Session", "StateObserver", "Transport"]
