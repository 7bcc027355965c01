"""Reading request bodies: every way a body can fail to decode becomes a 400 that says why.

Handlers never call ``request.text()``, ``request.json()`` or ``request.post()`` themselves,
so no malformed body (bad charset, bytes that are not UTF-8, JSON nested thousands deep, a
5,000-digit number, a multipart body without a boundary) can surface as a 500.
"""

from __future__ import annotations

import codecs
from typing import Any

from aiohttp import web

from . import strict_json
from .errors import ApiError
from .strict_json import json_type

MAX_BODY_BYTES = 1024 * 1024  # aiohttp's default client_max_size, made explicit


def too_large() -> ApiError:
    """413 for a body over :data:`MAX_BODY_BYTES`."""
    return ApiError(
        413,
        f"The request body is larger than the emulator's limit of {MAX_BODY_BYTES // 1024 // 1024} MiB "
        f"({MAX_BODY_BYTES} bytes). Send less: very long instructions or tool schemas are the usual cause.",
        code="request_too_large",
    )


async def read_text(request: web.Request) -> str:
    """The body decoded with its declared charset (UTF-8 by default), or a 400/413 :class:`ApiError`."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large() from None
    charset = request.charset or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        raise ApiError(400, f"Unknown charset {charset[:40]!r} in Content-Type. Send UTF-8.") from None
    try:
        return raw.decode(charset)
    except UnicodeDecodeError as exc:
        msg = f"The request body is not valid {charset[:40]} (byte {raw[exc.start]:#04x} at offset {exc.start})."
        raise ApiError(400, msg) from None


def parse_json(text: str, what: str = "The request body", param: str | None = None) -> Any:
    """Parse strict JSON (see :mod:`.strict_json`) or raise a 400 saying what is wrong."""
    try:
        return strict_json.loads(text)
    except strict_json.StrictJSONError as exc:
        raise ApiError(400, f"{what} is not valid JSON: {exc}.", param=param) from None


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; an empty body is ``{}``."""
    text = await read_text(request)
    if not text.strip():
        return {}
    body = parse_json(text)
    if not isinstance(body, dict):
        raise ApiError(400, f"The request body must be a JSON object, not {json_type(body)}.")
    return body


async def read_form(request: web.Request) -> dict[str, str]:
    """The text fields of a ``multipart/form-data`` (or url-encoded) body, first value of each name."""
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise too_large() from None
    except Exception as exc:  # any failure of the parser here is the client's body
        reason = f"{type(exc).__name__}: {exc}"[:200]
        msg = (
            f"The multipart body could not be read ({reason}). Send multipart/form-data with a boundary, "
            "an 'sdp' part and optionally a 'session' part."
        )
        raise ApiError(400, msg) from None
    fields: dict[str, str] = {}
    for name, value in form.items():
        if name not in fields:
            fields[name] = _field_text(name, value)
    return fields


def _field_text(name: str, value: object) -> str:
    """A form field as text: aiohttp gives non-``text/*`` parts as bytes or files."""
    if isinstance(value, web.FileField):
        value = value.file.read()
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, f"The '{name[:40]}' part is not valid UTF-8.", param=name[:40]) from None
    return str(value)
