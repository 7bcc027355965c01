"""A loopback WebSocket between a widget's page and the kernel process.

Jupyter's comm carries a message from the browser through the Jupyter server and ZeroMQ to the
kernel, which reads it only between cells, tens of milliseconds later under load. When the page
runs on the kernel's own machine, this link carries the same messages straight to a thread of
the kernel process in about a millisecond, also while a cell runs. The page asks for it over the
comm; the reply names a port and a random token (one-off messages, never traits, so never saved
in the notebook). Pages that cannot connect (a remote browser, a strict content policy) keep
using the comm, and so does a page whose link breaks: nothing is lost either way.

Only a page of this machine can join, and an unauthenticated connection costs little:

- the ``Origin`` must be a loopback one (``http(s)://localhost``, ``127.x.x.x``, ``[::1]`` or
  ``*.localhost``, any port), or absent (not a browser). The page that joins is the notebook's
  own page, served by Jupyter on this machine; a page served from elsewhere never asks for the
  link (it uses the comm), so nothing else needs to be let in;
- until its token is checked, a connection may send one frame of at most
  :data:`HELLO_MAX_BYTES`, within :data:`HELLO_TIMEOUT_S`, and at most
  :data:`MAX_UNAUTHENTICATED` connections may be waiting like this at once;
- after it, frames may be up to :data:`MESSAGE_MAX_BYTES` (a batch of events, a large
  ``session.update``). A bigger frame closes the link with code 1009 and the page sends its
  unconfirmed batches over the comm instead. Frames that are not JSON objects with a ``kind``
  are dropped with a warning in the log; the link goes on.
"""

from __future__ import annotations

import asyncio
import http
import ipaddress
import json
import logging
import secrets
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import MultipleValuesError
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from . import _json
from ._checks import whole
from ._loop import BackgroundLoop
from .redaction import protect_logger, remember

log = protect_logger(logging.getLogger(__name__))
# websockets logs frames at DEBUG, the hello with its token among them: redact those lines.
_ws_log = protect_logger(logging.getLogger("rt_widget.loopback.websocket"))

Message = dict[str, Any]
Fallback = Callable[[Message], None]
Handler = Callable[[Message, "PageLink"], None]

ACK_DELAY_S = 0.02
HELLO_MAX_BYTES = 4 * 1024
"""The largest frame taken before the token is checked (a hello is about 60 bytes)."""
HELLO_TIMEOUT_S = 2.0
"""How long a connection may take to open and say hello before it is closed."""
MAX_UNAUTHENTICATED = 16
"""How many connections may wait for their token check at once; more are refused."""
MESSAGE_MAX_BYTES = 16 * 2**20
"""The largest frame taken from a joined page: a batch of events, images in them included."""


