"""A local emulator of the OpenAI Realtime API over real WebRTC.

It is the toolkit's default when no API key is configured: classrooms, CI and demos run
against it with no key and no internet.
"""

from __future__ import annotations

import secrets
import socket
from types import TracebackType

from aiohttp import web

from .._loop import BackgroundLoop
from . import _loopback
from .call import Call
from .faults import Faults
from .model import Context, FunctionCall, Model, scripted_model
from .server import EmulatorApp

__all__ = ["Call", "Context", "Emulator", "Faults", "FunctionCall", "Model", "scripted_model"]


class Emulator:
    """A Realtime API server on a background thread.

    Parameters
    ----------
    host:
        Interface to bind. Loopback by default; on loopback the WebRTC peer offers only
        127.0.0.1 as its ICE candidate.
    port:
        TCP port; ``0`` picks a free one.
    api_key:
        The standard key clients must present. A random one is made when omitted; read it
        from :attr:`api_key` (it is never printed).
    model:
        The scripted model's reply function (see :mod:`rt_widget.emulator.model`).
    faults:
        Faults to inject into requests and new calls (see :class:`Faults`); change them
        later through :attr:`faults`.

    Examples
    --------
    >>> with Emulator() as emu:          # doctest: +SKIP
    ...     print(emu.base_url)
    http://127.0.0.1:54321/v1

    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        model: Model = scripted_model,
        faults: Faults | None = None,
    ):
        self.host = host
        self.api_key = api_key or "sk-emulator-" + secrets.token_hex(16)
        self._routes = EmulatorApp(self.api_key, model, faults)
        self._loop = BackgroundLoop("rt-widget-emulator")
        self._runner: web.AppRunner | None = None
        try:
            self.port = self._loop.run(self._start(host, port), timeout=30)
        except BaseException:
            self._loop.close()
            raise

    async def _start(self, host: str, port: int) -> int:
        if _is_loopback(host):
            _loopback.restrict_current_thread()
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self._runner = web.AppRunner(self._routes.app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return int(sock.getsockname()[1])

    @property
    def base_url(self) -> str:
        """The REST base URL, the emulator's equivalent of ``https://api.openai.com/v1``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def faults(self) -> Faults:
        """Faults injected into requests and calls created from now on."""
        return self._routes.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._routes.faults = faults

    def call(self, call_id: str) -> Call:
        """A running call, e.g. to set faults on it alone (``emu.call(id).faults``)."""
        try:
            return self._routes.calls[call_id]
        except KeyError:
            msg = f"No running call {call_id!r}; running calls: {sorted(self._routes.calls) or 'none'}."
            raise KeyError(msg) from None

    def burst(self, call_id: str, count: int, seconds: float = 1.0) -> None:
        """Send ``count`` events on a call within ``seconds`` and wait until they are sent."""
        call = self.call(call_id)
        self._loop.run(call.burst(count, seconds), timeout=seconds + 60)

    @property
    def running(self) -> bool:
        """Whether the server is still serving."""
        return self._runner is not None

    def stop(self) -> None:
        """Close every call and stop the server. Safe to call twice."""
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        self._loop.run(runner.cleanup(), timeout=30)
        self._loop.close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Emulator(base_url={self.base_url!r}, {state})"


def _is_loopback(host: str) -> bool:
    return host in {"localhost", "::1"} or host.startswith("127.")
