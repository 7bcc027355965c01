"""The emulator's HTTP front: REST endpoints on aiohttp, one :class:`Call` per WebRTC call."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .call import Call
from .errors import error_response, invalid_api_key
from .ids import new_call_id

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, api-key",
    "Access-Control-Expose-Headers": "Location",
    "Access-Control-Max-Age": "600",
}


@web.middleware
async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Let notebook pages (another origin than the emulator's port) call the REST API."""
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=_CORS)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers.update(_CORS)
    return response


class EmulatorApp:
    """Routes and state of one emulator server."""

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key
        self.calls: dict[str, Call] = {}
        self.app = web.Application(middlewares=[cors])
        self.app.router.add_post("/v1/realtime/calls", self.create_call)
        self.app.router.add_post("/v1/realtime/calls/{call_id}/hangup", self.hangup)
        self.app.on_shutdown.append(self._close_calls)

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token == self._api_key

    async def create_call(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/realtime/calls``: SDP offer in, 201 + SDP answer + ``Location`` out."""
        if not self._authorized(request):
            return invalid_api_key()
        parsed = await _read_offer(request)
        if isinstance(parsed, web.Response):
            return parsed
        offer, session = parsed
        call = Call(new_call_id(), session)
        try:
            answer = await call.answer(offer)
        except ValueError as exc:
            await call.close()
            return error_response(400, f"Invalid SDP offer: {exc}", param="sdp")
        self.calls[call.call_id] = call
        return web.Response(
            status=201,
            text=answer,
            content_type="application/sdp",
            headers={"Location": f"/v1/realtime/calls/{call.call_id}"},
        )

    async def hangup(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/realtime/calls/{call_id}/hangup``: end the call."""
        if not self._authorized(request):
            return invalid_api_key()
        call = self.calls.pop(request.match_info["call_id"], None)
        if call is None:
            return error_response(404, "No session found for the provided call_id", code="call_id_not_found")
        await call.close()
        return web.Response(status=200)

    async def _close_calls(self, _app: web.Application) -> None:
        for call in list(self.calls.values()):
            await call.close()
        self.calls.clear()


async def _read_offer(request: web.Request) -> tuple[str, dict[str, Any] | None] | web.Response:
    """Read the offer from either body form: raw ``application/sdp`` or multipart."""
    if request.content_type == "application/sdp":
        return await request.text(), None
    if request.content_type != "multipart/form-data":
        return error_response(
            400,
            f"Unsupported content type '{request.content_type}'. Send application/sdp, "
            "or multipart/form-data with 'sdp' and 'session' parts.",
        )
    form = await request.post()
    sdp, session = _text(form.get("sdp")), _text(form.get("session"))
    if not sdp or not sdp.strip():
        return error_response(
            400,
            "Missing required parameter: 'sdp'.",
            code="missing_required_parameter",
            param="sdp",
        )
    if session is None:
        return sdp, None
    try:
        config = json.loads(session)
    except json.JSONDecodeError:
        return error_response(400, "The 'session' part is not valid JSON.", param="session")
    if not isinstance(config, dict):
        return error_response(400, "The 'session' part must be a JSON object.", param="session")
    return sdp, config


def _text(value: object) -> str | None:
    """A multipart field as text: aiohttp gives non-``text/*`` parts as bytes."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, web.FileField):
        return value.file.read().decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None
