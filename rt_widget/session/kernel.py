"""The kernel itself as a session's peer: a headless call over aiortc, no browser.

:class:`KernelTransport` carries a :class:`~rt_widget.session.Session`'s calls with a
:class:`~rt_widget.peer.KernelPeer`: on ``connect`` it makes the peer's offer, has the session
answer it through its provider (for the legacy beta shape, which only mints a short-lived key,
it then posts the offer with that key itself, as a page would), applies the answer and reports
the call's state; data-channel messages are ingested as server events (timed by the peer's
receive clock), and ``send`` commands go out on the channel and are logged as client events,
as a page logs what it sends.
Events arrive on the peer's loop thread, also while a cell runs, so ``wait_for`` works.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import itertools
import logging
import time
from typing import Any

from .. import _json
from ..peer import Capture, KernelPeer, media_loop
from ..providers import ConnectError
from ..providers.base import post_offer
from ..redaction import protect_logger
from .core import Session

log = protect_logger(logging.getLogger(__name__))

Message = dict[str, Any]

EPHEMERAL_ERROR = (
    "The ephemeral flow has no meaning without a browser: it hands a short-lived key to a page that "
    "connects by itself, and a headless call has no page. Use the unified flow (the default), where the "
    "kernel posts its own offer, e.g. OpenAI(flow='unified') or Local(emulator, flow='unified')."
)


class KernelTransport:
    """A session's calls, made by the kernel as the WebRTC peer.

    Parameters
    ----------
    session:
        Where the call's events and state go.
    loopback:
        Offer 127.0.0.1 as the only ICE candidate (for an emulator bound to loopback).
    connect_timeout_s:
        How long ICE and DTLS may take once the answer is in.
    """

    def __init__(self, session: Session, *, loopback: bool = False, connect_timeout_s: float = 20.0) -> None:
        self._session = session
        self._loopback = loopback
        self._timeout = connect_timeout_s
        self._peer: KernelPeer | None = None
        self._calls = 0
        self._capture = Capture()  # the last call's voice (empty before the first call)
        self._seq = itertools.count()
        self._hanging_up = False
        self.connecting: concurrent.futures.Future[None] = concurrent.futures.Future()
        """Done once the latest ``connect`` has connected (or failed, with a :class:`ConnectError`)."""
        self.closing: concurrent.futures.Future[None] = concurrent.futures.Future()
        """Done once the latest ``hangup`` has closed the peer."""
        self.closing.set_result(None)

    # -- the Transport a session talks to ------------------------------------------------------

    def post(self, message: Message) -> None:
        """Carry out one command of the session: ``connect``, ``hangup`` or ``send``."""
        kind = message.get("kind")
        if kind == "connect":
            self.connecting = media_loop(self._loopback).submit(self._connect())
        elif kind == "hangup":
            self.closing = media_loop(self._loopback).submit(self._hangup())
        elif kind == "send":
            self._send(message["event"])

    def direct(self) -> bool:
        """Always: the peer's events reach the kernel on the media loop, also while a cell runs."""
        return True

    @property
    def peer(self) -> KernelPeer | None:
        """The peer of the current (or last) call, ``None`` before the first."""
        return self._peer

    @property
    def capture(self) -> Capture:
        """The model's voice in the current (or last) call."""
        return self._capture

    # -- on the peer's loop --------------------------------------------------------------------

    def _sent_anchor(self, buffer_s: float, t: float) -> None:
        # Audio goes out once the call is connected: its id is known by then.
        self._session.add_sent_anchor(self._session.call_id, buffer_s, t)

    async def _connect(self) -> None:
        if self._peer is not None:
            await self._peer.close()  # one call at a time: a new connect replaces the old one
        self._hanging_up = False
        self._seq = itertools.count()
        self._calls += 1
        record = anchor = None
        if self._session.recorder is not None:
            segment = f"kernel-call-{self._calls}"  # each call's audio is placed by its own clock
            record = functools.partial(self._session.record, segment=segment)
            anchor = self._sent_anchor
        peer = KernelPeer(
            on_message=self._on_message,
            on_state=self._on_state,
            loopback=self._loopback,
            on_audio=record,
            on_anchor=anchor,
        )
        self._peer, self._capture = peer, peer.capture
        self._session.set_state(status="connecting", error="")
        try:
            offer = await peer.offer()
            answer = await self._answer(offer)
            if "error" in answer:
                raise self._session.connect_failure or ConnectError(str(answer["error"]))
            if "direct" in answer:
                answer = await self._post_direct(answer["direct"], offer)
            call_id = str(answer.get("call_id") or "")
            if call_id and call_id != self._session.call_id:
                self._session.call_started(call_id)
            await peer.accept(str(answer.get("sdp", "")), self._timeout)
        except Exception as exc:
            await peer.close()
            failure = exc if isinstance(exc, ConnectError) else _connect_error(exc)
            self._session.set_state(status="error", error=str(failure))
            raise failure.with_traceback(None) from None
        self._session.set_state(status="connected", error="")

    async def _answer(self, sdp: str) -> Message:
        """The session's answer to ``sdp`` (its reply runs on the I/O loop)."""
        answered: concurrent.futures.Future[Message] = concurrent.futures.Future()

        def reply(answer: Message) -> None:
            if not answered.done():  # a connect cancelled meanwhile (Ctrl+C) has no one left to answer
                answered.set_result(answer)

        self._session.offer(sdp, reply)
        return await asyncio.wrap_future(answered)

    async def _post_direct(self, direct: Message, offer: str) -> Message:
        """Post ``offer`` where a mint-then-direct answer says, as a page would (beta shape only).

        The beta shape has no other flow, so the kernel does both halves. An ephemeral answer of
        the GA API is refused: there the unified flow does the same without a short-lived key.
        The token goes only into the request's header; errors are redacted.
        """
        if not self._session.provider.beta:
            raise ConnectError(EPHEMERAL_ERROR)  # the token in it goes nowhere
        answer = await post_offer(str(direct["url"]), str(direct["token"]), offer)
        return {"sdp": answer.sdp, "call_id": answer.call_id}

    async def _hangup(self) -> None:
        self._hanging_up = True
        if self._peer is not None:
            await self._peer.close()

    def _on_state(self, state: str) -> None:
        """The peer's state: only its end matters here (connecting and connected are set by _connect)."""
        if state == "failed" and not self._hanging_up:
            self._session.set_state(
                status="error", error="The call's connection failed (ICE or DTLS). Connect again to start a new call."
            )
        elif state in ("closed", "failed") and self._session.status not in ("error", "connecting"):
            self._session.set_state(status="closed")

    def _on_message(self, message: str | bytes, t: float) -> None:
        """One data-channel message: a server event, or a malformed one kept as it came."""
        self._log(_json.event_of(message), "server", t)  # the session acts on session_expired

    # -- on the caller's thread ----------------------------------------------------------------

    def _send(self, event: Message) -> None:
        peer = self._peer
        if peer is None:
            raise RuntimeError(f"Cannot send {event.get('type')!r}: there is no call yet; connect first.")
        peer.send(event)
        self._log(event, "client", time.time())

    def _log(self, event: Message, direction: str, t: float) -> None:
        # No lock of ours around ingest: its callbacks and tools may send, which logs again.
        seq = next(self._seq)  # atomic: events of both directions, from any thread, are numbered once
        self._session.ingest(event, direction, seq=seq, call_id=self._session.call_id or None, t_browser=t)
        self._session.events.flush()


def _connect_error(exc: Exception) -> ConnectError:
    """A failure of the peer itself as a :class:`ConnectError`; ICE or DTLS timing out may pass."""
    return ConnectError(f"The call could not connect: {exc}", retryable=isinstance(exc, TimeoutError | ConnectionError))
