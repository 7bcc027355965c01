"""The embedded emulator as a provider: no key, no internet."""

from __future__ import annotations

import atexit
import threading
from typing import Any, Literal

from ..config import SessionConfig
from ..emulator import Emulator
from . import arguments
from .base import CallAnswer, DirectCall, Provider, Sideband
from .openai import OpenAI

_shared: Emulator | None = None
_shared_lock = threading.Lock()


def shared_emulator() -> Emulator:
    """The process-wide emulator, started on first use and stopped at exit."""
    global _shared  # one embedded server per kernel
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = Emulator()
            atexit.register(_shared.stop)
        return _shared


class Local(Provider):
    """Calls go to a local :class:`~rt_widget.Emulator`, exactly as :class:`OpenAI` would go to the service.

    Parameters
    ----------
    emulator:
        A running emulator. By default one is started in this process on first connect.
    flow:
        ``"unified"`` or ``"ephemeral"``, as for :class:`OpenAI`.
    """

    name = "emulator"

    def __init__(self, emulator: Emulator | None = None, flow: Literal["unified", "ephemeral"] = "unified") -> None:
        if emulator is not None and not isinstance(emulator, Emulator):
            raise TypeError(f"emulator must be an rt_widget.Emulator (or None), not {type(emulator).__name__}.")
        self._emulator = emulator
        self.flow = arguments.flow(flow)

    @property
    def emulator(self) -> Emulator:
        """The emulator calls go to (starting the embedded one if needed)."""
        return self._emulator or shared_emulator()

    def _openai(self) -> OpenAI:
        emu = self.emulator
        return OpenAI(api_key=emu.api_key, base_url=emu.base_url, flow=self.flow)

    async def connect(self, offer_sdp: str, config: SessionConfig) -> CallAnswer | DirectCall:
        """Relay or mint against the emulator."""
        return await self._openai().connect(offer_sdp, config)

    async def connect_live(self, offer_sdp: str, session: dict[str, Any]) -> CallAnswer:
        """Create a GPT-Live session on the emulator."""
        return await self._openai().connect_live(offer_sdp, session)

    def live_sideband(self, session_id: str) -> Sideband:
        """The emulator's attach WebSocket for a GPT-Live session."""
        return self._openai().live_sideband(session_id)

    def sideband(self, call_id: str) -> Sideband:
        """The emulator's sideband WebSocket for ``call_id``."""
        return self._openai().sideband(call_id)

    def __repr__(self) -> str:
        return "Local()" if self._emulator is None else f"Local({self._emulator!r})"
