"""Checks of client events the way the service makes them, with its error codes.

A failed check raises :class:`ProtocolError`; the engine turns it into an ``error`` event and
the session carries on, as on the real service. Every client event is decoded and checked here
in full (types, ranges, required and unknown fields) before a handler sees it, so handlers can
trust the shapes they read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .._checks import clip
from ..config import VOICES
from . import strict_json
from .strict_json import json_type as _json_type

MAX_EVENT_BYTES = 16 * 1024 * 1024
"""The largest client event accepted (an ``input_audio_buffer.append`` holds up to 15 MiB)."""
MAX_AUDIO_CHARS = 15 * 1024 * 1024
"""The service's limit on the base64 audio of one ``input_audio_buffer.append``."""
MAX_ITEM_ID = 32
MAX_INT = 2**31 - 1
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class ProtocolError(Exception):
    """A client mistake, reported as an ``error`` event (``invalid_request_error``)."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


Check = Callable[[Any, str], None]
Spec = dict[str, "Spec | Check"]


# -- decoding -----------------------------------------------------------------------------


def _bad_json(message: str) -> ProtocolError:
    return ProtocolError("invalid_json", message)


def decode_event(message: str | bytes) -> dict[str, Any]:
    """Parse one client message into an event object, or raise :class:`ProtocolError`.

    Parameters
    ----------
    message:
        A data-channel or WebSocket message: text, or bytes for a binary message.

    Returns
    -------
    dict
        The event, a JSON object with a string ``type`` of a known client event.

    Raises
    ------
    ProtocolError
        ``invalid_json`` for anything that is not one reasonable JSON object (not UTF-8, too
        large, too deeply nested, non-finite or huge numbers, lone surrogates), or the
        service's error for a missing or unknown ``type``.
    """
    if len(message) > MAX_EVENT_BYTES:
        mib = len(message) / 2**20
        msg = f"The event is {mib:.1f} MiB; a client event may be at most {MAX_EVENT_BYTES // 2**20} MiB."
        raise ProtocolError("event_too_large", msg)
    if isinstance(message, bytes | bytearray | memoryview):
        try:
            message = bytes(message).decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"The event is not UTF-8 text (byte {exc.object[exc.start]:#04x} at position {exc.start})."
            raise _bad_json(msg + " Send a JSON object as UTF-8 text.") from None
    if not isinstance(message, str):
        raise _bad_json(f"The event must be text, not {type(message).__name__}.")
    try:
        event = strict_json.loads(message)
    except strict_json.StrictJSONError as exc:
        raise _bad_json(f"The event is not valid JSON: {exc}.") from None
    if not isinstance(event, dict):
        raise ProtocolError("invalid_event", "A client event must be a JSON object.")
    return event


# -- checks -------------------------------------------------------------------------------


def _show(value: Any, limit: int = 60) -> str:
    """A short representation of a client's value for an error message."""
    text = repr(value) if isinstance(value, str) else json.dumps(value)[: limit + 1]
    return clip(text, limit)


_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", dict: "an object", list: "an array"}


def _join(path: str, key: str) -> str:
    key = clip(key, 80)  # a client's key can be megabytes long
    return f"{path}.{key}" if path else key


def _supported(values: tuple[Any, ...]) -> str:
    quoted = [_show(v) for v in values]
    return ", ".join(quoted[:-1]) + f" and {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def anything(value: Any, path: str) -> None:
    """Accept any value (fields checked elsewhere, such as ``type``)."""


def one_of(*values: Any) -> Check:
    """Accept exactly one of ``values``."""
    kinds = {_json_type(v) for v in values}

    def check(value: Any, path: str) -> None:
        if _json_type(value) not in kinds:
            msg = (
                f"Invalid type for '{path}': expected one of {_supported(values)}, but got {_json_type(value)} instead."
            )
            raise ProtocolError("invalid_type", msg, path)
        if value not in values:
            msg = f"Invalid value: {_show(value)}. Supported values are: {_supported(values)}."
            raise ProtocolError("invalid_value", msg, path)

    return check


def kind(*types: type, nullable: bool = False) -> Check:
    """Accept instances of ``types`` (``bool`` only where it is listed; ``float`` takes integers)."""

    def check(value: Any, path: str) -> None:
        if value is None and nullable:
            return
        accepted = isinstance(value, types) or (float in types and isinstance(value, int))
        if not accepted or (isinstance(value, bool) and bool not in types):
            names = " or ".join(_NAMES.get(t, t.__name__) for t in types)
            msg = f"Invalid type for '{path}': expected {names}, but got {_json_type(value)} instead."
            raise ProtocolError("invalid_type", msg, path)

    return check


