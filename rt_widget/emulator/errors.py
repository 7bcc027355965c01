"""The service's HTTP error envelope, and the exception that carries one out of a handler."""

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
    headers: dict[str, str] | None = None,
) -> web.Response:
    """Return ``{"error": {message, type, param, code}}`` with the given HTTP status."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return web.Response(status=status, text=json.dumps(body), content_type="application/json", headers=headers)


class ApiError(Exception):
    """An HTTP error answer, raised anywhere below a handler and sent by the error middleware.

    Parameters
    ----------
    status:
        The HTTP status (4xx for client mistakes).
    message:
        What was wrong and what to do; never a secret.
    code, param, type_:
        The other fields of OpenAI's error envelope.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type_: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type_ = type_

    def response(self) -> web.Response:
        """The error as an HTTP response in OpenAI's envelope."""
        return error_response(self.status, self.message, code=self.code, type_=self.type_, param=self.param)


def invalid_api_key() -> ApiError:
    """401 for a missing or wrong key; the key itself is never echoed."""
    return ApiError(401, "Incorrect API key provided. Check the key the client sends.", code="invalid_api_key")
