"""The Jupyter server extension turns Nagle's algorithm off on kernel WebSockets."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

import rt_widget
from rt_widget import _server


class FakeHandler:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    def set_nodelay(self, value: bool) -> None:
        self.calls.append(("nodelay", value))


def test_kernel_websockets_open_with_nodelay_and_the_original_open_still_runs(monkeypatch, caplog):
    async def original(self: FakeHandler, kernel_id: str) -> str:
        self.calls.append(("open", kernel_id))
        return "opened"

    monkeypatch.setattr(KernelWebsocketHandler, "open", original)
    monkeypatch.setattr(KernelWebsocketHandler, "_rt_widget_nodelay", False, raising=False)
    app = SimpleNamespace(log=logging.getLogger("test-server"))
    with caplog.at_level(logging.INFO, logger="test-server"):
        _server._load_jupyter_server_extension(app)
        _server._load_jupyter_server_extension(app)  # loading twice wraps once
    handler = FakeHandler()
    assert asyncio.run(KernelWebsocketHandler.open(handler, "k1")) == "opened"  # type: ignore[arg-type]
    assert handler.calls == [("nodelay", True), ("open", "k1")]
    assert "TCP_NODELAY" in caplog.text


def test_the_extension_is_light_and_declared():
    assert rt_widget._jupyter_server_extension_points() == [{"module": "rt_widget._server"}]
    probe = "import sys, rt_widget._server; print(sorted({'pandas', 'aiortc', 'anywidget'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"  # the Jupyter server does not load the widget or the emulator
