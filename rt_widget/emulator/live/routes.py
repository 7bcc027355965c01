"""GPT-Live's HTTP front in the emulator: create, hang up, and the sideband ``attach`` WebSocket.

Mounted under ``/v1`` (OpenAI) and ``/openai/v1`` (Azure, which also takes an ``api-key``
header) by :class:`~rt_widget.emulator.server.EmulatorApp`. A Live session is an emulator call
(:class:`~rt_widget.emulator.call.Call`) running a :class:`.session.LiveSession`; its call id is
the session id.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from ..body import read_json_object
from ..call import Call
from ..errors import ApiError
from ..ids import new_id
from ..model import Model
from ..validation import MAX_EVENT_BYTES
from .resource import SESSION_TTL_S, resolve
from .session import LiveSession
from .validation import validate_create

if TYPE_CHECKING:
    from aiohttp.web_urldispatcher import UrlDispatcher

    from ..server import EmulatorApp


class LiveRoutes:
    """The Live endpoints of one emulator server (its key, its calls, its model)."""

    def __init__(self, server: EmulatorApp, model: Model) -> None:
        self._server = server
        self._model = model

    def mount(self, router: UrlDispatcher) -> None:
        """Add the routes under the OpenAI and Azure prefixes."""
        for prefix in ("/v1", "/openai/v1"):
            router.add_post(f"{prefix}/live/sessions", self.create)
            router.add_post(f"{prefix}/live/sessions/{{session_id}}/hangup", self.hangup)
            router.add_get(f"{prefix}/live/sessions/{{session_id}}/attach", self.attach)

    async def create(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/live/sessions``: ``{session, transport: {type: "webrtc", sdp}}`` in, 201 + answer out."""
        self._server.require_key(request)
        if request.content_type != "application/json":
            msg = (
                f"Unsupported content type '{request.content_type[:100]}'. Send application/json: "
                '{"session": {"model": "gpt-live-1", ...}, "transport": {"type": "webrtc", "sdp": "<offer>"}}.'
            )
            raise ApiError(400, msg)
        body = await read_json_object(request)
        validate_create(body)
        session_id = new_id("live", 24)
        resource = resolve(body["session"], session_id, int(time.time()) + SESSION_TTL_S)

        def live_session(call: Call) -> LiveSession:
            return LiveSession(resource, call.send, call.speaker, call.close, self._model)

        try:
            _call, answer = await self._server.open_call(
                body["transport"]["sdp"],
                {},
                call_id=session_id,
                protocol=live_session,
                event_filter=data_channel_filter(resource),
            )
        except ApiError as exc:
            if exc.param == "sdp":
                exc.param = "transport.sdp"
            raise
        return web.json_response(
            {"session": {"id": session_id}, "transport": {"type": "webrtc", "sdp": answer}}, status=201
        )

    async def hangup(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/live/sessions/{id}/hangup``: ``session.closed`` (``close_requested``), then the call ends."""
        self._server.require_key(request)
        _call, live = self._find(request)
        await live.request_close()
        return web.Response(status=200)

    async def attach(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/live/sessions/{id}/attach``: a trusted WebSocket that sees and drives the session."""
        self._server.require_key(request)  # at the handshake: an HTTP error, no frame
        call, live = self._find(request)
        graceful = request.query.get("graceful_close")
        if graceful not in (None, "true", "false"):
            msg = f"Invalid value for 'graceful_close': {graceful[:40]!r}. Use true or false."
            raise ApiError(400, msg, code="invalid_value", param="graceful_close")
        ws = web.WebSocketResponse(max_msg_size=MAX_EVENT_BYTES)
        if not ws.can_prepare(request).ok:
            msg = "This URL is the Live sideband WebSocket: connect with a WebSocket client (Upgrade: websocket)."
            raise ApiError(400, msg)
        await ws.prepare(request)
        outbox: asyncio.Queue[str] = asyncio.Queue()
        if live.started:  # the short replay on attach: the session as it is now
            outbox.put_nowait(
                json.dumps({"type": "session.started", "event_id": new_id("event"), "session": live.resource})
            )
        call.listeners.add(outbox.put_nowait)
        sender = asyncio.ensure_future(_forward(outbox, ws))
        closer = asyncio.ensure_future(_close_when_drained(call, outbox, ws))
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    live.receive_trusted(message.data)
        finally:
            call.listeners.discard(outbox.put_nowait)
            sender.cancel()
            closer.cancel()
        return ws

    def _find(self, request: web.Request) -> tuple[Call, LiveSession]:
        call = self._server.calls.get(request.match_info["session_id"])
        if call is None or not isinstance(call.protocol, LiveSession):
            msg = "No Live session found with this id. It may have closed; create a new one (POST /v1/live/sessions)."
            raise ApiError(404, msg, code="session_not_found", param="session_id")
        return call, call.protocol


def data_channel_filter(resource: dict[str, Any]) -> frozenset[str] | None:
    """The server event types the data channel may carry (``None``: all of them).

    A ``response.event`` selector lets every nested Responses event through (the emulator
    filters by the outer type only).
    """
    rules = resource.get("client", {}).get("data_channel", {}).get("allowed_server_events", "all")
    if rules == "all":
        return None
    return frozenset(rule["type"] for rule in rules)


async def _forward(outbox: asyncio.Queue[str], ws: web.WebSocketResponse) -> None:
    while True:
        text = await outbox.get()
        try:
            await ws.send_str(text)
        finally:
            outbox.task_done()


async def _close_when_drained(call: Call, outbox: asyncio.Queue[str], ws: web.WebSocketResponse) -> None:
    """Close the socket once the call has ended and every event (``session.closed`` last) is sent."""
    await call.closed.wait()
    await outbox.join()
    await ws.close()
