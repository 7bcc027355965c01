"""The emulator's aiohttp middlewares: browser CORS, and OpenAI's error JSON for every error.

``cors`` answers preflights the way the real API does for browsers (any request header, the
route's methods) and refuses preflights to paths that do not exist. ``json_errors`` turns every
error a handler or aiohttp's router raises into ``{"error": {...}}``; an unexpected exception is
logged once with its traceback and answered as a 500 ``server_error``. :data:`http_logger` is
the logger for aiohttp's protocol layer, which must not print a traceback for every malformed
request a client sends.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..redaction import protect_logger
from .body import too_large
from .errors import ApiError, error_response
from .validation import ProtocolError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

logger = protect_logger(logging.getLogger("rt_widget.emulator"))  # tracebacks of requests


def _not_client_http_error(record: logging.LogRecord) -> bool:
    """Drop aiohttp's traceback for malformed HTTP from a client: the client gets its 400."""
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, HttpProcessingError)


http_logger = logging.getLogger("rt_widget.emulator.http")
"""Give to aiohttp's ``AppRunner(logger=...)``."""
http_logger.addFilter(_not_client_http_error)

DEFAULT_ALLOWED_HEADERS = "Authorization, Content-Type, api-key, OpenAI-Beta"
_CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Location"}
# A comma-separated list of header names (RFC 9110 tokens): safe to reflect.
_HEADER_LIST = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*")


@web.middleware
async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Let pages on other origins (notebooks, the Agents SDK) call the REST API."""
    preflight = _preflight(request) if request.method == "OPTIONS" else None
    response = preflight if preflight is not None else await handler(request)
    if not isinstance(response, web.WebSocketResponse):
        response.headers.update(_CORS)
    return response


def _preflight(request: web.Request) -> web.Response | None:
    """The answer to ``OPTIONS``: 204 with the route's methods, 404 for an unknown path."""
    problem = request.match_info.http_exception
    if problem is None:
        return None  # a route that handles OPTIONS itself
    if not isinstance(problem, web.HTTPMethodNotAllowed):
        return _invalid_url(request)
    methods = ", ".join(sorted(set(problem.allowed_methods) | {"OPTIONS"}))
    headers = {
        "Allow": methods,
        "Access-Control-Allow-Methods": methods,
        "Access-Control-Allow-Headers": _allowed_headers(request.headers.get("Access-Control-Request-Headers", "")),
        "Access-Control-Max-Age": "600",
        "Vary": "Access-Control-Request-Headers, Access-Control-Request-Method",
    }
    return web.Response(status=204, headers=headers)


def _allowed_headers(asked: str) -> str:
    """The usual headers plus every one the browser asks for.

    The real API lets browsers send any header (the Agents SDK adds ``X-OpenAI-Agents-SDK``,
    the Stainless clients ``x-stainless-*``), so the request's list is echoed when it is a
    well-formed list of header names.
    """
    names = DEFAULT_ALLOWED_HEADERS.split(", ")
    if _HEADER_LIST.fullmatch(asked.strip()):
        known = {name.lower() for name in names}
        names += [name.strip() for name in asked.split(",") if name.strip().lower() not in known]
    return ", ".join(names)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every error in OpenAI's error JSON, with a 4xx for anything the client sent."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except ProtocolError as exc:
        return error_response(400, exc.message, code=exc.code, param=exc.param)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and successes raised as exceptions pass unchanged
        return _from_http_exception(request, exc)
    except Exception:
        logger.exception("The emulator failed answering %s %s", request.method, request.path[:200])
        return error_response(
            500,
            "The emulator had an unexpected error while processing your request; it is logged "
            "(logger 'rt_widget.emulator'). Please report it.",
            code="server_error",
            type_="server_error",
        )


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> web.Response:
    if isinstance(exc, web.HTTPNotFound):
        return _invalid_url(request)
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        msg = f"Method {request.method} is not allowed for {request.path[:200]}; use {allowed}."
        return error_response(405, msg, code="method_not_allowed", headers={"Allow": allowed})
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return too_large().response()
    return error_response(exc.status, exc.text or exc.reason)


def _invalid_url(request: web.Request) -> web.Response:
    """The real API's 404 for a path it does not serve."""
    return error_response(404, f"Invalid URL ({request.method} {request.path[:200]})")
