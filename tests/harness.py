"""An engine under test, with everything it emits checked for conformance."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from rt_widget.emulator.engine import Engine
from rt_widget.emulator.model import Context
from rt_widget.emulator.session import default_session
from rt_widget.emulator.speaker import Speaker
from tests.aio import run as run_coroutine
from tests.conformance import assert_client_event, assert_server_event


class Harness:
    """An engine plus everything it emitted (each event checked for conformance)."""

    def __init__(
        self,
        speaker: Speaker | None = None,
        model: Callable[[Context], Any] | None = None,
        thinking_s: Callable[[], float] = lambda: 0.0,
    ):
        self.events: list[dict[str, Any]] = []
        kwargs = {"model": model} if model else {}
        self.engine = Engine(default_session(), self._emit, speaker, thinking_s=thinking_s, **kwargs)
        self._n = 0

    def _emit(self, event: dict[str, Any]) -> None:
        self._n += 1
        event = {"event_id": f"event_{self._n:021d}", **event}
        assert_server_event(event)
        self.events.append(event)

    async def send(self, event: dict[str, Any]) -> None:
        assert_client_event(event)
        await self.engine.receive(json.dumps(event))

    async def settle(self) -> None:
        while self.engine.responding:
            await asyncio.sleep(0.01)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def last(self, type_: str) -> dict[str, Any]:
        return next(e for e in reversed(self.events) if e["type"] == type_)


def run(test: Callable[[], Awaitable[None]]) -> None:
    run_coroutine(test())


def drain(speaker: Speaker) -> asyncio.Task[None]:
    """Pull frames like aiortc's RTP sender does."""

    async def pull() -> None:
        while True:
            await speaker.recv()

    return asyncio.ensure_future(pull())
