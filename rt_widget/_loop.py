"""An asyncio event loop on a daemon thread.

Notebook kernels own their main-thread loop, and browser messages reach the kernel only while
it is idle, so network work (HTTP to the provider, the emulator's server) runs on loops of our
own instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """Run coroutines on a private event loop living in a daemon thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def thread(self) -> threading.Thread:
        """The thread the loop runs on."""
        return self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop and return a thread-safe future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result from the calling thread."""
        return self.submit(coro).result(timeout)

    def close(self) -> None:
        """Stop the loop and wait for its thread to end."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


_io_loop: BackgroundLoop | None = None
_io_lock = threading.Lock()


def io_loop() -> BackgroundLoop:
    """The process-wide loop used for the kernel's own network calls."""
    global _io_loop
    with _io_lock:
        if _io_loop is None:
            _io_loop = BackgroundLoop("rt-widget-io")
        return _io_loop
