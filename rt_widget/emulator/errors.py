"""The service's HTTP error envelope."""

from __future__ import annotations

import json

from aiohttp import web


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    type_: str = "invalid_request_error",
    param: str | None = None,
) -> web.Response:
    """Return ``{"error": {message, type, param, code}}`` with the given HTTP status."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def invalid_api_key() -> web.Response:
    """401 for a missing or wrong key; the key itself is never echoed."""
    return error_response(
        401,
        "Incorrect API key provided. Check the key the client sends.",
        code="invalid_api_key",
    )
