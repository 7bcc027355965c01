"""The browser page as a session's peer: its messages to the session, the session's commands to it.

A page reaches the kernel over Jupyter's comm, or over the loopback link once it has asked for
one (see :mod:`rt_widget.loopback`). Whichever path a message takes, it is handled here: an
SDP offer is answered through the session's provider (on the path it came by), event batches
are put back in order per page (see :mod:`rt_widget.streams`) and ingested, and the rest
(the call's id, approvals, transport statistics) goes to the session. Commands for the call go
to the page that made it. Nothing here knows about widgets: the comm is a callable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import finite, whole
from ..loopback import PageLink, loopback_server
from ..recording import RATE
from ..redaction import protect_logger
from ..streams import Stream
from .core import Session

log = protect_logger(logging.getLogger(__name__))

Message = dict[str, Any]
PAGE_STATES = frozenset({"connecting", "connected", "closed", "error"})
"""The states a page's call reports (``idle`` is the session's own, before any call)."""


class PageTransport:
    """The pages showing a session, and the one in its call.

    Parameters
    ----------
    session:
        Where the pages' messages go.
    comm:
        Sends one message to the pages over Jupyter's comm (the widget's own ``send``).
    loopback:
        Offer pages on this machine the loopback link (events arrive also while a cell runs).
    """

    def __init__(self, session: Session, comm: Callable[[Message], None], *, loopback: bool = True) -> None:
        self._session = session
        self._comm = comm
        self._loopback_wanted = loopback
        self._loopback_token: str | None = None
        self._calling_page: PageLink | None = None  # the page in the call, when it has a link
        self._streams: dict[str, Stream] = {}  # per page: events in order, whichever path
        self._order = threading.Lock()  # one batch at a time, from the comm or the link
        self.displayed = False
        """Whether a view was asked for (display) or a page said it drew one."""

    # -- the Transport a session talks to ------------------------------------------------------

    def post(self, message: Message) -> None:
        """A command for the page in the call: over its link when it has one, else the comm."""
        self.reply(message, self._calling_page)

    def direct(self) -> bool:
        """Whether the page in the call has its loopback link (events then come while a cell runs)."""
        return self.linked()

    def linked(self) -> bool:
        """Whether the page in the call is joined over the loopback link."""
        page = self._calling_page
        return page is not None and page.open

    # -- messages ------------------------------------------------------------------------------

    def reply(self, message: Message, page: PageLink | None) -> None:
        """Send ``message`` to ``page`` over its link, or over the comm when ``page`` is ``None``."""
        if page is not None:
            page.send(message)
        else:
            self._comm(message)

    def on_message(self, msg: Any, page: PageLink | None = None) -> None:
        """A message from a page: over the comm (main thread) or its link (the link's thread)."""
        if not isinstance(msg, dict):
            log.warning("A message from the page that is not an object was dropped (a %s).", type(msg).__name__)
            return
        kind = msg.get("kind")
        if kind == "view":
            self.displayed = True
        elif kind == "link":
            self._on_link_request(str(msg.get("id", "")))
        elif kind == "offer":
            self._on_offer(str(msg.get("id", "")), str(msg.get("sdp", "")), page)
        elif kind == "events":
            self._on_events(str(msg.get("stream", "")), msg.get("events") or [])
        elif kind == "state":
            self._on_state(msg)
        elif kind == "call":
            self._session.call_started(str(msg.get("call_id") or ""))
        elif kind == "approval":
            self._session.decide(str(msg.get("call_id")), bool(msg.get("approved")))
        elif kind == "audio":
            self._on_audio(msg)
        elif kind == "stats":
            self._on_stats(msg)
        elif kind == "sent_anchor":
            self._on_sent_anchor(msg)

    def _on_link_request(self, request_id: str) -> None:
        """Tell the page (over the comm, once: never a trait) where and how to join the link."""
        reply: Message = {"kind": "link", "id": request_id, "url": None}
        if self._loopback_wanted:
            server = loopback_server()
            if self._loopback_token is None:
                self._loopback_token = server.route(self.on_message, lambda msg: self.reply(msg, None))
            reply.update(url=server.url, token=self._loopback_token)
        self.reply(reply, None)

    def _on_offer(self, request_id: str, sdp: str, page: PageLink | None) -> None:
        self._calling_page = page  # commands for this call go to the page that made it
        # The answer goes back by the path the offer came; an ephemeral key in it, only there.
        self._session.offer(sdp, lambda answer: self.reply({"kind": "answer", "id": request_id, **answer}, page))

    def _on_events(self, stream: str, batch: Any) -> None:
        with self._order:  # batches from the comm and the link, one at a time
            for item in self._streams.setdefault(stream, Stream()).accept(batch):
                t = item.get("t")
                direction = "client" if item.get("direction") == "client" else "server"
                self._session.ingest(
                    item["event"],
                    direction,
                    seq=int(item["seq"]),
                    call_id=item.get("call_id") or None,
                    t_browser=t / 1000 if t is not None else None,
                )
        self._session.events.flush()

    def _on_state(self, msg: Message) -> None:
        """The page's call changed state: the session takes it as its own (a new call has no id yet)."""
        status, error = msg.get("status"), msg.get("error")
        if (status is not None and status not in PAGE_STATES) or not isinstance(error, str):
            log.warning("A state message from the page with status %r was dropped.", status)
            return
        if status == "closed" and self._session.status == "error":
            return  # the page closing a call the session ended with an error (its sideband heard it first)
        self._session.set_state(status=status, error=error, call_id="" if status == "connecting" else None)

    def _on_audio(self, msg: Message) -> None:
        """A chunk of the page's recording: the microphone's samples, then the model's as many.

        The model's are the voice as received, or as played where the browser cannot copy the
        frames as they arrive (``model_track: "played"``).
        """
        buffers = msg.get("buffers")
        samples, index, t = whole(msg.get("samples"), 1, 2**24), whole(msg.get("index"), 0, 2**40), finite(msg.get("t"))
        first = buffers[0] if isinstance(buffers, list | tuple) and len(buffers) == 1 else None
        payload = bytes(first) if isinstance(first, bytes | bytearray | memoryview) else b""
        segment = msg.get("segment")
        if samples is None or index is None or t is None or not isinstance(segment, str) or msg.get("rate") != RATE:
            log.warning("A recording chunk from the page without a valid index, time, rate or segment was dropped.")
            return
        if len(payload) != 4 * samples:
            log.warning("A recording chunk from the page was dropped: %d bytes for %d samples.", len(payload), samples)
            return
        pcm = np.frombuffer(payload, "<i2")
        played = msg.get("model_track") == "played"
        try:
            self._session.record("mic", pcm[:samples], t / 1000, index, f"page-{segment}")
            self._session.record("model", pcm[samples:], t / 1000, index, f"page-{segment}", played)
        except ValueError as exc:  # an index far past the track's end
            log.warning("A recording chunk from the page was dropped: %s", exc)

    def _on_sent_anchor(self, msg: Message) -> None:
        """When the page captured a point of its call's sent audio (the service's input buffer time).

        A call whose id the page never learnt (a direct post whose answer hid it) is kept under
        ``""``, as its events have no id either.
        """
        call_id, ms, t = msg.get("call_id") or "", finite(msg.get("ms")), finite(msg.get("t"))
        if not isinstance(call_id, str) or ms is None or ms < 0 or t is None:
            log.warning("A sent-audio anchor from the page without a buffer time or a time was dropped.")
            return
        self._session.add_sent_anchor(call_id, ms / 1000, t / 1000)

    def _on_stats(self, msg: Message) -> None:
        """One sample of the browser's transport statistics; fields of the wrong kind are left out."""
        t, stats = msg.get("t"), msg.get("stats")
        if not isinstance(stats, dict) or isinstance(t, bool) or not isinstance(t, int | float):
            log.warning("A stats message from the page without a time or a stats object was dropped.")
            return
        sample: dict[str, Any] = {
            "t": t / 1000,
            "call_id": msg.get("call_id") if isinstance(msg.get("call_id"), str) else None,
        }
        for name, value in stats.items():
            if isinstance(name, str) and (value is None or isinstance(value, str | int | float)):
                sample[name] = value
        self._session.add_stats(sample)

    def close(self) -> None:
        """Stop taking pages over the loopback link (pages already joined stay until they leave)."""
        token, self._loopback_token = self._loopback_token, None
        if token is not None:
            loopback_server().drop(token)