def loopback_origin(origin: str | None) -> bool:
    """Whether a WebSocket ``Origin`` may join: a loopback page, or no browser at all (``None``).

    Parameters
    ----------
    origin:
        The ``Origin`` header, or ``None`` when there is none.
    """
    if origin is None:
        return True
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018  # raises for a port that is not a number
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or parts.path or parts.query or parts.username:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class PageLink:
    """One page's connection to the kernel.

    :meth:`send` is thread-safe, never waits and keeps order; once the connection is gone,
    messages go to ``fallback`` (the comm) instead.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, fallback: Fallback) -> None:
        self._loop = loop
        self._fallback = fallback
        self._outbox: asyncio.Queue[tuple[Message, str]] = asyncio.Queue()
        self._last_seq: Any = None  # the last event batch not yet acknowledged
        self.open = True

    def send(self, msg: Message) -> None:
        """Queue ``msg`` for the page (or hand it to the comm when the link is closed).

        Raises
        ------
        ValueError
            If ``msg`` cannot be JSON (NaN, Infinity, a cycle, values that are not JSON), as
            the comm would.
        """
        if not self.open:
            self._fallback(msg)
            return
        try:
            text = json.dumps(msg, allow_nan=False)
        except (ValueError, TypeError, RecursionError) as exc:
            raise ValueError(f"This message cannot go to the page as JSON ({exc}).") from None
        try:
            self._loop.call_soon_threadsafe(self._enqueue, msg, text)
        except RuntimeError:  # the server was stopped
            self.open = False
            self._fallback(msg)

    def _enqueue(self, msg: Message, text: str | None = None) -> None:
        # On the loop's thread, so it cannot slip in after write() has passed on the rest.
        if self.open:
            self._outbox.put_nowait((msg, text if text is not None else json.dumps(msg)))
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
                msg, text = await self._outbox.get()
                try:
                    await ws.send(text)
                except ConnectionClosed:
                    self._outbox.put_nowait((msg, text))
                    return
        finally:
            self.open = False
            while not self._outbox.empty():
                msg, _text = self._outbox.get_nowait()
                if msg.get("kind") != "ack":
                    self._fallback(msg)


class LoopbackServer:
    """A WebSocket server on 127.0.0.1 with its own thread; pages join a widget by its token."""

    def __init__(self) -> None:
        self._loop = BackgroundLoop("rt-widget-loopback")
        self._routes: dict[str, tuple[Handler, Fallback]] = {}
        self._waiting: set[ServerConnection] = set()  # joined the socket, token not yet checked
        self._server: Server | None = None
        self.port: int = self._loop.run(self._start(), timeout=10)

    async def _start(self) -> int:
        # No compression: on loopback it only costs time (and it would let a small frame
        # inflate past the size caps' spirit).
        self._server = await serve(
            self._serve,
            "127.0.0.1",
            0,
            compression=None,
            max_size=HELLO_MAX_BYTES,  # raised for a page once its token is checked
            max_queue=4,
            open_timeout=HELLO_TIMEOUT_S,
            process_request=self._screen,
            logger=_ws_log,
            server_header=None,
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
        remember(token)  # never in a log line, even websockets' DEBUG frames
        self._routes[token] = (on_message, fallback)
        return token

    def drop(self, token: str) -> None:
        """Forget a token (its widget was closed); pages already joined stay until they leave."""
        self._routes.pop(token, None)

    def _screen(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse, before the WebSocket opens, pages of other origins and a crowd of strangers."""
        try:
            origin = request.headers.get("Origin")
        except MultipleValuesError:
            origin = "several"
        if not loopback_origin(origin):
            log.debug("a loopback connection from origin %.100r was refused", origin)
            return connection.respond(http.HTTPStatus.FORBIDDEN, "Only pages on this machine may join.\n")
        if len(self._waiting) >= MAX_UNAUTHENTICATED:
            log.debug("a loopback connection was refused: %d are already waiting to join", len(self._waiting))
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "Too many connections waiting.\n")
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        if len(self._waiting) >= MAX_UNAUTHENTICATED:  # several got past _screen at once
            await ws.close(1013, "too many connections waiting")
            return
        self._waiting.add(ws)
        try:
            route = await self._join(ws)
        finally:
            self._waiting.discard(ws)
        if route is None:
            return
        ws.protocol.max_size = MESSAGE_MAX_BYTES  # read for every frame, so it applies from now
        on_message, fallback = route
        page = PageLink(asyncio.get_running_loop(), fallback)
        await ws.send(json.dumps({"kind": "ready"}))
        writer = asyncio.create_task(page.write(ws))
        try:
            async for frame in ws:
                self._handle(frame, on_message, page)
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()

    async def _join(self, ws: ServerConnection) -> tuple[Handler, Fallback] | None:
        """The route of the hello's token, or ``None`` (the connection is then closed)."""
        try:
            frame = await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S)
        except TimeoutError:
            await ws.close(1008, "no hello")
            return None
        except ConnectionClosed:  # gone, or its hello was too big (closed with 1009)
            return None
        hello = _parse(frame)
        token = hello.get("token") if isinstance(hello, dict) else None
        route = self._routes.get(token) if isinstance(token, str) else None
        if route is None:
            await ws.close(4003, "unknown token")
        return route

    def _handle(self, frame: str | bytes, on_message: Handler, page: PageLink) -> None:
        """One frame from a joined page: checked, handed on, and acknowledged if it has events."""
        msg = _parse_binary(frame) if isinstance(frame, bytes) and frame[:1] == b"\x00" else _parse(frame)
        if not isinstance(msg, dict) or not isinstance(msg.get("kind"), str):
            log.warning(
                "A %d-byte message on the loopback link was dropped: it is not a JSON object with a 'kind'.",
                len(frame),
            )
            return
        try:
            on_message(msg, page)
        except Exception:  # one bad message must not end the page's link
            log.exception("Handling a %.40r message from the page failed", msg["kind"])
        events = msg.get("events")
        if msg["kind"] == "events" and isinstance(events, list):
            given = (whole(item.get("seq"), 0, 2**53 - 1) for item in events if isinstance(item, dict))
            seqs = [seq for seq in given if seq is not None]
            if seqs:
                page.received(max(seqs))

    def close(self) -> None:
        """Close every page's link, stop listening and end the server's thread."""
        self._loop.run(self._stop(), timeout=15)
        self._loop.close()

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def _parse_binary(frame: bytes) -> Any:
    """A message with a payload (a recording's chunk); ``None`` if malformed.

    The frame is a 4-byte big-endian header length, the header as JSON, then the payload,
    which the message gets as ``buffers``. JSON frames never start with a zero byte, so the
    two cannot be confused.
    """
    if len(frame) < 4:
        return None
    size = int.from_bytes(frame[:4], "big")
    header = _parse(frame[4 : 4 + size]) if 4 + size <= len(frame) else None
    if not isinstance(header, dict):
        return None
    header["buffers"] = [memoryview(frame)[4 + size :]]
    return header


def _parse(frame: str | bytes) -> Any:
    """A frame's JSON value, or ``None`` if it is not JSON (or not UTF-8)."""
    try:
        return _json.loads(frame)
    except (ValueError, RecursionError):
        return None


_server: LoopbackServer | None = None
_server_lock = threading.Lock()


def loopback_server() -> LoopbackServer:
    """The kernel's loopback server, started on first use."""
    global _server
    with _server_lock:
        if _server is None:
            _server = LoopbackServer()
        return _server
