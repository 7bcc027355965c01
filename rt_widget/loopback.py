"""A loopback WebSocket between a widget's page and the kernel process.

Jupyter's comm carries a message from the browser through the Jupyter server and ZeroMQ to the
kernel, which reads it only between cells, tens of milliseconds later under load. When the page
runs on the kernel's own machine, this link carries the same messages straight to a thread of
the kernel process in about a millisecond, also while a cell runs. The page asks for it over the
comm; the reply names a port and a random token (one-off messages, never traits, so never saved
in the notebook). Pages that cannot connect (a remote browser, a strict content policy) keep
using the comm, and so does a page whose link breaks: nothing is lost either way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ._loop import BackgroundLoop

log = logging.getLogger(__name__)
_ws_log = logging.getLogger("rt_widget.loopback.websocket")

Message = dict[str, Any]
Fallback = Callable[[Message], None]
Handler = Callable[[Message, "PageLink"], None]

ACK_DELAY_S = 0.02


class PageLink:
    """One page's connection to the kernel.

    :meth:`send` is thread-safe, never waits and keeps order; once the connection is gone,
    messages go to ``fallback`` (the comm) instead.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, fallback: Fallback) -> None:
        self._loop = loop
        self._fallback = fallback
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._last_seq: Any = None  # the last event batch not yet acknowledged
        self.open = True

    def send(self, msg: Message) -> None:
        """Queue ``msg`` for the page (or hand it to the comm when the link is closed)."""
        if not self.open:
            self._fallback(msg)
            return
        try:
            self._loop.call_soon_threadsafe(self._enqueue, msg)
        except RuntimeError:  # the server was stopped
            self.open = False
            self._fallback(msg)

    def _enqueue(self, msg: Message) -> None:
        # On the loop's thread, so it cannot slip in after write() has passed on the rest.
        if self.open:
            self._outbox.put_nowait(msg)
        else:
            self._fallback(msg)

    def received(self, seq: Any) -> None:
        """Note an event batch; acknowledge it (with any others) a moment later.

        The page keeps event batches until they are acknowledged and sends the ones that are
        not over the comm if the link breaks. One ack per ``ACK_DELAY_S`` instead of one per
        batch halves the link's work under load.
        """
        if self._last_seq is None:
            self._loop.call_later(ACK_DELAY_S, self._ack)
        self._last_seq = seq

    def _ack(self) -> None:
        seq, self._last_seq = self._last_seq, None
        self._enqueue({"kind": "ack", "seq": seq})

    async def write(self, ws: ServerConnection) -> None:
        """Send queued messages in order until the connection ends; then pass on the rest."""
        try:
            while True:
                msg = await self._outbox.get()
                try:
                    await ws.send(json.dumps(msg))
                except ConnectionClosed:
                    self._outbox.put_nowait(msg)
                    return
        finally:
            self.open = False
            while not self._outbox.empty():
                msg = self._outbox.get_nowait()
                if msg.get("kind") != "ack":
                    self._fallback(msg)


class LoopbackServer:
    """A WebSocket server on 127.0.0.1 with its own thread; pages join a widget by its token."""

    def __init__(self) -> None:
        self._loop = BackgroundLoop("rt-widget-loopback")
        self._routes: dict[str, tuple[Handler, Fallback]] = {}
        self._server: Server | None = None
        self.port: int = self._loop.run(self._start(), timeout=10)

    async def _start(self) -> int:
        # No compression: on loopback it only costs time. Any origin: the token is the check.
        self._server = await serve(
            self._serve, "127.0.0.1", 0, compression=None, max_size=None, logger=_ws_log, server_header=None
        )
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def url(self) -> str:
        """Where pages connect."""
        return f"ws://127.0.0.1:{self.port}"

    def route(self, on_message: Handler, fallback: Fallback) -> str:
        """A new token for a widget.

        Messages of pages that join with it go to ``on_message`` (on this server's thread);
        messages for a page whose link has closed go to ``fallback``.
        """
        token = secrets.token_urlsafe(24)
        self._routes[token] = (on_message, fallback)
        return token

    def drop(self, token: str) -> None:
        """Forget a token (its widget was closed); pages already joined stay until they leave."""
        self._routes.pop(token, None)

    async def _serve(self, ws: ServerConnection) -> None:
        try:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        except (TimeoutError, ConnectionClosed, ValueError):
            return
        route = self._routes.get(str(hello.get("token"))) if isinstance(hello, dict) else None
        if route is None:
            await ws.close(4003, "unknown token")
            return
        on_message, fallback = route
        page = PageLink(asyncio.get_running_loop(), fallback)
        await ws.send(json.dumps({"kind": "ready"}))
        writer = asyncio.create_task(page.write(ws))
        try:
            async for text in ws:
                try:
                    msg = json.loads(text)
                except ValueError:
                    log.warning("a malformed message on the loopback link was ignored")
                    continue
                if not isinstance(msg, dict):
                    continue
                try:
                    on_message(msg, page)
                except Exception:  # one bad message must not end the page's link
                    log.exception("handling a %r message from the page failed", msg.get("kind"))
                if msg.get("kind") == "events" and msg.get("events"):
                    page.received(msg["events"][-1].get("seq"))
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()

    def close(self) -> None:
        """Close every page's link, stop listening and end the server's thread."""
        self._loop.run(self._stop(), timeout=15)
        self._loop.close()

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


_server: LoopbackServer | None = None
_server_lock = threading.Lock()


def loopback_server() -> LoopbackServer:
    """The kernel's loopback server, started on first use."""
    global _server
    with _server_lock:
        if _server is None:
            _server = LoopbackServer()
        return _server
