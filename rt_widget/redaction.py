"""Keeping secrets out of every error text and log line that leaves rt-widget.

Every secret the kernel holds (API keys, Entra tokens, ephemeral keys, loopback tokens) is
registered with :func:`remember` when it is first seen. :func:`redact` removes every registered
secret from a text, and also anything shaped like one (``Bearer ...``, ``sk-...``, ``ek_...``,
``api-key: ...``, JWTs), whatever produced the text: an HTTP library's exception, a WebSocket
error, a server's error body echoing the request's headers. Errors raised by providers and the
sideband go through it, and :func:`protect_logger` filters the log records of the libraries
that see request headers (httpx, httpcore, websockets).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from typing import Any

REDACTED = "[redacted]"

MIN_SECRET_LENGTH = 8
"""Shorter strings are not registered: replacing every "abc" in a message would garble it,
and a key that short is no secret anyway."""

MAX_SHORT_LIVED = 512
"""Ephemeral keys are minted per connect; only the most recent ones are kept to redact."""

_lock = threading.Lock()
_long_lived: set[str] = set()
_short_lived: deque[str] = deque(maxlen=MAX_SHORT_LIVED)

_NOT_A_SECRET = r"(?!\[redacted\])"  # noqa: S105  # a pattern: do not redact a redaction again
# At least MIN_SECRET_LENGTH characters: "api_key=..." in advice is not a key.
_VALUE = r"[^\s'\",;()\[\]{}<>]{8,}"
_SHAPES = (
    (re.compile(rf"(?i)(\bbearer\s+){_NOT_A_SECRET}{_VALUE}"), rf"\g<1>{REDACTED}"),
    (re.compile(rf"(?i)(\bapi[-_]?key['\"]?\s*[:=]\s*b?['\"]?){_NOT_A_SECRET}{_VALUE}"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(?i)(['\"](?:token|client_secret)['\"]\s*:\s*['\"])[^'\"]*"), rf"\g<1>{REDACTED}"),
    (re.compile(r"\b(?:sk|ek|rk)[-_][A-Za-z0-9_\-]{8,}"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"), REDACTED),
    # A password in a URL (a gateway's https://user:password@host/v1).
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://)[^/@\s'\"]+@"), rf"\g<1>{REDACTED}@"),
)


def remember(secret: str, *, short_lived: bool = False) -> None:
    """Register ``secret`` so that :func:`redact` removes it from any text.

    Parameters
    ----------
    secret:
        The key or token, as it is sent.
    short_lived:
        ``True`` for ephemeral keys, of which only the latest :data:`MAX_SHORT_LIVED` are kept.
    """
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if short_lived:
            _short_lived.append(secret)
        else:
            _long_lived.add(secret)


def redact(text: object) -> str:
    """``str(text)`` without any registered secret or anything shaped like a key or token.

    Parameters
    ----------
    text:
        An error message, a log line, a server's reply: anything that will be shown or logged.

    Returns
    -------
    str
        The text with each secret replaced by ``[redacted]``.
    """
    out = str(text)
    with _lock:
        known = sorted({*_long_lived, *_short_lived}, key=len, reverse=True)  # longest first
    for secret in known:
        if secret in out:
            out = out.replace(secret, REDACTED)
    for pattern, replacement in _SHAPES:
        out = pattern.sub(replacement, out)
    return out


class RedactingFilter(logging.Filter):
    """Redacts a record's message and traceback before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place when it holds a secret; never drop it."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:
            traceback = logging.Formatter().formatException(record.exc_info)
            clean = redact(traceback)
            if clean != traceback:
                record.exc_info, record.exc_text = None, clean
        return True


_FILTER = RedactingFilter()

LIBRARY_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "websockets.client",
    "websockets.server",
)
"""Loggers of the libraries that handle request headers (filters do not apply to children)."""


def protect_logger(logger: logging.Logger | str) -> logging.Logger:
    """Add the redacting filter to ``logger`` (once) and return it.

    A logger's filters apply only to records created on that logger, not on its children:
    protect each logger that is handed request headers or secrets.
    """
    if isinstance(logger, str):
        logger = logging.getLogger(logger)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


def protect_library_loggers() -> None:
    """Protect the loggers of httpx, httpcore and websockets (see :data:`LIBRARY_LOGGERS`)."""
    for name in LIBRARY_LOGGERS:
        protect_logger(name)


CREDENTIAL_FIELDS = ("authorization", "headers")
"""The fields of an MCP tool that hold the MCP server's credentials."""


def has_tool_credentials(tools: Any) -> bool:
    """Whether a list of tool definitions holds MCP credentials (``authorization`` or ``headers``)."""
    return isinstance(tools, list) and any(
        isinstance(t, dict) and any(t.get(f) for f in CREDENTIAL_FIELDS) for t in tools
    )


def tools_without_credentials(tools: list[Any]) -> list[Any]:
    """``tools`` with each MCP tool's ``authorization`` and ``headers`` replaced by ``[redacted]``."""
    return [
        {k: REDACTED if k in CREDENTIAL_FIELDS and v else v for k, v in t.items()} if isinstance(t, dict) else t
        for t in tools
    ]


def session_has_credentials(session: Any) -> bool:
    """Whether a session object holds MCP credentials (Realtime's tools, GPT-Live's delegation's)."""
    return any(has_tool_credentials(tools) for _, tools in _tool_lists(session))


def session_without_credentials(session: dict[str, Any]) -> dict[str, Any]:
    """``session`` with MCP credentials replaced by ``[redacted]``, for what is logged or saved.

    Covers a Realtime session's (or response's) ``tools`` and a GPT-Live session's
    ``delegation.responses.tools``. The same object comes back when there are none.
    """
    for path, tools in _tool_lists(session):
        if has_tool_credentials(tools):
            session = _replaced(session, path, tools_without_credentials(tools))
    return session


def _tool_lists(session: Any) -> list[tuple[tuple[str, ...], Any]]:
    """Each place a session (or response) object lists tools, as (path, tools)."""
    if not isinstance(session, dict):
        return []
    found: list[tuple[tuple[str, ...], Any]] = [(("tools",), session.get("tools"))]
    delegation = session.get("delegation")
    responses = delegation.get("responses") if isinstance(delegation, dict) else None
    if isinstance(responses, dict):
        found.append((("delegation", "responses", "tools"), responses.get("tools")))
    return found


def _replaced(holder: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    head, *rest = path
    return {**holder, head: _replaced(holder[head], tuple(rest), value) if rest else value}


def remember_tool_credentials(tools: Any) -> None:
    """Register the MCP credentials in ``tools`` so :func:`redact` removes them from any text."""
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict):
            continue
        remember(tool.get("authorization"))  # type: ignore[arg-type]  # remember() skips non-strings
        headers = tool.get("headers")
        for value in headers.values() if isinstance(headers, dict) else []:
            remember(value)


def without_tool_credentials(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with MCP credentials in its session's or response's tools replaced by ``[redacted]``.

    For what is logged and saved: a ``session.update`` or a session echo would otherwise carry
    an MCP server's token into the event log. The same object comes back when there are none.
    """
    scrubbed = event
    for key in ("session", "response"):
        holder = event.get(key)
        if isinstance(holder, dict) and session_has_credentials(holder):
            scrubbed = {**scrubbed, key: session_without_credentials(holder)}
    return scrubbed
