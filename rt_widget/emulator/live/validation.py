"""Strict checks of what GPT-Live clients send: the create body, ``session.update`` and commands.

Shapes follow the ``openai`` SDK's ``openai.types.live`` (3.57.0). The service rejects unknown
fields (reference/gpt-live-protocol.md 4.7), so every object here is closed, and each failure
is a :class:`ProtocolError` whose ``param`` is the path of the field at fault
(``session.audio.output.voice``), as in OpenAI's error shape.
"""

from __future__ import annotations

import re
from typing import Any

from ...gptlive.config import (
    CLIENT_EVENTS,
    MAX_IDLE_TIMEOUT_S,
    MAX_INPUT_ITEMS,
    SERVER_EVENTS,
    TRANSCRIPT_EVENTS,
    VOICES,
)
from ...gptlive.delegation import CHOICE_TYPES, EFFORTS, HOSTED_TOOLS, SERVICE_TIERS, SUMMARIES, VERBOSITY
from ..strict_json import json_type
from ..usage import text_tokens
from ..validation import (
    Check,
    ProtocolError,
    Spec,
    anything,
    integer_in,
    kind,
    list_of,
    missing,
    nullable,
    number_in,
    one_of,
    shape,
    string,
    validate_object,
)

MAX_INSTRUCTIONS_CHARS = 64 * 1024
"""About 16,384 tokens, the service's limit on frontend instructions."""
MAX_APPEND_TOKENS = 500
MAX_EVENT_RULES = 256
MAX_TOOLS = 128
_MODEL = re.compile(r"^gpt-live-[A-Za-z0-9._-]+$")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# Realtime settings a client may carry over by mistake, with where GPT-Live has them instead.
_REALTIME_HINTS = {
    "tools": "GPT-Live's tools belong to its Responses backend: session.delegation.responses.tools",
    "tool_choice": "set it on the backend: session.delegation.responses.tool_choice",
    "type": "GPT-Live sessions have no type; send model, instructions, audio.output.voice, delegation",
    "voice": "the voice goes in session.audio.output.voice",
    "turn_detection": "GPT-Live's turns are server-driven and have no settings",
    "output_modalities": "GPT-Live always speaks",
}


def by_type(variants: dict[str, tuple[Spec, tuple[str, ...]]]) -> Check:
    """Accept an object whose ``type`` picks its spec (and required keys) from ``variants``."""

    def check(value: Any, path: str) -> None:
        kind(dict)(value, path)
        if "type" not in value:
            raise missing(f"{path}.type")
        one_of(*variants)(value["type"], f"{path}.type")
        spec, required = variants[value["type"]]
        validate_object(value, {"type": anything, **spec}, path, required)

    return check


def either(first: Check, second: Check, expected: str) -> Check:
    """Accept what ``first`` accepts when the value is a string, else what ``second`` accepts."""

    def check(value: Any, path: str) -> None:
        if isinstance(value, str):
            first(value, path)
        elif isinstance(value, dict | list):
            second(value, path)
        else:
            msg = f"Invalid type for '{path}': expected {expected}, but got {json_type(value)} instead."
            raise ProtocolError("invalid_type", msg, path)

    return check


# -- voice, input, triggers ------------------------------------------------------------------


def _model(value: Any, path: str) -> None:
    string(128)(value, path)
    if not _MODEL.match(value):
        hint = " Realtime models such as 'gpt-realtime' go to /v1/realtime/calls." if "realtime" in value else ""
        msg = f"Invalid value for '{path}': {value[:60]!r} is not a GPT-Live model; use 'gpt-live-1' or 'gpt-live-1.1'."
        raise ProtocolError("invalid_value", msg + hint, path)


def _voice(value: Any, path: str) -> None:
    if isinstance(value, dict):
        validate_object(value, {"id": string(128)}, path, ("id",))
        if not value["id"]:
            raise ProtocolError("invalid_value", f"Invalid '{path}.id': a custom voice id is not empty.", f"{path}.id")
        return
    one_of(*VOICES)(value, path)


def _one_part(part_types: tuple[str, ...]) -> Check:
    def check(value: Any, path: str) -> None:
        kind(list)(value, path)
        if len(value) != 1:
            msg = f"Invalid '{path}': an input message has exactly one text part, got {len(value)}."
            raise ProtocolError("invalid_value", msg, path)
        validate_object(value[0], {"type": one_of(*part_types), "text": string()}, f"{path}[0]", ("text",))

    return check


