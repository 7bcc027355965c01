"""The emulator's HTTP front: REST endpoints and the sideband WebSocket, on aiohttp.

Routes exist under ``/v1`` (OpenAI) and ``/openai/v1`` (Azure, which also takes an ``api-key``
header). One :class:`Call` per WebRTC call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from ..beta import session_from_beta, session_to_beta
from .call import Call
from .errors import error_response, invalid_api_key
from .faults import REST_ERRORS, Faults
from .ids import new_call_id
from .model import Model, scripted_model
from .secrets_store import DEFAULT_TTL_S, MAX_TTL_S, MIN_TTL_S, Secret, SecretStore
from .session import default_session, merge
from .validation import SESSION, ProtocolError, missing, validate_object

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Azure's webrtcfilter=on lets only these server events through to the browser.
AZURE_WEBRTC_FILTER = frozenset(
    {
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "output_audio_buffer.started",
        "output_audio_buffer.stopped",
        "conversation.item.input_audio_transcription.completed",
        "conversation.item.added",
        "conversation.item.created",
        "response.output_text.delta",
        "response.output_text.done",
        "response.output_audio_transcript.delta",
        "response.output_audio_transcript.done",
    }
)
BETA_TTL_S = 60  # beta keys lived about a minute

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, api-key, OpenAI-Beta",
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
    if not isinstance(response, web.WebSocketResponse):
        response.headers.update(_CORS)
    return response


class EmulatorApp:
    """Routes and state of one emulator server."""

    def __init__(self, api_key: str, model: Model = scripted_model, faults: Faults | None = None) -> None:
        self._api_key = api_key
        self._model = model
        self.faults = faults or Faults()
        self.secrets = SecretStore()
        self.calls: dict[str, Call] = {}
        self._watchers: set[asyncio.Task[Any]] = set()
        self.app = web.Application(middlewares=[cors, self._inject_rest_faults])
        for prefix in ("/v1", "/openai/v1"):
            self.app.router.add_post(f"{prefix}/realtime/client_secrets", self.client_secrets)
            self.app.router.add_post(f"{prefix}/realtime/calls", self.create_call)
            self.app.router.add_post(f"{prefix}/realtime/calls/{{call_id}}/hangup", self.hangup)
            self.app.router.add_get(f"{prefix}/realtime", self.sideband)
        self.app.router.add_post("/emulator/calls/{call_id}/burst", self.burst)
        self.app.router.add_post("/v1/realtime/sessions", self.beta_sessions)
        self.app.router.add_post("/v1/realtime", self.beta_call)
        self.app.on_shutdown.append(self._close_calls)

    @web.middleware
    async def _inject_rest_faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        status = self.faults.rest_status
        if status is None or request.method == "OPTIONS":
            return await handler(request)
        code, type_, message = REST_ERRORS[status]
        return error_response(status, message, code=code, type_=type_)

    # -- auth --------------------------------------------------------------------------------

    def _bearer(self, request: web.Request) -> str:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _standard_key(self, request: web.Request) -> bool:
        """The server's API key, as a bearer token (or Azure's ``api-key`` header)."""
        azure = request.path.startswith("/openai/") and request.headers.get("api-key") == self._api_key
        return azure or self._bearer(request) == self._api_key

    def _ephemeral(self, request: web.Request) -> Secret | web.Response | None:
        """The ephemeral key presented, a 401 if it is unknown or expired, or ``None``."""
        token = self._bearer(request)
        if not token.startswith("ek_"):
            return None
        secret = self.secrets.get(token)
        if secret is None:
            return invalid_api_key()
        if secret.expired(self.secrets.clock()):
            return error_response(
                401,
                "The ephemeral key has expired. Mint a new one from /v1/realtime/client_secrets.",
                code="invalid_api_key",
            )
        return secret

    # -- GA ------------------------------------------------------------------------------------

    async def client_secrets(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/realtime/client_secrets``: mint an ``ek_`` key for a session config."""
        if not self._standard_key(request):
            return invalid_api_key()
        body = await _json_body(request)
        if isinstance(body, web.Response):
            return body
        try:
            for key, value in body.items():
                check = {"expires_after": _expires_after, "session": _session_request}.get(key)
                if check is None:
                    raise ProtocolError("unknown_parameter", f"Unknown parameter: '{key}'.", key)
                check(value, key)
        except ProtocolError as exc:
            return error_response(400, exc.message, code=exc.code, param=exc.param)
        ttl = int((body.get("expires_after") or {}).get("seconds", DEFAULT_TTL_S))
        config = body.get("session") or {"type": "realtime"}
        secret = self.secrets.mint(config, ttl)
        effective = merge(default_session(str(config.get("model") or "gpt-realtime")), config)
        effective["expires_at"] = 0
        return web.json_response({"value": secret.value, "expires_at": secret.expires_at, "session": effective})

    async def create_call(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/realtime/calls``: SDP offer in, 201 + SDP answer + ``Location`` out."""
        secret = self._ephemeral(request)
        if isinstance(secret, web.Response):
            return secret
        if secret is None and not self._standard_key(request):
            return invalid_api_key()
        parsed = await _read_offer(request)
        if isinstance(parsed, web.Response):
            return parsed
        offer, session = parsed
        base = secret.session if secret else {}
        webrtc_filter = request.query.get("webrtcfilter") == "on"
        return await self._answer(
            offer,
            merge(base, session or {}),
            prefix=request.path.removesuffix("/realtime/calls"),
            event_filter=AZURE_WEBRTC_FILTER if webrtc_filter else None,
        )

    async def _answer(
        self,
        offer: str,
        session: dict[str, Any],
        *,
        prefix: str,
        beta: bool = False,
        event_filter: frozenset[str] | None = None,
    ) -> web.StreamResponse:
        faults = self.faults
        call = Call(new_call_id(), session, self._model, beta=beta, event_filter=event_filter, faults=faults)
        try:
            answer = await call.answer(offer)
            if faults.slow_answer_s:
                await asyncio.sleep(faults.slow_answer_s)
            if faults.malformed_answer:
                answer = "this is not an SDP answer (injected fault)"
        except ValueError as exc:
            await call.close()
            return error_response(400, f"Invalid SDP offer: {exc}", param="sdp")
        self.calls[call.call_id] = call
        self._forget_when_closed(call)
        return web.Response(
            status=201,
            text=answer,
            content_type="application/sdp",
            headers={"Location": f"{prefix}/realtime/calls/{call.call_id}"},
        )

    async def hangup(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/realtime/calls/{call_id}/hangup``: end the call."""
        if not self._standard_key(request):
            return invalid_api_key()
        call = self.calls.pop(request.match_info["call_id"], None)
        if call is None:
            return _call_not_found()
        await call.close()
        return web.Response(status=200)

    async def sideband(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/realtime?call_id=...``: a WebSocket joined to a running call."""
        if not self._standard_key(request):
            return web.Response(status=401, text="Unauthorized")  # handshake: plain HTTP, no frame
        call = self.calls.get(request.query.get("call_id", ""))
        if call is None:
            return _call_not_found()
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        outbox: asyncio.Queue[str] = asyncio.Queue()
        call.listeners.add(outbox.put_nowait)
        sender = asyncio.ensure_future(_forward(outbox, ws))
        closer = asyncio.ensure_future(_close_when(call, ws))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    call.receive(message.data)
        finally:
            call.listeners.discard(outbox.put_nowait)
            sender.cancel()
            closer.cancel()
        return ws

    async def burst(self, request: web.Request) -> web.StreamResponse:
        """``POST /emulator/calls/{call_id}/burst`` ``{"count": n, "seconds": s}`` (emulator only).

        Load-testing aid: sends ``count`` ``rate_limits.updated`` events within ``seconds``.
        """
        if not self._standard_key(request):
            return invalid_api_key()
        call = self.calls.get(request.match_info["call_id"])
        if call is None:
            return _call_not_found()
        body = await _json_body(request)
        if isinstance(body, web.Response):
            return body
        count, seconds = body.get("count", 1000), body.get("seconds", 1.0)
        if not isinstance(count, int) or not 1 <= count <= 1_000_000 or not isinstance(seconds, int | float):
            return error_response(400, "Send {'count': 1..1000000, 'seconds': a number}.")
        await call.burst(count, float(seconds))
        return web.json_response({"sent": count})

    # -- legacy beta ---------------------------------------------------------------------------

    async def beta_sessions(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/realtime/sessions``: beta mint, flat config, ``client_secret.value``."""
        if not self._standard_key(request):
            return invalid_api_key()
        body = await _json_body(request)
        if isinstance(body, web.Response):
            return body
        ttl = BETA_TTL_S
        client_secret = body.pop("client_secret", None)
        if client_secret is not None:
            try:
                validate_object(client_secret, {"expires_after": _expires_after}, "client_secret")
            except ProtocolError as exc:
                return error_response(400, exc.message, code=exc.code, param=exc.param)
            ttl = int(client_secret.get("expires_after", {}).get("seconds", ttl))
        config = session_from_beta(body)
        try:
            validate_object(config, SESSION, "session")
        except ProtocolError as exc:
            return error_response(400, exc.message, code=exc.code, param=exc.param)
        secret = self.secrets.mint(config, ttl)
        effective = session_to_beta(merge(default_session(str(config.get("model") or "gpt-realtime")), config))
        effective["client_secret"] = {"value": secret.value, "expires_at": secret.expires_at}
        return web.json_response(effective)

    async def beta_call(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/realtime?model=...``: the beta SDP exchange (raw SDP, ephemeral key)."""
        secret = self._ephemeral(request)
        if isinstance(secret, web.Response):
            return secret
        if secret is None and not self._standard_key(request):
            return invalid_api_key()
        if request.content_type != "application/sdp":
            return error_response(400, "Send the SDP offer as application/sdp.")
        session = dict(secret.session) if secret else {"type": "realtime"}
        if request.query.get("model"):
            session["model"] = request.query["model"]
        return await self._answer(await request.text(), session, prefix="/v1", beta=True)

    def _forget_when_closed(self, call: Call) -> None:
        task = asyncio.ensure_future(call.closed.wait())
        task.add_done_callback(lambda _t: self.calls.pop(call.call_id, None))
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _close_calls(self, _app: web.Application) -> None:
        for call in list(self.calls.values()):
            await call.close()
        self.calls.clear()


def _call_not_found() -> web.Response:
    return error_response(404, "No session found for the provided call_id", code="call_id_not_found", param="")


async def _forward(outbox: asyncio.Queue[str], ws: web.WebSocketResponse) -> None:
    while True:
        await ws.send_str(await outbox.get())


async def _close_when(call: Call, ws: web.WebSocketResponse) -> None:
    await call.closed.wait()
    await ws.close()


def _expires_after(value: Any, path: str) -> None:
    def seconds(v: Any, p: str) -> None:
        if not isinstance(v, int) or isinstance(v, bool) or not MIN_TTL_S <= v <= MAX_TTL_S:
            msg = f"Invalid '{p}': expected an integer between {MIN_TTL_S} and {MAX_TTL_S}, got {v!r}."
            raise ProtocolError("invalid_value", msg, p)

    def anchor(v: Any, p: str) -> None:
        if v != "created_at":
            raise ProtocolError("invalid_value", f"Invalid value: {v!r}. Supported values are: 'created_at'.", p)

    validate_object(value, {"anchor": anchor, "seconds": seconds}, path)


def _session_request(value: Any, path: str) -> None:
    if not isinstance(value, dict) or "type" not in value:
        raise missing(f"{path}.type")
    validate_object(value, SESSION, path)


async def _json_body(request: web.Request) -> dict[str, Any] | web.Response:
    text = await request.text()
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        return error_response(400, f"The request body is not valid JSON: {exc.msg}.")
    if not isinstance(body, dict):
        return error_response(400, "The request body must be a JSON object.")
    return body


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
        return error_response(400, "Missing required parameter: 'sdp'.", code="missing_required_parameter", param="sdp")
    if session is None:
        return sdp, None
    try:
        config = json.loads(session)
    except json.JSONDecodeError:
        return error_response(400, "The 'session' part is not valid JSON.", param="session")
    if isinstance(config, dict) and set(config) == {"session"}:
        # OpenAI's WebRTC guide posts its client_secrets body, {"session": {...}}, as this part.
        config = config["session"]
    try:
        _session_request(config, "session")
    except ProtocolError as exc:
        return error_response(400, exc.message, code=exc.code, param=exc.param)
    return sdp, config


def _text(value: object) -> str | None:
    """A multipart field as text: aiohttp gives non-``text/*`` parts as bytes."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, web.FileField):
        return value.file.read().decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None
