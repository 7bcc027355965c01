"""Throttle: pass on a stream of changes at most a few times a second, always ending on the latest.

Values pushed from any thread are merged (the latest value of each field wins) and handed to
``deliver`` on the throttle's own thread: at once when nothing was delivered for an interval,
otherwise when the interval is over (the trailing edge), so the last value always arrives.
The thread starts with the first push and ends after a few idle seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

IDLE_S = 5.0
"""How long the delivering thread waits for another push before it ends (the next push starts one)."""


class Throttle:
    """Deliver merged changes at most once per ``interval`` seconds, on a thread of its own.

    Parameters
    ----------
    deliver:
        Called with a dict of the fields that changed since the last delivery, mapped to their
        latest values. Always on the throttle's thread, one call at a time, in order.
    interval:
        The least time between two deliveries, in seconds (above 0).
    name:
        The thread's name (seen in a debugger or a thread dump).
    """

    def __init__(self, deliver: Callable[[dict[str, Any]], None], interval: float, name: str = "rt-widget-throttle"):
        if not interval > 0:
            raise ValueError(f"interval={interval!r} is not valid: use a number of seconds above 0, e.g. 0.25.")
        self._deliver, self._interval, self._name = deliver, interval, name
        self._cond = threading.Condition()
        self._pending: dict[str, Any] = {}
        self._last = -float("inf")  # monotonic time of the last delivery
        self._thread: threading.Thread | None = None
        self._closed = False
        self._delivering = threading.RLock()  # one delivery at a time, also with close()'s

    def push(self, changes: dict[str, Any]) -> None:
        """Merge ``changes`` into what is to be delivered (from any thread; never blocks on ``deliver``)."""
        with self._cond:
            if self._closed:
                return
            self._pending.update(changes)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def close(self, flush: bool = True) -> None:
        """Stop delivering; with ``flush``, what is pending is delivered first (on the caller's thread)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        with self._delivering:  # after a delivery in progress: the last value stays the last
            with self._cond:
                pending, self._pending = self._pending, {}
            if flush and pending:
                self._call(pending)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    if not self._cond.wait(IDLE_S) and not self._pending:
                        self._thread = None  # idle: the next push starts a thread again
                        return
                if self._closed:
                    self._thread = None
                    return
                # Wait out the interval; pushes meanwhile only merge into what is pending.
                wait = self._last + self._interval - time.monotonic()
                while wait > 0 and not self._closed:
                    self._cond.wait(wait)
                    wait = self._last + self._interval - time.monotonic()
                if self._closed:
                    self._thread = None
                    return
            with self._delivering:
                with self._cond:
                    changes, self._pending = self._pending, {}
                    self._last = time.monotonic()
                if changes:  # close() may have delivered them meanwhile
                    self._call(changes)

    def _call(self, changes: dict[str, Any]) -> None:
        try:
            self._deliver(changes)
        except Exception:  # the next change must still go out
            log.exception("Delivering throttled changes failed")