def _initial_item(value: Any, path: str) -> None:
    kind(dict)(value, path)
    if "role" not in value:
        raise missing(f"{path}.role")
    one_of("developer", "user", "assistant")(value["role"], f"{path}.role")
    parts = ("text", "output_text") if value["role"] == "assistant" else ("input_text",)
    spec: Spec = {
        "role": anything,
        "content": _one_part(parts),
        "id": string(nullable=True),
        "status": nullable(one_of("incomplete", "completed")),
        "type": one_of("message"),
    }
    validate_object(value, spec, path, ("content",))


_PART = by_type(
    {
        "input_text": ({"text": string()}, ("text",)),
        "input_image": ({"image_url": string(), "detail": one_of("low", "high", "auto", "original")}, ("image_url",)),
        "input_json": ({"data": kind(dict, list)}, ("data",)),
    }
)
_INSTRUCTIONS = either(string(), list_of(_PART), "a string or an array of content parts")
_QUESTION = by_type(
    {
        "choice": (
            {
                "choices": list_of(shape({"value": kind(str, bool), "description": string()}, ("value",))),
                "instructions": _INSTRUCTIONS,
                "name": string(),
            },
            ("choices", "instructions"),
        ),
        "predicate": ({"instructions": _INSTRUCTIONS, "name": string()}, ("instructions",)),
        "score": (
            {
                "levels": list_of(shape({"label": string(), "description": string()}, ("label",))),
                "instructions": _INSTRUCTIONS,
                "name": string(),
            },
            ("levels", "instructions"),
        ),
    }
)
_TRIGGER = by_type(
    {
        "decisions": (
            {
                "event_type": one_of(*TRANSCRIPT_EVENTS),
                "decisions": shape({"questions": list_of(_QUESTION)}, ("questions",)),
            },
            ("event_type", "decisions"),
        )
    }
)


def _triggers(value: Any, path: str) -> None:
    list_of(_TRIGGER)(value, path)
    seen: set[str] = set()
    for i, trigger in enumerate(value):
        if trigger["event_type"] in seen:
            msg = f"Invalid '{path}[{i}]': at most one trigger per transcript event type ({trigger['event_type']})."
            raise ProtocolError("invalid_value", msg, f"{path}[{i}].event_type")
        seen.add(trigger["event_type"])


# -- delegation ------------------------------------------------------------------------------


def _tool_name(value: Any, path: str) -> None:
    string()(value, path)
    if not _TOOL_NAME.match(value):
        msg = f"Invalid '{path}': {value[:60]!r} is not a tool name; use 1-64 letters, digits, underscores or hyphens."
        raise ProtocolError("invalid_value", msg, path)


_TOOL = by_type(
    {
        "function": (
            {
                "name": _tool_name,
                "description": string(nullable=True),
                "parameters": kind(dict, nullable=True),
                "strict": kind(bool, nullable=True),
            },
            ("name",),
        ),
        **{name: ({}, ()) for name in HOSTED_TOOLS},
        "mcp": (
            {
                "server_label": string(),
                "server_url": string(),
                "server_description": string(),
                "connector_id": string(),
                "tunnel_id": string(),
                "authorization": string(),
                "headers": kind(dict),
                "allowed_callers": list_of(one_of("direct", "programmatic")),
                "allowed_tools": kind(list, dict),
                "require_approval": either(one_of("always", "never"), kind(dict), "'always', 'never' or an object"),
                "defer_loading": kind(bool),
            },
            (),
        ),
        "shell": (
            {
                "environment": by_type(
                    {
                        "container_auto": (
                            {
                                "file_ids": list_of(string()),
                                "memory_limit": one_of("1g", "4g", "16g", "64g"),
                                "network_policy": kind(dict),
                                "skills": kind(list),
                            },
                            (),
                        ),
                        "container_reference": ({"container_id": string()}, ("container_id",)),
                        "local": ({"skills": kind(list)}, ()),
                    }
                )
            },
            (),
        ),
    }
)


def _tools(value: Any, path: str) -> None:
    list_of(_TOOL, MAX_TOOLS)(value, path)
    names = [tool["name"] for tool in value if tool["type"] == "function"]
    for i, name in enumerate(names):
        if name in names[:i]:
            msg = f"Invalid '{path}': two function tools are named {name!r}; give each tool its own name."
            raise ProtocolError("invalid_value", msg, path)


_SELECTOR = by_type(
    {
        "function": ({"name": _tool_name}, ("name",)),
        "custom": ({"name": _tool_name}, ("name",)),
        "mcp": ({"server_label": string(), "name": string(nullable=True)}, ("server_label",)),
        **{name: ({}, ()) for name in CHOICE_TYPES},
    }
)
_TOOL_CHOICE_OBJECT = by_type(
    {
        **{name: ({}, ()) for name in CHOICE_TYPES},
        "function": ({"name": _tool_name}, ("name",)),
        "custom": ({"name": _tool_name}, ("name",)),
        "mcp": ({"server_label": string(), "name": string(nullable=True)}, ("server_label",)),
        "allowed_tools": ({"tools": list_of(_SELECTOR), "mode": one_of("none", "auto", "required")}, ("tools",)),
    }
)
_TOOL_CHOICE = either(one_of("auto", "none", "required"), _TOOL_CHOICE_OBJECT, "a string or an object")


