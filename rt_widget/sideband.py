"""The kernel's own WebSocket to a running call (``/realtime?call_id=...``).

Browser messages reach the kernel only while it is idle; the sideband does not wait for that.
It runs on the kernel's background I/O loop, so a cell can ``await`` events while the call goes
on, and tools can answer without the browser in the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from . import _json
from ._loop import io_loop
from .providers import ConnectError, Sideband
from .redaction import protect_logger, redact

MAX_SERVER_EVENT_BYTES = 64 * 2**20
"""The largest server event taken (a bound, so a broken server cannot fill the kernel's memory)."""

log = protect_logger(logging.getLogger(__name__))
# websockets logs handshake headers (the key) and frames at DEBUG; this logger redacts them.
_ws_log = protect_logger(logging.getLogger("rt_widget.sideband.websocket"))


def describe_join_error(exc: BaseException) -> str:
    """Why joining failed, in a few words and without secrets."""
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        advice = {
            401: "check the API key",
            403: "the key may not use this call",
            404: "the call may be over, or base_url is wrong",
        }.get(status, "the service had a problem" if status >= 500 else "")
        return redact(f"the server refused the WebSocket with HTTP {status}" + (f": {advice}" if advice else ""))
    if isinstance(exc, TimeoutError):
        return "the server did not complete the WebSocket handshake in time"
    return redact(f"{type(exc).__name__}: {exc}")


class SidebandConnection:
    """One WebSocket joined to a call; every server event goes to ``on_event`` (I/O thread).

    A message that is not a JSON object arrives as an ``rt_widget.malformed_event`` event, and
    an ``on_event`` that raises is logged: neither ends the connection.
    """

    def __init__(self, target: Sideband, on_event: Callable[[dict[str, Any]], None]) -> None:
        self._target = target
        self._on_event = on_event
        self._ws: ClientConnection | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._task = io_loop().submit(self._run())

    async def _run(self) -> None:
        try:
            async with websockets.connect(
                self._target.url,
                additional_headers=self._target.headers,
                open_timeout=10,
                max_size=MAX_SERVER_EVENT_BYTES,
                logger=_ws_log,
            ) as ws:
                self._ws = ws
                self._ready.set_result(None)
                async for message in ws:
                    self._deliver(message)
        except (OSError, websockets.WebSocketException, TimeoutError) as exc:
            if not self._ready.done():
                self._ready.set_exception(ConnectError(describe_join_error(exc)))
            elif not isinstance(exc, ConnectionClosed) or exc.rcvd is None or exc.rcvd.code != 1000:
                log.warning("The sideband connection ended: %s", describe_join_error(exc))
        except Exception as exc:  # a bug: say so, and never leave a waiter hanging
            log.exception("The sideband connection failed")
            if not self._ready.done():
                self._ready.set_exception(ConnectError(describe_join_error(exc)))
        finally:
            self._ws = None

    def _deliver(self, message: str | bytes) -> None:
        event = _json.event_of(message)
        try:
            self._on_event(event)
        except Exception:  # one event must not deafen the connection
            log.exception("Handling a sideband event of type %r failed", event.get("type"))

    def wait_ready(self, timeout: float = 10) -> None:
        """Block until joined.

        Raises
        ------
        ConnectError
            Why joining failed (redacted: it names no key).
        TimeoutError
            If it is still joining after ``timeout`` seconds.
        """
        self._ready.result(timeout)

    @property
    def open(self) -> bool:
        """Whether the WebSocket is connected."""
        return self._ws is not None

    def send(self, event: dict[str, Any]) -> None:
        """Send one client event (thread-safe; events go out in the order they are sent).

        Raises
        ------
        ConnectionError
            If the connection is closed.
        ValueError
            If the event cannot be JSON (NaN, Infinity, a cycle, values that are not JSON).
        """
        ws = self._ws
        if ws is None:
            raise ConnectionError("The sideband connection is closed.")
        try:
            text = json.dumps(event, allow_nan=False)
        except (ValueError, TypeError, RecursionError) as exc:
            raise ValueError(f"This event cannot be sent as JSON ({exc}); send plain numbers and text.") from None
        loop = io_loop()
        if threading.current_thread() is loop.thread:  # waiting here would block the loop itself
            task = loop.loop.create_task(ws.send(text))
            self._sending.add(task)  # keep a reference until it is done (asyncio holds weak ones)
            task.add_done_callback(self._sent)
        else:
            loop.submit(ws.send(text)).result(10)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("A sideband event could not be sent: %s", redact(task.exception()))

    def close(self) -> None:
        """Leave the call (the call itself goes on)."""
        ws = self._ws
        if ws is None:
            return
        loop = io_loop()
        closing = loop.submit(asyncio.wait_for(ws.close(), 5))
        if threading.current_thread() is not loop.thread:  # on the loop, waiting would block it
            closing.result(10)