def string(max_length: int | None = None, *, nullable: bool = False) -> Check:
    """Accept a string of at most ``max_length`` characters."""

    def check(value: Any, path: str) -> None:
        kind(str, nullable=nullable)(value, path)
        if max_length is not None and value is not None and len(value) > max_length:
            msg = (
                f"Invalid '{path}': string too long. Expected a string with maximum length {max_length}, "
                f"but got a string with length {len(value)} instead."
            )
            raise ProtocolError("string_above_max_length", msg, path)

    return check


def number_in(low: float, high: float, *, nullable: bool = False) -> Check:
    """Accept numbers within ``[low, high]``."""

    def check(value: Any, path: str) -> None:
        kind(float, nullable=nullable)(value, path)
        if value is not None and not low <= value <= high:
            msg = f"Invalid '{path}': {_show(value)} is out of range; it must be between {low} and {high}."
            raise ProtocolError("decimal_above_max_value" if value > high else "decimal_below_min_value", msg, path)

    return check


def integer_in(low: int, high: int = MAX_INT, *, nullable: bool = False) -> Check:
    """Accept integers (not decimals) within ``[low, high]``."""

    def check(value: Any, path: str) -> None:
        kind(int, nullable=nullable)(value, path)
        if value is not None and not low <= value <= high:
            above = value > high
            bound = f"less than or equal to {high}" if above else f"greater than or equal to {low}"
            msg = f"Invalid '{path}': integer {'above maximum' if above else 'below minimum'} value. Expected a value {bound}, but got {_show(value)} instead."  # noqa: E501
            raise ProtocolError("integer_above_max_value" if above else "integer_below_min_value", msg, path)

    return check


def list_of(item: Check, max_items: int | None = None) -> Check:
    """Accept an array whose entries all pass ``item``."""

    def check(value: Any, path: str) -> None:
        kind(list)(value, path)
        if max_items is not None and len(value) > max_items:
            msg = f"Invalid '{path}': array too long. Expected an array with maximum length {max_items}, but got an array with length {len(value)} instead."  # noqa: E501
            raise ProtocolError("array_above_max_length", msg, path)
        for i, entry in enumerate(value):
            item(entry, f"{path}[{i}]")

    return check


def nullable(check: Check) -> Check:
    """Accept ``null`` besides what ``check`` accepts."""

    def nullable_check(value: Any, path: str) -> None:
        if value is not None:
            check(value, path)

    return nullable_check


def shape(spec: Spec, required: tuple[str, ...] = ()) -> Check:
    """Accept an object that fits ``spec`` and has every ``required`` key."""

    def check(value: Any, path: str) -> None:
        validate_object(value, spec, path, required)

    return check


def missing(path: str) -> ProtocolError:
    """The service's error for a required field that is absent."""
    return ProtocolError("missing_required_parameter", f"Missing required parameter: '{path}'.", path)


def validate_object(value: Any, spec: Spec, path: str, required: tuple[str, ...] = ()) -> None:
    """Check ``value`` against ``spec``: unknown keys first, then each known key, then required keys."""
    kind(dict)(value, path or "event")
    for key, item in value.items():
        where = _join(path, key)
        rule = spec.get(key)
        if rule is None:
            raise ProtocolError("unknown_parameter", f"Unknown parameter: '{clip(where, 80)}'.", where)
        if isinstance(rule, dict):
            validate_object(item, rule, where)
        else:
            rule(item, where)
    for key in required:
        if key not in value:
            raise missing(_join(path, key))


def _by_type(variants: dict[str, tuple[Spec, tuple[str, ...]]]) -> Check:
    """Accept an object whose ``type`` picks its spec from ``variants``."""

    def check(value: Any, path: str) -> None:
        kind(dict)(value, path)
        if "type" not in value:
            raise missing(_join(path, "type"))
        type_ = value["type"]
        one_of(*variants)(type_, _join(path, "type"))
        spec, required = variants[type_]
        validate_object(value, {"type": anything, **spec}, path, required)

    return check


# -- session ------------------------------------------------------------------------------


def _voice(value: Any, path: str) -> None:
    if isinstance(value, dict):
        validate_object(value, {"id": string(256)}, path, ("id",))
        return
    one_of(*VOICES)(value, path)


