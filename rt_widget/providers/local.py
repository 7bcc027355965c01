"""The embedded emulator as a provider: no key, no internet."""

from __future__ import annotations

import atexit
import threading
from typing import Any

from ..emulator import Emulator
from .base import CallAnswer, Provider
from .openai import OpenAI

_shared: Emulator | None = None
_shared_lock = threading.Lock()


def shared_emulator() -> Emulator:
    """The process-wide emulator, started on first use and stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = Emulator()
            atexit.register(_shared.stop)
        return _shared


class Local(Provider):
    """Calls go to a local :class:`~rt_widget.Emulator` through the unified flow.

    Parameters
    ----------
    emulator:
        A running emulator. By default one is started in this process on first connect.

    """

    name = "emulator"

    def __init__(self, emulator: Emulator | None = None) -> None:
        self._emulator = emulator

    @property
    def emulator(self) -> Emulator:
        """The emulator calls go to (starting the embedded one if needed)."""
        return self._emulator or shared_emulator()

    async def create_call(self, offer_sdp: str, session: dict[str, Any]) -> CallAnswer:
        """Relay the offer to the emulator exactly as :class:`OpenAI` would to the service."""
        emu = self.emulator
        return await OpenAI(api_key=emu.api_key, base_url=emu.base_url).create_call(offer_sdp, session)

    def __repr__(self) -> str:
        return "Local()" if self._emulator is None else f"Local({self._emulator!r})"
