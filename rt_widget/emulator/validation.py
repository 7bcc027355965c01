"""Checks of client events the way the service makes them, with its error codes.

A failed check raises :class:`ProtocolError`; the engine turns it into an ``error`` event and
the session carries on, as on the real service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import VOICES


class ProtocolError(Exception):
    """A client mistake, reported as an ``error`` event (``invalid_request_error``)."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


Check = Callable[[Any, str], None]
Spec = dict[str, "Spec | Check"]


def _supported(values: tuple[Any, ...]) -> str:
    quoted = [repr(v) if isinstance(v, str) else str(v) for v in values]
    return ", ".join(quoted[:-1]) + f" and {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def one_of(*values: Any) -> Check:
    """Accept exactly one of ``values``."""

    def check(value: Any, path: str) -> None:
        if value not in values:
            msg = f"Invalid value: {value!r}. Supported values are: {_supported(values)}."
            raise ProtocolError("invalid_value", msg, path)

    return check


def kind(*types: type, nullable: bool = False) -> Check:
    """Accept instances of ``types`` (``bool`` only where it is listed)."""

    def check(value: Any, path: str) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join(t.__name__ for t in types)
            msg = f"Invalid type for '{path}': expected {names}, but got {type(value).__name__}."
            raise ProtocolError("invalid_type", msg, path)

    return check


def number_in(low: float, high: float, *, nullable: bool = False) -> Check:
    """Accept numbers within ``[low, high]``."""

    def check(value: Any, path: str) -> None:
        kind(int, float, nullable=nullable)(value, path)
        if value is not None and not low <= value <= high:
            msg = f"Invalid '{path}': {value} is out of range; it must be between {low} and {high}."
            raise ProtocolError("decimal_above_max_value" if value > high else "decimal_below_min_value", msg, path)

    return check


def _voice(value: Any, path: str) -> None:
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return
    one_of(*VOICES)(value, path)


def _modalities(value: Any, path: str) -> None:
    if value not in (["audio"], ["text"]):
        msg = f"Invalid value: {value!r}. Supported values are: ['audio'] and ['text']."
        raise ProtocolError("invalid_value", msg, path)


def _max_tokens(value: Any, path: str) -> None:
    if value != "inf":
        number_in(1, 4096)(value, path)


def _format(value: Any, path: str) -> None:
    validate_object(value, {"type": one_of("audio/pcm", "audio/pcmu", "audio/pcma"), "rate": one_of(24000)}, path)


def _tools(value: Any, path: str) -> None:
    kind(list)(value, path)
    for i, tool in enumerate(value):
        where = f"{path}[{i}]"
        kind(dict)(tool, where)
        if tool.get("type") == "mcp":
            continue  # hosted MCP tools are accepted and never called by the emulator
        validate_object(tool, TOOL, where)
        for key in ("type", "name"):
            if key not in tool:
                raise missing(f"{where}.{key}")


def _nullable(spec: Spec) -> Check:
    def check(value: Any, path: str) -> None:
        if value is not None:
            validate_object(value, spec, path)

    return check


def _turn_detection(value: Any, path: str) -> None:
    if value is None:
        return
    kind(dict)(value, path)
    vad_type = value.get("type")
    spec = SEMANTIC_VAD if vad_type == "semantic_vad" else SERVER_VAD
    validate_object(value, spec, path)


SERVER_VAD: Spec = {
    "type": one_of("server_vad", "semantic_vad"),
    "threshold": number_in(0.0, 1.0),
    "prefix_padding_ms": number_in(0, 10_000),
    "silence_duration_ms": number_in(0, 10_000),
    "idle_timeout_ms": number_in(5_000, 30_000, nullable=True),
    "create_response": kind(bool),
    "interrupt_response": kind(bool),
}
SEMANTIC_VAD: Spec = {
    "type": one_of("server_vad", "semantic_vad"),
    "eagerness": one_of("low", "medium", "high", "auto"),
    "create_response": kind(bool),
    "interrupt_response": kind(bool),
}
TRANSCRIPTION: Spec = {
    "model": kind(str),
    "language": kind(str, nullable=True),
    "prompt": kind(str, nullable=True),
    "delay": kind(str, nullable=True),
    "keywords": kind(list, nullable=True),
    "languages": kind(list, nullable=True),
}
TOOL: Spec = {
    "type": one_of("function"),
    "name": kind(str),
    "description": kind(str, nullable=True),
    "parameters": kind(dict),
}
SESSION: Spec = {
    "type": one_of("realtime", "transcription"),
    "model": kind(str),
    "instructions": kind(str),
    "output_modalities": _modalities,
    "audio": {
        "input": {
            "format": _format,
            "transcription": _nullable(TRANSCRIPTION),
            "noise_reduction": _nullable({"type": one_of("near_field", "far_field"), "strength": number_in(0.0, 1.0)}),
            "turn_detection": _turn_detection,
        },
        "output": {"format": _format, "voice": _voice, "speed": number_in(0.25, 1.5)},
    },
    "tools": _tools,
    "tool_choice": kind(str, dict),
    "max_output_tokens": _max_tokens,
    "tracing": kind(str, dict, nullable=True),
    "truncation": kind(str, dict),
    "prompt": kind(dict, nullable=True),
    "include": kind(list, nullable=True),
    "reasoning": kind(dict, nullable=True),
    "parallel_tool_calls": kind(bool),
}


def missing(path: str) -> ProtocolError:
    """The service's error for a required field that is absent."""
    return ProtocolError("missing_required_parameter", f"Missing required parameter: '{path}'.", path)


def validate_object(value: Any, spec: Spec, path: str) -> None:
    """Check ``value`` against ``spec``: unknown keys first, then each known key."""
    kind(dict)(value, path)
    for key, item in value.items():
        where = f"{path}.{key}"
        rule = spec.get(key)
        if rule is None:
            raise ProtocolError("unknown_parameter", f"Unknown parameter: '{where}'.", where)
        if isinstance(rule, dict):
            validate_object(item, rule, where)
        else:
            rule(item, where)


def validate_session_update(event: dict[str, Any], current_type: str = "realtime") -> None:
    """Validate a ``session.update`` event's ``session`` as the service does."""
    session = event.get("session")
    if session is None:
        raise missing("session")
    kind(dict)(session, "session")
    if "type" not in session:
        raise missing("session.type")
    one_of("realtime", "transcription")(session["type"], "session.type")
    if session["type"] != current_type:
        msg = f"Passing a {session['type']} session update event to a {current_type} session is not allowed."
        raise ProtocolError("invalid_value", msg, "session.type")
    validate_object(session, SESSION, "session")