def _modalities(value: Any, path: str) -> None:
    kind(list)(value, path)
    if value not in (["audio"], ["text"]):
        msg = f"Invalid value: {_show(value)}. Supported values are: ['audio'] and ['text']."
        raise ProtocolError("invalid_value", msg, path)


def _max_tokens(value: Any, path: str) -> None:
    if value != "inf":
        if isinstance(value, str):
            one_of("inf")(value, path)
        integer_in(1, 4096)(value, path)


def _format(value: Any, path: str) -> None:
    validate_object(value, {"type": one_of("audio/pcm", "audio/pcmu", "audio/pcma"), "rate": one_of(24000)}, path)


def _function_name(value: Any, path: str) -> None:
    kind(str)(value, path)
    if not _TOOL_NAME.match(value):
        msg = (
            f"Invalid '{path}': {_show(value)} does not match '^[a-zA-Z0-9_-]{{1,64}}$': "
            "use 1-64 letters, digits, underscores or hyphens."
        )
        raise ProtocolError("invalid_value", msg, path)


TOOL: Spec = {
    "type": one_of("function"),
    "name": _function_name,
    "description": kind(str, nullable=True),
    "parameters": kind(dict),
}
MCP_TOOL: Spec = {
    "type": one_of("mcp"),
    "server_label": string(256),
    "server_url": kind(str),
    "connector_id": kind(str),
    "tunnel_id": kind(str),
    "authorization": kind(str),
    "server_description": kind(str),
    "headers": nullable(kind(dict)),
    "allowed_tools": kind(list, dict, nullable=True),
    "allowed_callers": kind(list, nullable=True),
    "require_approval": kind(str, dict, nullable=True),
    "defer_loading": kind(bool, nullable=True),
}
_tool = _by_type({"function": (TOOL, ("name",)), "mcp": (MCP_TOOL, ("server_label",))})


def _tools(value: Any, path: str) -> None:
    list_of(_tool, 128)(value, path)


def _tool_choice(value: Any, path: str) -> None:
    if isinstance(value, str):
        one_of("auto", "none", "required")(value, path)
        return
    variants: dict[str, tuple[Spec, tuple[str, ...]]] = {
        "function": ({"name": _function_name}, ("name",)),
        "mcp": ({"server_label": kind(str), "name": kind(str, nullable=True)}, ("server_label",)),
    }
    kind(str, dict)(value, path)
    _by_type(variants)(value, path)


def check_tool_choice(tool_choice: Any, tools: list[dict[str, Any]], path: str) -> None:
    """A ``tool_choice`` naming a function must name one of ``tools``."""
    if not (isinstance(tool_choice, dict) and tool_choice.get("type") == "function"):
        return
    names = [t.get("name") for t in tools if t.get("type") == "function"]
    if tool_choice.get("name") not in names:
        offered = ", ".join(f"'{n}'" for n in names) or "none"
        msg = (
            f"Tool choice 'function' not found in 'tools' parameter: no function named "
            f"{_show(tool_choice.get('name'))} is offered (offered: {offered})."
        )
        raise ProtocolError("invalid_value", msg, f"{path}.name")


def _turn_detection(value: Any, path: str) -> None:
    if value is None:
        return
    kind(dict)(value, path)
    vad_type = value.get("type")
    spec = SEMANTIC_VAD if vad_type == "semantic_vad" else SERVER_VAD
    validate_object(value, spec, path)


def _metadata(value: Any, path: str) -> None:
    kind(dict)(value, path)
    if len(value) > 16:
        msg = f"Invalid '{path}': too many properties. Expected at most 16, but got {len(value)} instead."
        raise ProtocolError("object_above_max_properties", msg, path)
    for key, entry in value.items():
        string(64)(key, path)
        string(512)(entry, _join(path, key))


SERVER_VAD: Spec = {
    "type": one_of("server_vad", "semantic_vad"),
    "threshold": number_in(0.0, 1.0),
    "prefix_padding_ms": integer_in(0, 10_000),
    "silence_duration_ms": integer_in(0, 10_000),
    "idle_timeout_ms": integer_in(5_000, 30_000, nullable=True),
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
    "keywords": nullable(list_of(kind(str))),
    "languages": nullable(list_of(kind(str))),
}
PROMPT: Spec = {"id": kind(str), "version": kind(str, nullable=True), "variables": kind(dict, nullable=True)}
REASONING: Spec = {"effort": one_of("minimal", "low", "medium", "high", "xhigh")}


