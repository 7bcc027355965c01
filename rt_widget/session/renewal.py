"""Long sessions: a fresh call with the same config before the service's 60-minute limit.

The Realtime API ends every call after an hour with a ``session_expired`` error. With
``renew=True`` a session starts a new call instead of stopping: when the limit nears (once no
response is in progress) or when the error comes. The conversation so far goes into the new
call as text items, whose ids start with :data:`CARRIED_PREFIX` so the analyses do not count
them twice, and an ``rt_widget.session_renewed`` event in the log says which call followed
which, why, and how many items were carried over.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from .. import analysis
from ..events import EventLog
from ..redaction import protect_logger

if TYPE_CHECKING:
    from .core import Session

log = protect_logger(logging.getLogger(__name__))

SESSION_LIMIT_S = 3600.0
"""How long the service lets one call last."""
RENEW_AFTER_S = 3480.0
"""By default a call is renewed after 58 minutes: time to finish the reply in progress."""
CARRIED_PREFIX = analysis.CARRIED_PREFIX
"""Item ids of carried-over messages (a client may name its items; 32 characters at most)."""
RENEWED = "rt_widget.session_renewed"


def check_renew(renew: Any, renew_after_s: Any) -> float | None:
    """The delay before a call is renewed (``None``: never), or a ValueError saying what is accepted."""
    if not isinstance(renew, bool):
        raise ValueError(f"renew={renew!r} is not valid: use True (start a fresh call before the limit) or False.")
    if (
        isinstance(renew_after_s, bool)
        or not isinstance(renew_after_s, int | float)
        or not (0 < renew_after_s < SESSION_LIMIT_S)
    ):
        raise ValueError(
            f"renew_after_s={renew_after_s!r} is not valid: use seconds, more than 0 and less than "
            f"{SESSION_LIMIT_S:.0f} (the service's limit), e.g. {RENEW_AFTER_S:.0f}."
        )
    return float(renew_after_s) if renew else None


def carried_items(events: EventLog) -> list[dict[str, Any]]:
    """The conversation so far as text messages a new call can take, oldest first."""
    rows = analysis.transcript(events)
    items = []
    for role, kind, text in zip(rows["role"], rows["kind"], rows["text"], strict=True):
        if kind != "message" or role not in ("user", "assistant", "system") or not str(text or "").strip():
            continue
        part = "output_text" if role == "assistant" else "input_text"
        items.append(
            {
                "type": "message",
                "id": CARRIED_PREFIX + secrets.token_hex(8),
                "role": role,
                "content": [{"type": part, "text": str(text)}],
            }
        )
    return items


class Renewal:
    """When and how a session's calls are renewed.

    Parameters
    ----------
    session:
        The session whose calls are renewed (its log, its call, its commands).
    after_s:
        Renew a call this long after it connected.
    """

    def __init__(self, session: Session, after_s: float) -> None:
        self._session = session
        self._after_s = after_s
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._due = False  # the limit nears: renew once no response is in progress
        self._carry: list[dict[str, Any]] = []  # for the call being set up

    def connected(self) -> None:
        """A call connected: give it the carried conversation, and plan its renewal."""
        with self._lock:
            carry, self._carry = self._carry, []
            self._due = False
            self._plan(threading.Timer(self._after_s, self._limit_nears))
        for item in carry:
            self._session.send({"type": "conversation.item.create", "item": item})

    def idle(self) -> None:
        """No response is in progress any more: renew now if the limit nears."""
        with self._lock:
            due, self._due = self._due, False
        if due:
            self.renew("the call neared the service's 60-minute limit")

    def renew(self, reason: str) -> None:
        """End the current call and start a new one that carries its conversation on."""
        session = self._session
        carry = carried_items(session.events)
        with self._lock:
            self._carry = carry
            self._plan(None)
        previous = session.call_id
        session._record({"type": RENEWED, "previous_call_id": previous, "reason": reason, "carried_items": len(carry)})
        log.info("Renewing call %s (%s): %d items carried over.", previous, reason, len(carry))
        when = time.strftime("%H:%M:%S")
        session._change(
            {
                "notice": f"Call renewed at {when}: {reason}. A new call carries the conversation on "
                f"({len(carry)} messages carried over); the log keeps both."
            }
        )
        session._post({"kind": "hangup"})
        session._post({"kind": "connect"})

    def stop(self) -> None:
        """The session hung up: no renewal is planned any more."""
        with self._lock:
            self._due = False
            self._carry = []
            self._plan(None)

    def _plan(self, timer: threading.Timer | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = timer
        if timer is not None:
            timer.daemon = True
            timer.start()

    def _limit_nears(self) -> None:
        with self._lock:
            self._due = True
        if not self._session.responding:
            self.idle()