def _responses_spec() -> Spec:
    return {
        "model": string(128),
        "instructions": string(MAX_INSTRUCTIONS_CHARS, nullable=True),
        "max_output_tokens": integer_in(16, nullable=True),
        "parallel_tool_calls": kind(bool, nullable=True),
        "reasoning": nullable(shape({"effort": nullable(one_of(*EFFORTS)), "summary": nullable(one_of(*SUMMARIES))})),
        "service_tier": nullable(one_of(*SERVICE_TIERS)),
        "text": nullable(shape({"verbosity": nullable(one_of(*VERBOSITY))})),
        "tool_choice": _TOOL_CHOICE,
        "tools": _tools,
    }


def check_tool_choice(responses: dict[str, Any], path: str) -> None:
    """A ``tool_choice`` naming a function must name one of the backend's function tools."""
    choice = responses.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        names = [t["name"] for t in responses.get("tools") or [] if t["type"] == "function"]
        if choice["name"] not in names:
            offered = ", ".join(repr(n) for n in names) or "none"
            msg = f"Tool choice '{choice['name']}' is not one of the backend's function tools (offered: {offered})."
            raise ProtocolError("invalid_value", msg, f"{path}.tool_choice.name")


def _delegation(update: bool) -> Check:
    responses = shape(_responses_spec(), () if update else ("model",))
    decisions = shape({"model": string(128), "questions": list_of(_QUESTION)}, () if update else ("model", "questions"))
    delay = integer_in(0, 60_000)
    variants = by_type(
        {
            "client": ({"acknowledgement_delay_ms": delay}, ()),
            "responses": (
                {"responses": responses, "acknowledgement_delay_ms": delay},
                () if update else ("responses",),
            ),
            "decisions": (
                {"decisions": decisions, "acknowledgement_delay_ms": delay},
                () if update else ("decisions",),
            ),
        }
    )

    def check(value: Any, path: str) -> None:
        if value is None:
            return
        variants(value, path)
        if value["type"] == "responses" and "responses" in value:
            check_tool_choice(value["responses"], f"{path}.responses")

    return check


# -- the session ----------------------------------------------------------------------------


def _event_rules(value: Any, path: str) -> None:
    if value == "all":
        return
    list_of(one_of(*CLIENT_EVENTS), MAX_EVENT_RULES)(value, path)


def _server_rule(value: Any, path: str) -> None:
    validate_object(value, {"type": one_of(*SERVER_EVENTS), "response_event": string(256)}, path, ("type",))
    if value["type"] == "response.event" and "response_event" not in value:
        raise missing(f"{path}.response_event")
    if value["type"] != "response.event" and "response_event" in value:
        msg = f"Invalid '{path}.response_event': it applies only to type 'response.event'; remove it."
        raise ProtocolError("invalid_value", msg, f"{path}.response_event")


def _server_rules(value: Any, path: str) -> None:
    if value != "all":
        list_of(_server_rule, MAX_EVENT_RULES)(value, path)


def _audio(value: Any, path: str) -> None:
    kind(dict)(value, path)
    if "format" in value:
        msg = (
            f"Unknown parameter: '{path}.format'. WebRTC negotiates its audio format; audio.format is only for the "
            "primary WebSocket. Leave it out."
        )
        raise ProtocolError("unknown_parameter", msg, f"{path}.format")
    validate_object(value, {"output": shape({"voice": _voice})}, path)


MEDIA_SESSION: Spec = {
    "model": _model,
    "instructions": string(MAX_INSTRUCTIONS_CHARS, nullable=True),
    "audio": _audio,
    "client": shape(
        {"data_channel": shape({"allowed_client_events": _event_rules, "allowed_server_events": _server_rules})},
        ("data_channel",),
    ),
    "delegation": _delegation(update=False),
    "idle_timeout_s": integer_in(1, MAX_IDLE_TIMEOUT_S),
    "wake_policy": shape({"type": one_of("speech"), "vad_threshold": number_in(0, 1)}, ("type",)),
    "input": list_of(_initial_item, MAX_INPUT_ITEMS),
    "safety_identifier": string(64, nullable=True),
    "store": kind(bool),
    "triggers": _triggers,
}
"""The SDK's ``MediaSessionConfigParam``: the ``session`` of ``POST /v1/live/sessions``."""

