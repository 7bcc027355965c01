"""Putting the browser's events back in order, once each, whichever path brought them.

Every page numbers its events from 0 in its own stream. Batches come over the comm or the
loopback link, and around a switch between the two a later batch can overtake an earlier one; a
batch can also come twice (re-sent after the link broke). Each stream hands out its events in
sequence order, drops repeats, and holds early arrivals until the gap before them fills.

Items that do not have the shape the page sends (``{"seq": int, "event": {...}}`` with an
optional ``t`` number, ``call_id`` string and ``direction`` string) are dropped with a warning,
and so are sequence numbers absurdly far ahead: one bad item never costs the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ._checks import finite, whole

log = logging.getLogger(__name__)

# A gap that stays open this long is given up on (it should not happen: the comm does not lose
# messages and the page re-sends what the link did not confirm), so nothing waits forever.
GAP_TIMEOUT_S = 2.0

MAX_AHEAD = 100_000
"""An item this far past the next expected one is dropped: it would skip (and so lose) every
event in between once the gap is given up on, and holding it would let memory grow."""


def problem(item: Any) -> str | None:
    """What is wrong with a batch item, or ``None`` when it has the shape the page sends."""
    if not isinstance(item, dict):
        return f"a {type(item).__name__}, not an object"
    if whole(item.get("seq"), 0) is None:
        return "no whole, non-negative 'seq'"
    if not isinstance(item.get("event"), dict):
        return "no 'event' object"
    t = item.get("t")
    # Bounded well inside a float, so arithmetic on it (ms to s, differences) stays finite.
    if t is not None and (finite(t) is None or abs(t) >= 1e300):
        return "a 't' that is not a finite number"
    if not isinstance(item.get("call_id"), str | None) or not isinstance(item.get("direction"), str | None):
        return "a 'call_id' or 'direction' that is not a string"
    return None


class Stream:
    """One page's numbered events."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.next_seq = 0
        self._held: dict[int, dict[str, Any]] = {}
        self._gap_since: float | None = None

    def accept(self, batch: Any) -> list[dict[str, Any]]:
        """Take a batch (a list of items); return the items now ready, in order."""
        if not isinstance(batch, list):
            log.warning("A batch of browser events that is not a list was dropped (a %s).", type(batch).__name__)
            batch = []
        for item in batch:
            wrong = problem(item)
            if wrong is None and item["seq"] - self.next_seq > MAX_AHEAD:
                wrong = f"a 'seq' more than {MAX_AHEAD} past the next expected ({self.next_seq})"
            if wrong is not None:
                log.warning("A browser event was dropped: it has %s.", wrong)
                continue
            seq = item["seq"]
            if seq >= self.next_seq:
                self._held.setdefault(seq, item)
        ready = self._release()
        if self._held and self._gap_since is not None and self._clock() - self._gap_since > GAP_TIMEOUT_S:
            first = min(self._held)
            log.warning("browser events %d to %d never arrived; going on without them", self.next_seq, first - 1)
            self.next_seq = first
            ready += self._release()
        if not self._held:
            self._gap_since = None
        elif self._gap_since is None or ready:
            self._gap_since = self._clock()
        return ready

    def _release(self) -> list[dict[str, Any]]:
        ready = []
        while self.next_seq in self._held:
            ready.append(self._held.pop(self.next_seq))
            self.next_seq += 1
        return ready
