"""What listens for a session's events: ``wait_for``'s waiters, and the check that a type can ever be heard."""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import sys
import warnings
from collections.abc import Callable
from typing import Any

from .. import beta

Callback = Callable[[dict[str, Any]], object]
"""Called with each event of the type it was registered for (``on``)."""
Predicate = Callable[[dict[str, Any]], object]
"""Whether an event counts for a ``wait_for`` (truthy: it does)."""


class Waiter:
    """One ``wait_for``: the type it waits for, its predicate, and the future to resolve."""

    def __init__(
        self,
        type_: str,
        predicate: Predicate | None,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[dict[str, Any]],
    ) -> None:
        self.type, self.predicate, self.loop, self.future = type_, predicate, loop, future

    def offer(self, event: dict[str, Any]) -> bool:
        """Resolve with ``event`` if it is the one waited for (from any thread); say whether it was."""
        if self.future.done():
            return False
        try:
            matches, error = self.predicate is None or bool(self.predicate(event)), None
        except Exception as exc:  # the user's predicate failed: wait_for raises it, as it was
            matches, error = True, exc
        if matches:
            with contextlib.suppress(RuntimeError):  # its loop has closed: nobody waits any more
                self.loop.call_soon_threadsafe(_settle, self.future, event, error)
        return matches


def _settle(future: asyncio.Future[dict[str, Any]], event: dict[str, Any], exc: Exception | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(event)


def check_event_type(where: str, type_: Any, known: frozenset[str]) -> None:
    """Refuse what can never match; warn of a type no known event has (a likely typo).

    Unknown types are only warned about: the service adds event types faster than a release
    of this list, and a callback for a new one must still work.
    """
    if not isinstance(type_, str):
        raise TypeError(f"{where} needs an event type string such as 'response.done'; got {type_!r}.")
    if type_ == "*" or type_ in known:
        return
    if type_ in beta.BETA_TO_GA_EVENTS:
        ga = beta.BETA_TO_GA_EVENTS[type_]
        raise ValueError(f"{type_!r} is a legacy beta name; events are logged under GA names: use {ga!r}.")
    close = difflib.get_close_matches(type_, sorted(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "see rt_widget.protocol.SERVER_EVENTS, or '*' for every event."
    warnings.warn(
        f"{where}: {type_!r} is not an event type rt-widget knows for this API: {hint} "
        "(It is registered anyway, in case the service has added it.)",
        UserWarning,
        stacklevel=_callers_level(),
    )


def _callers_level() -> int:
    """The ``stacklevel`` of the first caller outside rt_widget (the widget may wrap the session)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("rt_widget."):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level