SESSION_UPDATE: Spec = {"delegation": _delegation(update=True), "triggers": _triggers}
"""The SDK's ``SessionUpdateConfig``: only delegation settings and triggers can change."""


def _session(value: Any, path: str) -> None:
    kind(dict)(value, path)
    for key in value:
        if key not in MEDIA_SESSION and key in _REALTIME_HINTS:
            msg = f"Unknown parameter: '{path}.{key}'. {_REALTIME_HINTS[key]}."
            raise ProtocolError("unknown_parameter", msg, f"{path}.{key}")
    validate_object(value, MEDIA_SESSION, path, ("model",))


def validate_create(body: dict[str, Any]) -> None:
    """Check a ``POST /v1/live/sessions`` body: ``{session, transport: {type: "webrtc", sdp}}``.

    Raises
    ------
    ProtocolError
        The first problem found, with ``param`` naming the field.
    """
    transport = shape({"type": one_of("webrtc"), "sdp": string()}, ("type", "sdp"))
    validate_object(body, {"session": _session, "transport": transport}, "", ("session", "transport"))


# -- client events ---------------------------------------------------------------------------


def _append() -> tuple[Spec, tuple[str, ...]]:
    return {"content": string(), "delegation_id": string(nullable=True)}, ("content", "delegation_id")


def _output(value: Any, path: str) -> None:
    either(string(), list_of(_PART), "a string or an array of content parts")(value, path)


_RESPONSE_ITEM = by_type(
    {
        "function_call_output": (
            {
                "call_id": string(64),
                "output": _output,
                "id": string(nullable=True),
                "status": nullable(one_of("in_progress", "completed", "incomplete")),
            },
            ("call_id", "output"),
        ),
        "message": (
            {
                "role": one_of("user", "developer", "system", "assistant"),
                "content": _output,
                "id": string(nullable=True),
                "status": nullable(one_of("in_progress", "completed", "incomplete")),
            },
            ("role", "content"),
        ),
    }
)

CLIENT: dict[str, tuple[Spec, tuple[str, ...]]] = {
    "session.update": ({"session": shape(SESSION_UPDATE)}, ("session",)),
    "session.input_audio.mute": ({}, ()),
    "session.input_audio.unmute": ({}, ()),
    "session.output_audio.fixture.play": ({"audio": string()}, ("audio",)),
    "session.instructions.append": _append(),
    "session.thinking.append": _append(),
    "session.commentary.append": _append(),
    "session.close": ({}, ()),
    "decision.create": ({}, ("event_id",)),
    "decision.item.create": ({"item": kind(dict)}, ("item",)),
    "decision.item.delete": ({"item_id": string()}, ("item_id",)),
    "response.item.create": ({"item": _RESPONSE_ITEM}, ("item",)),
    "response.create": ({}, ()),
    "transport.dtmf.send": ({"event": one_of(*"0123456789ABCD*#")}, ("event",)),
}
"""The SDK's ``ConnectClientEvent``: what a data channel or a sideband may send."""
_ELSEWHERE = {
    "session.start": "session.start is only for the primary WebSocket: a WebRTC session starts when it is created",
    "session.input_audio.append": "on WebRTC the audio travels on the media track, not as events",
}


def validate_client_event(event: dict[str, Any]) -> str:
    """Check one Live client event in full and return its type.

    Raises
    ------
    ProtocolError
        For a missing, unknown or misplaced type, or any field that does not fit.
    """
    if "type" not in event:
        raise missing("type")
    type_ = event["type"]
    string()(type_, "type")
    if type_ in _ELSEWHERE:
        raise ProtocolError("invalid_value", f"Invalid event type {type_!r} here: {_ELSEWHERE[type_]}.", "type")
    if type_ not in CLIENT:
        msg = f"Invalid value: {type_[:80]!r}. Supported values are: {', '.join(repr(t) for t in CLIENT)}."
        raise ProtocolError("invalid_value", msg, "type")
    spec, required = CLIENT[type_]
    validate_object(event, {"type": anything, "event_id": string(512, nullable=True), **spec}, "", required)
    return str(type_)


def check_append(content: str) -> None:
    """An append's ``content`` holds at most :data:`MAX_APPEND_TOKENS` tokens."""
    tokens = text_tokens(content)
    if tokens > MAX_APPEND_TOKENS:
        msg = (
            f"Invalid 'content': about {tokens} tokens; an append holds at most {MAX_APPEND_TOKENS}. "
            "Split it into several appends."
        )
        raise ProtocolError("string_above_max_length", msg, "content")
