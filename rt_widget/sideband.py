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

from ._loop import io_loop
from .providers import Sideband

SECRET_HEADERS = frozenset({"authorization", "api-key"})


class _RedactHeaders(logging.Filter):
    """websockets logs handshake headers at DEBUG; keep keys out of those lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and str(args[0]).lower() in SECRET_HEADERS:
            record.args = (args[0], "[redacted]")
        return True


_ws_log = logging.getLogger("rt_widget.sideband.websocket")
_ws_log.addFilter(_RedactHeaders())


class SidebandConnection:
    """One WebSocket joined to a call; every server event goes to ``on_event`` (I/O thread)."""

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
                max_size=None,
                logger=_ws_log,
            ) as ws:
                self._ws = ws
                self._ready.set_result(None)
                async for message in ws:
                    try:
                        event = json.loads(message)
                    except ValueError:
                        event = {"type": "rt_widget.malformed_event", "data": str(message)}
                    self._on_event(event)
        except (OSError, websockets.WebSocketException, TimeoutError) as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
        finally:
            self._ws = None

    def wait_ready(self, timeout: float = 10) -> None:
        """Block until joined; raise what prevented it."""
        self._ready.result(timeout)

    @property
    def open(self) -> bool:
        """Whether the WebSocket is connected."""
        return self._ws is not None

    def send(self, event: dict[str, Any]) -> None:
        """Send one client event (thread-safe; events go out in the order they are sent)."""
        ws = self._ws
        if ws is None:
            raise ConnectionError("The sideband connection is closed.")
        loop = io_loop()
        if threading.current_thread() is loop.thread:  # waiting here would block the loop itself
            task = loop.loop.create_task(ws.send(json.dumps(event)))
            self._sending.add(task)  # keep a reference until it is done (asyncio holds weak ones)
            task.add_done_callback(self._sent)
        else:
            loop.submit(ws.send(json.dumps(event))).result(10)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _ws_log.warning("a sideband event could not be sent: %s", task.exception())

    def close(self) -> None:
        """Leave the call (the call itself goes on)."""
        ws = self._ws
        if ws is None:
            return
        loop = io_loop()
        closing = loop.submit(asyncio.wait_for(ws.close(), 5))
        if threading.current_thread() is not loop.thread:  # on the loop, waiting would block it
            closing.result(10)
