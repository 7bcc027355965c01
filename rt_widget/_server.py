"""A Jupyter server extension: kernel WebSocket messages leave at once (TCP_NODELAY).

Tornado leaves Nagle's algorithm on for WebSockets. A small kernel message written right
after another one (a comm message just after a status message, say) then waits for the
browser to acknowledge the first, and browsers delay that acknowledgement by up to 40 ms.
A tool's output sent while the browser's events stream in paid those 40 ms; with no delay
it does not. It changes nothing else, and it helps every widget's messages alike.

Installed and enabled with the package (jupyter-config/.../rt_widget.json).
"""

from __future__ import annotations

from typing import Any

_MARK = "_rt_widget_nodelay"


def _load_jupyter_server_extension(serverapp: Any) -> None:
    try:
        from jupyter_server.services.kernels.websocket import KernelWebsocketHandler
    except ImportError:  # a server without this handler: nothing to tune
        serverapp.log.info("rt-widget: no kernel WebSocket handler found; left as it is.")
        return
    if not getattr(KernelWebsocketHandler, _MARK, False):
        original = KernelWebsocketHandler.open

        async def open(self: Any, *args: Any, **kwargs: Any) -> Any:
            self.set_nodelay(True)
            return await original(self, *args, **kwargs)  # type: ignore[no-untyped-call]

        KernelWebsocketHandler.open = open  # type: ignore[method-assign]
        setattr(KernelWebsocketHandler, _MARK, True)
    serverapp.log.info("rt-widget: kernel WebSockets send small messages at once (TCP_NODELAY).")
