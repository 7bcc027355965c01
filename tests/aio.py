"""Run a coroutine to completion from a test, whatever loop the test's thread may have.

Playwright's sync API keeps an event loop running in the main thread while a browser is
open, and ``asyncio.run`` refuses to nest; a short-lived thread sidesteps both.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
