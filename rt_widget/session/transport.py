"""What a session needs from the connection to its peer (the browser page, or a kernel-side peer).

Commands go out through :meth:`Transport.post` as the messages the kernel sends a page:
``{"kind": "connect"}``, ``{"kind": "hangup"}`` and ``{"kind": "send", "event": {...}}``. What
the peer reports comes in through the session's own methods (``offer``, ``ingest``,
``call_started``, ``set_state``, ``decide``, ``add_stats``), so the data walks one way: from the
transport to the session, and from the session to whoever mirrors its state.
"""

from __future__ import annotations

from typing import Any, Protocol


class Transport(Protocol):
    """The connection between a :class:`~rt_widget.session.Session` and its peer."""

    def post(self, message: dict[str, Any]) -> None:
        """Deliver one command to the peer in the call (``connect``, ``hangup``, ``send``)."""

    def direct(self) -> bool:
        """Whether the peer's events reach the kernel while a cell runs (``wait_for`` needs that)."""
