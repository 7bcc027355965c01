"""An asyncio event loop on a daemon thread.

Notebook kernels own their main-thread loop, and browser messages reach the kernel only while
it is idle, so network work (HTTP to the provider, the emulator's server) runs on loops of our
own instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("rt_widget")


def _quiet_late_transmits(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Log aiortc's late SCTP sends at DEBUG; hand everything else to asyncio's default handler.

    When a peer hangs up while data is queued, aiortc's transmit task (which nobody awaits)
    fails with ``ConnectionError`` once DTLS has closed, and asyncio would print its traceback.
    The call is over and nothing was lost that the peer could still receive.
    """
    task, error = context.get("future"), context.get("exception")
    code = getattr(task.get_coro(), "cr_code", None) if isinstance(task, asyncio.Task) else None
    if isinstance(error, ConnectionError) and code is not None and code.co_filename.endswith("rtcsctptransport.py"):
        log.debug("A send after the peer hung up was dropped: %s", error)
        return
    loop.default_exception_handler(context)


class BackgroundLoop:
    """Run coroutines on a private event loop living in a daemon thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(_quiet_late_transmits)
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
        """Cancel what still runs on the loop, stop it and wait for its thread to end.

        Tasks left pending (a peer connection still closing, say) would otherwise be destroyed
        with the loop, and Python prints "Task was destroyed but it is pending!" for each.
        """
        if self.loop.is_closed():
            return
        if threading.current_thread() is not self._thread:
            with contextlib.suppress(Exception):  # a loop that does not settle in time is closed anyway
                self.run(_cancel_pending(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


async def _cancel_pending(rounds: int = 3) -> None:
    """Cancel every other task on the running loop and let each finish (closing may start more)."""
    for _ in range(rounds):
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        if not tasks:
            return
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


_io_loop: BackgroundLoop | None = None
_io_lock = threading.Lock()


def io_loop() -> BackgroundLoop:
    """The process-wide loop used for the kernel's own network calls."""
    global _io_loop
    with _io_lock:
        if _io_loop is None:
            _io_loop = BackgroundLoop("rt-widget-io")
        return _io_loop
