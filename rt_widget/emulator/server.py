"""The emulator's HTTP front: REST endpoints and the Realtime WebSockets, on aiohttp.

Routes exist under ``/v1`` (OpenAI) and ``/openai/v1`` (Azure, which also takes an ``api-key``
header). One :class:`Call` per WebRTC call; ``GET /v1/realtime`` is the sideband of a call
(``?call_id=``) or a session of its own over the WebSocket transport (``?model=``,
:class:`WebSocketSession`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .._checks import clip
from ..beta import session_from_beta, session_to_beta
from .beta_session import validate_beta_session
from .body import MAX_BODY_BYTES, parse_json, read_form, read_json_object, read_text
from .call import Call, CallSetupError, SessionProtocol, check_burst
from .errors import ApiError, error_response, invalid_api_key
from .faults import REST_ERRORS, Faults
from .ids import new_call_id
from .live.routes import LiveRoutes
from .middleware import Handler, cors, json_errors
from .model import Model, scripted_model
from .replay import Replay
from .secrets_store import DEFAULT_TTL_S, Secret, SecretStore, check_expires_after, ttl_of
from .session import default_session, merge
from .validation import MAX_EVENT_BYTES, SESSION, ProtocolError, missing, validate_object
from .websocket import WebSocketSession

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
MAX_CONNECTING_CALLS = 64
"""Calls still negotiating (offer answered, client not connected yet) beyond which offers get 429:
each holds sockets until it connects or times out (``call.CONNECT_TIMEOUT_S``)."""
KEY_SUBPROTOCOL = "openai-insecure-api-key."
"""Browsers cannot set headers on a WebSocket: they send the key as this subprotocol, plus ``realtime``."""
# The OpenAI form names a Realtime model; Azure's names a deployment, which may have any well-formed name.
_REALTIME_MODEL = re.compile(r"gpt-realtime([-.][A-Za-z0-9.-]+)?|gpt-4o(-mini)?-realtime-preview(-[0-9-]+)?")
_DEPLOYMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class EmulatorApp:
    """Routes and state of one emulator server (``replay``: every call replays that recording)."""

    def __init__(
        self, api_key: str, model: Model = scripted_model, faults: Faults | None = None, replay: Replay | None = None
    ) -> None:
        self._api_key = api_key
        self._model = model
        self.replay = replay
        self.faults = faults or Faults()
        self.secrets = SecretStore()
        self.calls: dict[str, Call] = {}
        self.websockets: set[WebSocketSession] = set()
        self._answering = 0  # offers being answered right now
        self._watchers: set[asyncio.Task[Any]] = set()
        self.app = web.Application(
            middlewares=[cors, json_errors, self._inject_rest_faults], client_max_size=MAX_BODY_BYTES
        )
        for prefix in ("/v1", "/openai/v1"):
            self.app.router.add_post(f"{prefix}/realtime/client_secrets", self.client_secrets)
            self.app.router.add_post(f"{prefix}/realtime/calls", self.create_call)
            self.app.router.add_post(f"{prefix}/realtime/calls/{{call_id}}/hangup", self.hangup)
            self.app.router.add_get(f"{prefix}/realtime", self.realtime_socket)
        LiveRoutes(self, model).mount(self.app.router)
        self.app.router.add_post("/emulator/calls/{call_id}/burst", self.burst)
        self.app.router.add_post("/v1/realtime/sessions", self.beta_sessions)
        self.app.router.add_post("/v1/realtime", self.beta_call)
        self.app.on_shutdown.append(self._close_calls)

    @web.middleware
    async def _inject_rest_faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return await handler(request)
        status = self.faults.take_rest_failure()  # on the server's loop: one request at a time counts down
        if status is None:
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

    def _ephemeral(self, request: web.Request, token: str | None = None) -> Secret | None:
        """The ephemeral key presented (bearer, or ``token``), or ``None``; an unknown or expired one is a 401."""
        token = self._bearer(request) if token is None else token
        if not token.startswith("ek_"):
            return None
        secret = self.secrets.get(token)
        if secret is None:
            raise invalid_api_key()
        if secret.expired(self.secrets.clock()):
            msg = "The ephemeral key has expired. Mint a new one from /v1/realtime/client_secrets."
            raise ApiError(401, msg, code="invalid_api_key")
        return secret

    def _require_standard_key(self, request: web.Request) -> None:
        if not self._standard_key(request):
            raise invalid_api_key()

    def require_key(self, request: web.Request) -> None:
        """Refuse (401) a request without the server's standard key."""
        self._require_standard_key(request)

    # -- GA ------------------------------------------------------------------------------------

    async def client_secrets(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/realtime/client_secrets``: mint an ``ek_`` key for a session config."""
        self._require_standard_key(request)
        body = await read_json_object(request)
        for key, value in body.items():
            check = {"expires_after": check_expires_after, "session": _session_request}.get(key)
            if check is None:
                raise ProtocolError("unknown_parameter", f"Unknown parameter: '{key}'.", key)
            check(value, key)
        config = body.get("session") or {"type": "realtime"}
        secret = self.secrets.mint(config, ttl_of(body.get("expires_after"), DEFAULT_TTL_S))
        effective = merge(default_session(str(config.get("model") or "gpt-realtime")), config)
        effective["expires_at"] = 0
        return web.json_response({"value": secret.value, "expires_at": secret.expires_at, "session": effective})

    async def create_call(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/realtime/calls``: SDP offer in, 201 + SDP answer + ``Location`` out."""
        secret = self._ephemeral(request)
        if secret is None:
            self._require_standard_key(request)
        offer, session = await _read_offer(request)
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
        call, answer = await self.open_call(offer, session, beta=beta, event_filter=event_filter)
        return web.Response(
            status=201,
            text=answer,
            content_type="application/sdp",
            headers={"Location": f"{prefix}/realtime/calls/{call.call_id}"},
        )

    async def open_call(
        self,
        offer: str,
        session: dict[str, Any],
        *,
        beta: bool = False,
        event_filter: frozenset[str] | None = None,
        call_id: str | None = None,
        protocol: Callable[[Call], SessionProtocol] | None = None,
    ) -> tuple[Call, str]:
        """Answer an SDP offer with a new call and keep it until it closes; return it and its answer.

        Raises
        ------
        ApiError
            400 for an offer it cannot answer (``param`` ``sdp``), 429 when too many calls are
            still connecting, 503 when the emulator cannot set the call up.
        """
        if not offer.strip():
            raise ApiError(400, "Missing required parameter: 'sdp'.", code="missing_required_parameter", param="sdp")
        connecting = self._answering + sum(call.connecting for call in self.calls.values())
        if connecting >= MAX_CONNECTING_CALLS:
            msg = (
                f"Too many calls are still connecting ({connecting}; the emulator allows "
                f"{MAX_CONNECTING_CALLS}). Complete the WebRTC connection of the calls already "
                "started or hang them up; a call that does not connect is closed after a while."
            )
            raise ApiError(429, msg, code="rate_limit_exceeded", type_="requests")
        faults = self.faults
        call = Call(
            call_id or new_call_id(),
            session,
            self._model,
            beta=beta,
            event_filter=event_filter,
            faults=faults,
            replay=None if protocol else self.replay,
            protocol=protocol,
        )
        self._answering += 1
        try:
            answer = await call.answer(offer)  # closes the call itself when it fails
            if faults.slow_answer_s:
                await asyncio.sleep(faults.slow_answer_s)
        except ValueError as exc:
            raise ApiError(400, str(exc), param="sdp") from None
        except CallSetupError as exc:
            raise ApiError(503, str(exc), code="server_error", type_="server_error") from None
        except BaseException:
            await call.close()
            raise
        finally:
            self._answering -= 1
        if faults.malformed_answer:
            answer = "this is not an SDP answer (injected fault)"
        self.calls[call.call_id] = call
        self._forget_when_closed(call)
        return call, answer

    async def hangup(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/realtime/calls/{call_id}/hangup``: end the call."""
        self._require_standard_key(request)
        call = self.calls.pop(request.match_info["call_id"], None)
        if call is None:
            raise _call_not_found()
        await call.close()
        return web.Response(status=200)

    async def realtime_socket(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/realtime``: the sideband of a call with ``?call_id=``, else a WebSocket session."""
        if "call_id" in request.query:
            return await self.sideband(request)
        return await self.websocket_session(request)

    async def websocket_session(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/realtime?model=...``: a new Realtime session over the WebSocket transport.

        The key is the server's (bearer, Azure's ``api-key`` header, or the browsers'
        ``openai-insecure-api-key.`` subprotocol) or an ephemeral one, whose session config the
        session starts with. Every refusal is an HTTP error at the handshake, with no frame.
        """
        offered = _key_subprotocol(request)
        token = self._bearer(request) or offered or ""
        secret = self._ephemeral(request, token)
        if secret is None and not (self._standard_key(request) or token == self._api_key):
            raise invalid_api_key()
        config = dict(secret.session) if secret else {}
        model = request.query.get("model") or str(config.get("model") or "")
        _check_websocket_request(request, model)
        if self.replay is not None:
            msg = "This emulator replays a recording, which it plays to WebRTC calls only; connect over WebRTC."
            raise ApiError(400, msg)
        faults = self.faults  # those in effect when the request came, not when the handshake is done
        ws = web.WebSocketResponse(max_msg_size=MAX_EVENT_BYTES, protocols=("realtime",) if offered else ())
        if not ws.can_prepare(request).ok:
            msg = "This URL is the Realtime WebSocket: connect with a WebSocket client (Upgrade: websocket)."
            raise ApiError(400, msg)
        await ws.prepare(request)
        effective = merge(default_session(model), {**config, "model": model})
        session = WebSocketSession(ws, effective, self._model, faults)
        self.websockets.add(session)
        try:
            await session.serve()
        finally:
            self.websockets.discard(session)
        return ws

    async def sideband(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/realtime?call_id=...``: a WebSocket joined to a running call."""
        self._require_standard_key(request)  # handshake: an HTTP error, no frame
        call = self.calls.get(request.query.get("call_id", ""))
        if call is None:
            raise _call_not_found()
        # aiohttp's default 4 MB frame limit would close the socket on an append the service takes.
        ws = web.WebSocketResponse(max_msg_size=MAX_EVENT_BYTES)
        if not ws.can_prepare(request).ok:
            msg = "This URL is the sideband WebSocket: connect with a WebSocket client (Upgrade: websocket)."
            raise ApiError(400, msg)
        await ws.prepare(request)
        outbox: asyncio.Queue[str] = asyncio.Queue()
        call.listeners.add(outbox.put_nowait)
        sender = asyncio.ensure_future(_forward(outbox, ws))
        closer = asyncio.ensure_future(_close_when(call, ws))
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    call.receive(message.data)  # a binary frame gets its error event from the engine
        finally:
            call.listeners.discard(outbox.put_nowait)
            sender.cancel()
            closer.cancel()
        return ws

    async def burst(self, request: web.Request) -> web.StreamResponse:
        """``POST /emulator/calls/{call_id}/burst`` ``{"count": n, "seconds": s}`` (emulator only).

        Load-testing aid: sends ``count`` ``rate_limits.updated`` events within ``seconds``.
        """
        self._require_standard_key(request)
        call = self.calls.get(request.match_info["call_id"])
        if call is None:
            raise _call_not_found()
        body = await read_json_object(request)
        for key in body:
            if key not in ("count", "seconds"):
                raise ProtocolError("unknown_parameter", f"Unknown parameter: '{key}'.", key)
        count, seconds = body.get("count", 1000), body.get("seconds", 1.0)
        check_burst(count, seconds)
        await call.burst(count, float(seconds))
        return web.json_response({"sent": count})

    # -- legacy beta ---------------------------------------------------------------------------

    async def beta_sessions(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/realtime/sessions``: beta mint, flat config, ``client_secret.value``."""
        self._require_standard_key(request)
        body = await read_json_object(request)
        validate_beta_session(body)
        client_secret = body.pop("client_secret", None) or {}
        ttl = ttl_of(client_secret.get("expires_after"), BETA_TTL_S)
        config = session_from_beta(body)
        validate_object(config, SESSION, "session")  # the translation must give a valid GA session
        secret = self.secrets.mint(config, ttl)
        effective = session_to_beta(merge(default_session(str(config.get("model") or "gpt-realtime")), config))
        if "temperature" in body:
            effective["temperature"] = body["temperature"]
        effective["client_secret"] = {"value": secret.value, "expires_at": secret.expires_at}
        return web.json_response(effective)

    async def beta_call(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/realtime?model=...``: the beta SDP exchange (raw SDP, ephemeral key)."""
        secret = self._ephemeral(request)
        if secret is None:
            self._require_standard_key(request)
        if request.content_type != "application/sdp":
            raise ApiError(400, "Send the SDP offer as application/sdp.")
        session = dict(secret.session) if secret else {"type": "realtime"}
        if request.query.get("model"):
            session["model"] = request.query["model"]
        return await self._answer(await read_text(request), session, prefix="/v1", beta=True)

    def _forget_when_closed(self, call: Call) -> None:
        task = asyncio.ensure_future(call.closed.wait())
        task.add_done_callback(lambda _t: self.calls.pop(call.call_id, None))
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _close_calls(self, _app: web.Application) -> None:
        for call in list(self.calls.values()):
            await call.close()
        self.calls.clear()
        for session in list(self.websockets):
            await session.close(WSCloseCode.GOING_AWAY, b"the emulator is stopping")


def _call_not_found() -> ApiError:
    return ApiError(404, "No session found for the provided call_id", code="call_id_not_found", param="")


async def _forward(outbox: asyncio.Queue[str], ws: web.WebSocketResponse) -> None:
    while True:
        await ws.send_str(await outbox.get())


async def _close_when(call: Call, ws: web.WebSocketResponse) -> None:
    await call.closed.wait()
    await ws.close()


def _key_subprotocol(request: web.Request) -> str | None:
    """The key a browser sent as the ``openai-insecure-api-key.<key>`` subprotocol, if any."""
    for protocol in request.headers.get("Sec-WebSocket-Protocol", "").split(","):
        if protocol.strip().startswith(KEY_SUBPROTOCOL):
            return protocol.strip().removeprefix(KEY_SUBPROTOCOL)
    return None


def _check_websocket_request(request: web.Request, model: str) -> None:
    """Refuse (400/404) what the emulator's WebSocket transport does not serve: the error says what to use."""
    if "api-version" in request.query:
        msg = (
            "The GA Realtime WebSocket takes no 'api-version' (Azure's preview form, with 'api-version' and "
            "'deployment', is not served): connect to /openai/v1/realtime?model=<deployment>."
        )
        raise ApiError(400, msg, code="invalid_value", param="api-version")
    if not model:
        msg = (
            "Missing required parameter: 'model'. Connect to /v1/realtime?model=gpt-realtime for a new "
            "session, or /v1/realtime?call_id=rtc_... to join a WebRTC call."
        )
        raise ApiError(400, msg, code="missing_required_parameter", param="model")
    azure = request.path.startswith("/openai/")
    if not (_DEPLOYMENT if azure else _REALTIME_MODEL).fullmatch(model):
        shown = clip(model, 100)
        hint = (
            "name a deployment (letters, digits, '.', '_' and '-')"
            if azure
            else "use a Realtime model such as 'gpt-realtime' or 'gpt-realtime-mini'"
        )
        msg = f"The model '{shown}' does not exist or you do not have access to it; {hint}."
        raise ApiError(404, msg, code="model_not_found", param="model")
    if request.query.get("intent") not in (None, "", "realtime"):
        msg = "The emulator serves conversation sessions over WebSocket; drop the 'intent' query parameter."
        raise ApiError(400, msg, code="invalid_value", param="intent")
    if "realtime=v1" in request.headers.get("OpenAI-Beta", ""):
        msg = (
            "The emulator speaks the GA Realtime protocol over WebSocket; drop the 'OpenAI-Beta: realtime=v1' "
            "header (the beta protocol is served over WebRTC only)."
        )
        raise ApiError(400, msg, code="invalid_value", param="OpenAI-Beta")


def _session_request(value: Any, path: str) -> None:
    if not isinstance(value, dict) or "type" not in value:
        raise missing(f"{path}.type")
    validate_object(value, SESSION, path)


async def _read_offer(request: web.Request) -> tuple[str, dict[str, Any] | None]:
    """Read the offer from either body form: raw ``application/sdp`` or multipart."""
    if request.content_type == "application/sdp":
        return await read_text(request), None
    if request.content_type != "multipart/form-data":
        raise ApiError(
            400,
            f"Unsupported content type '{request.content_type[:100]}'. Send application/sdp, "
            "or multipart/form-data with 'sdp' and 'session' parts.",
        )
    form = await read_form(request)
    sdp, session = form.get("sdp"), form.get("session")
    if not sdp or not sdp.strip():
        raise ApiError(400, "Missing required parameter: 'sdp'.", code="missing_required_parameter", param="sdp")
    if session is None:
        return sdp, None
    config = parse_json(session, "The 'session' part", param="session")
    if isinstance(config, dict) and set(config) == {"session"}:
        # OpenAI's WebRTC guide posts its client_secrets body, {"session": {...}}, as this part.
        config = config["session"]
    _session_request(config, "session")
    return sdp, config
