"""A local emulator of the OpenAI Realtime API, and of GPT-Live (see :mod:`.live`), over real WebRTC.

It is the toolkit's default when no API key is configured: classrooms, CI and demos run
against it with no key and no internet.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import secrets
import socket
import warnings
from types import TracebackType
from typing import TYPE_CHECKING

from aiohttp import web

from .._checks import whole
from .._loop import BackgroundLoop
from . import _loopback, asr_worker
from .call import Call, check_burst
from .faults import Faults
from .middleware import http_logger
from .model import Context, FunctionCall, Model, scripted_model
from .replay import Replay, load_replay
from .server import EmulatorApp
from .validation import ProtocolError

if TYPE_CHECKING:
    from ..recording import Recording

__all__ = ["Call", "Context", "Emulator", "Faults", "FunctionCall", "Model", "Replay", "load_replay", "scripted_model"]


class Emulator:
    """A Realtime API (and GPT-Live) server on a background thread.

    Parameters
    ----------
    host:
        Interface to bind. Loopback by default; on loopback the WebRTC peer offers only
        127.0.0.1 as its ICE candidate. Any other address (``"0.0.0.0"``: every interface)
        makes the emulator reachable from the network, with a warning.
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
    replay:
        A recording (its folder, or a loaded ``Recording``) to answer every call with,
        instead of the scripted model: its server events, each at its recorded offset from
        the first one counted from the moment the call's data channel opens, and its model
        track on the call's audio, aligned the same way. Client events are ignored (hanging
        up still ends the call); once the recording has played the call stays open, silent.
        Each call gets a fresh session id; every other id is sent as recorded (see
        :mod:`rt_widget.emulator.replay`). Faults apply as usual, except ``slow_response_s``
        (nothing is generated).

    Raises
    ------
    OSError
        The port is in use, needs privileges, or ``host`` is not an address of this machine.
    ValueError
        ``host`` does not resolve, ``port`` is not from 0 to 65535, or ``replay`` is not a
        recording folder or has no server events to replay.

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
        replay: str | os.PathLike[str] | Recording | Replay | None = None,
    ):
        # First, so a bad recording, host or port fails here with a clear error.
        self.replay: Replay | None = None if replay is None else load_replay(replay)
        """The recording every call replays, prepared; ``None`` for the scripted model."""
        sock = _listen(host, port)
        self.host = host
        self.port = int(sock.getsockname()[1])
        loopback = ipaddress.ip_address(sock.getsockname()[0]).is_loopback
        if not loopback:
            warnings.warn(network_warning(host, self.port), UserWarning, stacklevel=2)
        self.api_key = api_key or "sk-emulator-" + secrets.token_hex(16)
        self._routes = EmulatorApp(self.api_key, model, faults, self.replay)
        self._loop = BackgroundLoop("rt-widget-emulator")
        self._runner: web.AppRunner | None = None
        try:
            self._loop.run(self._start(sock, loopback), timeout=30)
        except BaseException:
            sock.close()
            self._loop.close()
            raise
        if self.replay is None:  # a replay recognizes nothing
            asr_worker.warm_up()  # its process starts while the first call is set up

    async def _start(self, sock: socket.socket, loopback: bool) -> None:
        # Loopback binds offer 127.0.0.1 only; network binds offer the machine's addresses, or
        # 127.0.0.1 where it has none (a namespace with only lo), never an answer without any.
        _loopback.restrict_current_thread(_loopback.LOOPBACK_ONLY if loopback else _loopback.LOOPBACK_FALLBACK)
        self._runner = web.AppRunner(self._routes.app, access_log=None, logger=http_logger)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

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
        """Send ``count`` events on a call within ``seconds`` and wait until they are sent.

        Raises
        ------
        ValueError
            ``count`` is not an integer from 1 to 100000, or ``seconds`` not from 0 to 60.
        KeyError
            No running call has this id.
        """
        try:
            check_burst(count, seconds)
        except ProtocolError as exc:
            raise ValueError(exc.message) from None
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
        replaying = f", replaying {self.replay.source!r}" if self.replay else ""
        return f"Emulator(base_url={self.base_url!r}, {state}{replaying})"


def network_warning(host: str, port: int) -> str:
    """The warning for a bind other than loopback."""
    return (
        f"The emulator on {host}:{port} is reachable from the network: anyone who can reach this "
        "machine can use it with its API key, and any web page may call it (CORS '*'). "
        "Bind to 127.0.0.1 unless that is what you want."
    )


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, or an error that names both and says what to do."""
    if not isinstance(host, str) or not host.strip():
        msg = f"host={host!r} is not valid: use '127.0.0.1' (this machine only) or '0.0.0.0' (every interface)."
        raise ValueError(msg)
    if whole(port, 0, 65535) is None:
        raise ValueError(f"port={port!r} is not valid: use a TCP port from 1 to 65535, or 0 for a free one.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError):
        msg = f"host {host!r} is not an address or a name this machine can resolve; use '127.0.0.1' or '0.0.0.0'."
        raise ValueError(msg) from None
    # IPv4 first: "localhost" often resolves to ::1 before 127.0.0.1, and clients (and the
    # emulator's own base_url) use 127.0.0.1.
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, _type, _proto, _name, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)  # here, not in the server's loop: "in use" may only show at listen()
    except OSError as exc:
        sock.close()
        raise _bind_error(exc, host, port) from None
    return sock


def _bind_error(exc: OSError, host: str, port: int) -> OSError:
    if exc.errno == errno.EADDRINUSE:
        return OSError(exc.errno, f"port {port} on {host} is in use; pick another port or port=0")
    if exc.errno == errno.EADDRNOTAVAIL:
        msg = f"{host} is not an address of this machine; use '127.0.0.1', '0.0.0.0' or one of its addresses"
        return OSError(exc.errno, msg)
    if exc.errno == errno.EACCES:
        return OSError(exc.errno, f"port {port} on {host} needs administrator rights; pick a port from 1024 up, or 0")
    return OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}")
