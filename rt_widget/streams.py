"""Putting the browser's events back in order, once each, whichever path brought them.

Every page numbers its events from 0 in its own stream. Batches come over the comm or the
loopback link, and around a switch between the two a later batch can overtake an earlier one; a
batch can also come twice (re-sent after the link broke). Each stream hands out its events in
sequence order, drops repeats, and holds early arrivals until the gap before them fills.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# A gap that stays open this long is given up on (it should not happen: the comm does not lose
# messages and the page re-sends what the link did not confirm), so nothing waits forever.
GAP_TIMEOUT_S = 2.0


class Stream:
    """One page's numbered events."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.next_seq = 0
        self._held: dict[int, dict[str, Any]] = {}
        self._gap_since: float | None = None

    def accept(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Take a batch; return the events now ready, in order."""
        for item in batch:
            seq = int(item["seq"])
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