def _truncation(value: Any, path: str) -> None:
    if isinstance(value, str):
        one_of("auto", "disabled")(value, path)
        return
    spec: Spec = {
        "type": one_of("retention_ratio"),
        "retention_ratio": number_in(0.0, 1.0),
        "token_limits": {"post_instructions": integer_in(0, nullable=True)},
    }
    kind(str, dict)(value, path)
    validate_object(value, spec, path, ("type", "retention_ratio"))


def _tracing(value: Any, path: str) -> None:
    if isinstance(value, str):
        one_of("auto")(value, path)
        return
    spec: Spec = {"workflow_name": kind(str), "group_id": kind(str), "metadata": kind(dict, nullable=True)}
    nullable(shape(spec))(value, path)


SESSION: Spec = {
    "type": one_of("realtime", "transcription"),
    "model": kind(str),
    "instructions": kind(str),
    "output_modalities": _modalities,
    "audio": {
        "input": {
            "format": _format,
            "transcription": nullable(shape(TRANSCRIPTION)),
            "noise_reduction": nullable(
                shape({"type": one_of("near_field", "far_field"), "strength": number_in(0.0, 1.0)})
            ),
            "turn_detection": _turn_detection,
        },
        "output": {"format": _format, "voice": _voice, "speed": number_in(0.25, 1.5)},
    },
    "tools": _tools,
    "tool_choice": _tool_choice,
    "max_output_tokens": _max_tokens,
    "tracing": _tracing,
    "truncation": _truncation,
    "prompt": nullable(shape(PROMPT, ("id",))),
    "include": nullable(list_of(one_of("item.input_audio_transcription.logprobs"))),
    "reasoning": nullable(shape(REASONING)),
    "parallel_tool_calls": kind(bool),
}


def validate_session_update(event: dict[str, Any], current_type: str = "realtime") -> None:
    """Validate a ``session.update`` event's ``session`` as the service does."""
    if "session" not in event:
        raise missing("session")
    session = event["session"]
    kind(dict)(session, "session")
    if "type" not in session:
        raise missing("session.type")
    one_of("realtime", "transcription")(session["type"], "session.type")
    if session["type"] != current_type:
        msg = f"Passing a {session['type']} session update event to a {current_type} session is not allowed."
        raise ProtocolError("invalid_value", msg, "session.type")
    validate_object(session, SESSION, "session")


# -- conversation items -------------------------------------------------------------------


def _item_id(value: Any, path: str) -> None:
    string(MAX_ITEM_ID)(value, path)


def _content(role: str) -> Check:
    text: tuple[Spec, tuple[str, ...]] = ({"text": kind(str)}, ("text",))
    parts: dict[str, dict[str, tuple[Spec, tuple[str, ...]]]] = {
        "user": {
            "input_text": text,
            "input_audio": ({"audio": kind(str, nullable=True), "transcript": kind(str, nullable=True)}, ()),
            "input_image": (
                {"image_url": kind(str), "detail": nullable(one_of("auto", "low", "high"))},
                ("image_url",),
            ),
        },
        "system": {"input_text": text},
        "assistant": {"output_text": text},
    }
    return list_of(_by_type(parts[role]))


def _message(value: dict[str, Any], path: str) -> None:
    role_path = _join(path, "role")
    if "role" not in value:
        raise missing(role_path)
    one_of("user", "assistant", "system")(value["role"], role_path)
    content = _join(path, "content")
    if value["role"] == "assistant":
        for i, part in enumerate(value.get("content") or []):
            if isinstance(part, dict) and part.get("type") == "output_audio":
                msg = "Clients cannot create assistant audio content; send an 'output_text' part instead."
                raise ProtocolError("invalid_value", msg, f"{content}[{i}].type")
    spec: Spec = {**_ITEM_COMMON, "role": anything, "content": _content(value["role"])}
    validate_object(value, spec, path, ("content",))


_ITEM_COMMON: Spec = {
    "type": anything,
    "id": nullable(_item_id),
    "object": nullable(one_of("realtime.item")),
    "status": nullable(one_of("completed", "incomplete", "in_progress")),  # no effect when a client sends it
}
_ITEMS: dict[str, tuple[Spec, tuple[str, ...]]] = {
    "function_call": (
        {**_ITEM_COMMON, "name": kind(str), "arguments": kind(str), "call_id": string(64)},
        ("name", "arguments"),  # call_id is optional: the service makes one
    ),
    "function_call_output": ({**_ITEM_COMMON, "call_id": string(64), "output": kind(str)}, ("call_id", "output")),
}
ITEM_TYPES = ("message", "function_call", "function_call_output")


