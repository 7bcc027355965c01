"""Faults the emulator can inject, for testing how clients cope.

Set them on the server (``Emulator(faults=Faults(...))`` or ``emu.faults = ...``) for calls
created afterwards, or on one running call (``emu.call(call_id).faults``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._checks import finite, flag, whole

REST_ERRORS = {
    401: ("invalid_api_key", "invalid_request_error", "Incorrect API key provided (injected fault)."),
    429: ("rate_limit_exceeded", "requests", "Rate limit reached for requests (injected fault). Retry shortly."),
    500: ("server_error", "server_error", "The server had an error while processing your request (injected fault)."),
}
SESSION_EXPIRED = "Your session hit the maximum duration of 60 minutes."
MAX_DELAY_S = 3600.0
"""The longest delay a fault takes: a real session lasts at most an hour."""
_SECONDS = frozenset({"slow_answer_s", "slow_response_s", "session_expired_after_s"})
_FLAGS = frozenset({"malformed_answer", "close_channel_mid_response", "malformed_event", "silent_audio"})


@dataclass
class Faults:
    """What should go wrong. Every field off by default.

    Every assignment is checked (``ValueError`` otherwise): delays are finite seconds from 0
    to an hour, switches are ``True`` or ``False``.
    """

    rest_status: int | None = None
    """Answer every REST request with this error status: 401, 429 or 500."""
    rest_failures: int | None = None
    """With ``rest_status``: fail only this many REST requests from now on, then serve again
    (each failure counts one down). ``None`` fails every request while ``rest_status`` is set."""
    slow_answer_s: float = 0.0
    """Wait this long before answering an SDP offer."""
    slow_response_s: float = 0.0
    """Think this long between ``response.created`` and the first output, as a real model does
    (the scripted model answers at once)."""
    malformed_answer: bool = False
    """Answer offers with 201 and a body that is not SDP."""
    close_channel_mid_response: bool = False
    """Close the data channel after the first delta of a response."""
    session_expired_after_s: float | None = None
    """Send the ``session_expired`` error this long after the channel opens, then hang up."""
    malformed_event: bool = False
    """Send one message that is not JSON right after ``session.created``."""
    silent_audio: bool = False
    """Speak silence instead of speech (the events still say audio was played)."""

    def __setattr__(self, name: str, value: Any) -> None:
        # Checked on every assignment, so ``emu.faults.slow_answer_s = ...`` is checked too.
        super().__setattr__(name, _checked(name, value))

    def take_rest_failure(self) -> int | None:
        """The status the next REST request fails with, if it fails (counting ``rest_failures`` down)."""
        if self.rest_status is None or self.rest_failures == 0:
            return None
        if self.rest_failures is not None:
            self.rest_failures -= 1
        return self.rest_status


def _checked(name: str, value: Any) -> Any:
    """``value`` for the field ``name``, or a ValueError saying what the field takes."""
    if name == "rest_status":
        if value is not None and (type(value) is not int or value not in REST_ERRORS):
            allowed = ", ".join(str(s) for s in REST_ERRORS)
            raise ValueError(f"rest_status={value!r} is not supported; use one of {allowed}, or None.")
    elif name == "rest_failures":
        if value is not None and whole(value, 0) is None:
            raise ValueError(
                f"rest_failures={value!r} is not valid: use a whole number of requests to fail, 0 or more, "
                "or None to fail every request."
            )
    elif name in _SECONDS:
        optional = name == "session_expired_after_s"
        seconds = finite(value)
        if (value is not None or not optional) and (seconds is None or not 0 <= seconds <= MAX_DELAY_S):
            none = ", or None for never" if optional else ""
            raise ValueError(
                f"{name}={value!r} is not valid: use a number of seconds, 0 or more, "
                f"at most {MAX_DELAY_S:.0f} (an hour){none}."
            )
    elif name in _FLAGS:
        flag(value, name)
    return value
