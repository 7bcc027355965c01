"""Reading a log of GPT-Live events: its rows, which server events are Live's, and the values in them.

The analyses in :mod:`rt_widget.gptlive.conversation` and :mod:`rt_widget.gptlive.billing` read a
log through :func:`events`, and the values in its payloads through :func:`ms` and :func:`as_dict`,
which give ``None`` or an empty dict for whatever does not fit.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .._checks import finite
from ..analysis import check_log
from ..events import EventLog
from ..recording.store import Recording
from .config import SERVER_EVENTS

LIVE_EVENTS = frozenset(SERVER_EVENTS) - {"session.updated", "error"}
"""Server event types only GPT-Live sends (Realtime sends ``session.updated`` and ``error`` too)."""

_REALTIME = {"backend_usage": "usage"}  # the Realtime analysis to use instead, where its name differs


class Event(NamedTuple):
    """One event of the log, as the analyses read it."""

    pos: int  # position in the log: ties on the audio clock keep arrival order
    direction: str
    type: str
    event: dict[str, Any]
    t: float


def is_live(log: EventLog | Recording) -> bool:
    """Whether ``log`` holds GPT-Live events.

    It does when any server event has a type only GPT-Live sends (:data:`LIVE_EVENTS`:
    ``session.started``, transcript fragments, ``session.usage.updated``, ...). Client events
    do not count: what was sent says nothing about which API answered.

    Raises
    ------
    TypeError
        If ``log`` is not an :class:`~rt_widget.EventLog` or a recording.
    """
    log = check_log(log, "is_live")
    return any(d == "server" and t in LIVE_EVENTS for d, t in log.rows("direction", "type"))


def events(log: EventLog | Recording, where: str) -> list[Event]:
    """The log's events with dict payloads, or a ``ValueError`` for a log with no Live events."""
    log = check_log(log, where)
    rows: list[Event] = []
    foreign: list[str] = []
    live = False
    for i, (direction, type_, event, t_browser, t_kernel) in enumerate(
        log.rows("direction", "type", "event", "t_browser", "t_kernel")
    ):
        if not isinstance(type_, str) or not isinstance(event, dict):
            continue  # a foreign log may hold anything: read what fits
        if direction == "server":
            live = live or type_ in LIVE_EVENTS
            if type_ not in LIVE_EVENTS and type_ not in foreign and len(foreign) < 4:
                foreign.append(type_)
        t = float(t_browser if t_browser is not None else t_kernel or 0.0)
        rows.append(Event(i, direction, type_, event, t))
    if foreign and not live:
        instead = _REALTIME.get(where, where)
        raise ValueError(
            f"{where}() reads GPT-Live events and this log has none (its server events are "
            f"{', '.join(foreign)}, ...). For a Realtime log use rt_widget.analysis.{instead}(log); "
            "rt_widget.gptlive.analysis.is_live(log) tells the two apart."
        )
    return rows


def ms(value: Any) -> int | None:
    """A timeline position in ms, or a count of seconds (a number, never a bool), else ``None``."""
    number = finite(value)
    return None if number is None or number < 0 else int(number)


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a dict, else an empty one."""
    return value if isinstance(value, dict) else {}