def validate_item(value: Any, path: str, *, references: bool = False) -> None:
    """Check one conversation item (or, in ``response.input``, an ``item_reference``)."""
    kind(dict)(value, path)
    type_path = _join(path, "type")
    if "type" not in value:
        raise missing(type_path)
    supported = (*ITEM_TYPES, "item_reference") if references else ITEM_TYPES
    one_of(*supported)(value["type"], type_path)
    if value["type"] == "message":
        _message(value, path)
    elif value["type"] == "item_reference":
        validate_object(value, {"type": anything, "id": _item_id}, path, ("id",))
    else:
        spec, required = _ITEMS[value["type"]]
        validate_object(value, spec, path, required)


# -- response parameters ------------------------------------------------------------------


def _input(value: Any, path: str) -> None:
    list_of(lambda item, where: validate_item(item, where, references=True), 1024)(value, path)


RESPONSE: Spec = {
    "audio": nullable(shape({"output": nullable(shape({"format": nullable(_format), "voice": nullable(_voice)}))})),
    "conversation": nullable(one_of("auto", "none")),
    "input": nullable(_input),
    "instructions": kind(str, nullable=True),
    "max_output_tokens": nullable(_max_tokens),
    "metadata": nullable(_metadata),
    "output_modalities": nullable(_modalities),
    "parallel_tool_calls": kind(bool, nullable=True),
    "prompt": nullable(shape(PROMPT, ("id",))),
    "reasoning": nullable(shape(REASONING)),
    "tool_choice": nullable(_tool_choice),
    "tools": nullable(_tools),
}


# -- client events ------------------------------------------------------------------------

_EVENT: Spec = {"type": anything, "event_id": string(512, nullable=True)}
EVENTS: dict[str, tuple[Spec, tuple[str, ...]]] = {
    "session.update": ({**_EVENT, "session": anything}, ("session",)),  # see validate_session_update
    "input_audio_buffer.append": ({**_EVENT, "audio": string(MAX_AUDIO_CHARS)}, ("audio",)),
    "input_audio_buffer.commit": (_EVENT, ()),
    "input_audio_buffer.clear": (_EVENT, ()),
    "conversation.item.create": (
        {**_EVENT, "item": validate_item, "previous_item_id": string(MAX_ITEM_ID, nullable=True)},
        ("item",),
    ),
    "conversation.item.retrieve": ({**_EVENT, "item_id": _item_id}, ("item_id",)),
    "conversation.item.truncate": (
        {**_EVENT, "item_id": _item_id, "content_index": integer_in(0), "audio_end_ms": integer_in(0)},
        ("item_id", "content_index", "audio_end_ms"),
    ),
    "conversation.item.delete": ({**_EVENT, "item_id": _item_id}, ("item_id",)),
    "response.create": ({**_EVENT, "response": nullable(shape(RESPONSE))}, ()),
    "response.cancel": ({**_EVENT, "response_id": kind(str, nullable=True)}, ()),
    "output_audio_buffer.clear": (_EVENT, ()),
}
"""Each GA client event's fields and required fields (reference section 4.3, the SDK's types)."""


def validate_client_event(event: dict[str, Any], session_type: str = "realtime") -> None:
    """Check a decoded client event completely, as the service does before acting on it.

    Parameters
    ----------
    event:
        The event, as :func:`decode_event` returned it.
    session_type:
        The session's type (``session.update`` must keep it).

    Raises
    ------
    ProtocolError
        The service's error for the first problem found, with the offending field as ``param``.
    """
    if "type" not in event:
        raise ProtocolError("invalid_event", "The 'type' field is missing.", "type")
    type_ = event["type"]
    if not isinstance(type_, str) or type_ not in EVENTS:
        supported = ", ".join(f"'{t}'" for t in EVENTS)
        msg = f"Invalid value: {_show(type_)}. Supported values are: {supported}."
        raise ProtocolError("invalid_value", msg, "type")
    spec, required = EVENTS[type_]
    validate_object(event, spec, "", required)
    if type_ == "session.update":
        validate_session_update(event, session_type)
