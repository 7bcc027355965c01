"""Faults the emulator can inject, for testing how clients cope.

Set them on the server (``Emulator(faults=Faults(...))`` or ``emu.faults = ...``) for calls
created afterwards, or on one running call (``emu.call(call_id).faults``).
"""

from __future__ import annotations

from dataclasses import dataclass

REST_ERRORS = {
    401: ("invalid_api_key", "invalid_request_error", "Incorrect API key provided (injected fault)."),
    429: ("rate_limit_exceeded", "requests", "Rate limit reached for requests (injected fault). Retry shortly."),
    500: ("server_error", "server_error", "The server had an error while processing your request (injected fault)."),
}
SESSION_EXPIRED = "Your session hit the maximum duration of 60 minutes."


@dataclass
class Faults:
    """What should go wrong. Every field off by default."""

    rest_status: int | None = None
    """Answer every REST request with this error status: 401, 429 or 500."""
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

    def __post_init__(self) -> None:
        if self.rest_status is not None and self.rest_status not in REST_ERRORS:
            allowed = ", ".join(str(s) for s in REST_ERRORS)
            msg = f"rest_status={self.rest_status} is not supported; use one of {allowed}, or None."
            raise ValueError(msg)
        for name in ("slow_answer_s", "slow_response_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name}={value!r} is not valid: use a number of seconds, 0 or more.")
