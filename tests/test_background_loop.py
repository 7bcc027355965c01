"""The private event loops: aiortc's late sends after a hang-up stay quiet; other failures do not."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

import pytest

from rt_widget._loop import BackgroundLoop

# A coroutine as aiortc's SCTP transport defines it (its file is what tells them apart).
_AIORTC = compile(
    "async def _transmit():\n    raise ConnectionError('Cannot send encrypted data, not connected')\n",
    "/site-packages/aiortc/rtcsctptransport.py",
    "exec",
)


async def _ours() -> None:
    raise ConnectionError("a failure of our own")


def _unretrieved(background: BackgroundLoop, make) -> None:  # type: ignore[no-untyped-def]
    """Run a task that fails and is never awaited, then let it be collected (asyncio reports it then)."""

    async def spawn() -> None:
        asyncio.ensure_future(make())  # noqa: RUF006 - unreferenced on purpose, as aiortc's is
        await asyncio.sleep(0.05)

    background.run(spawn(), timeout=5)
    gc.collect()
    time.sleep(0.05)


@pytest.mark.parametrize("quiet", [True, False], ids=["aiortc late send", "any other failure"])
def test_only_aiortcs_late_sends_are_kept_quiet(caplog: pytest.LogCaptureFixture, quiet: bool) -> None:
    background = BackgroundLoop("test-loop")
    namespace: dict[str, object] = {}
    exec(_AIORTC, namespace)  # a fixed snippet standing in for aiortc's code
    try:
        with caplog.at_level(logging.DEBUG):
            _unretrieved(background, namespace["_transmit"] if quiet else _ours)
    finally:
        background.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    dropped = [r for r in caplog.records if "after the peer hung up" in r.getMessage()]
    if quiet:
        assert errors == []
        assert len(dropped) == 1
    else:
        assert dropped == []
        assert any("never retrieved" in r.getMessage() for r in errors)
