"""When a failed trial is tried again, and how long to wait first.

Only failures that may pass are retried: a :class:`~rt_widget.providers.ConnectError` the
service marked retryable (a rate limit, a server error, a timeout, a broken connection, ICE
failing) and a reply that did not come in time. A refused key or a bad setting fails the same
way every time, so it is recorded at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .._checks import finite, whole
from ..providers import ConnectError

MAX_BACKOFF_S = 60.0
"""The longest wait between two attempts, however many failed before (a ``Retry-After`` may ask for more)."""


class ReplyTimeoutError(TimeoutError):
    """The model did not answer an input (or finish speaking) in time; the call may do better next time."""


@dataclass(frozen=True)
class Retry:
    """How many times a failed trial is tried again, and the backoff between attempts.

    Parameters
    ----------
    retries:
        Attempts after the first, 0 or more.
    backoff_s:
        The wait before the first retry; it doubles with each further one, up to
        :data:`MAX_BACKOFF_S`, plus up to half of it again at random (so trials that failed
        together do not all come back at the same moment).
    """

    retries: int = 3
    backoff_s: float = 1.0

    def __post_init__(self) -> None:
        if whole(self.retries, 0) is None:
            raise ValueError(f"retries={self.retries!r} is not valid: use a whole number, 0 or more.")
        seconds = finite(self.backoff_s)
        if seconds is None or not 0 <= seconds <= MAX_BACKOFF_S:
            raise ValueError(
                f"backoff_s={self.backoff_s!r} is not valid: use a number of seconds from 0 to {MAX_BACKOFF_S:g}."
            )

    def delay(self, attempt: int, error: BaseException, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 for the first).

        The service's ``Retry-After`` (``ConnectError.retry_after_s``) is honoured when it asks
        for longer than the backoff.
        """
        base = min(MAX_BACKOFF_S, self.backoff_s * 2 ** (attempt - 1))
        jittered: float = base * (1 + 0.5 * (rng or random).random())
        asked = finite(getattr(error, "retry_after_s", None))
        return jittered if asked is None else max(jittered, asked)


def retryable(error: BaseException) -> bool:
    """Whether trying ``error``'s trial again may succeed."""
    if isinstance(error, ConnectError):
        return error.retryable
    return isinstance(error, TimeoutError)
