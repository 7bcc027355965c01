"""Session configuration: typed Python in, the GA (or legacy beta) session object out.

Everything is checked here, before any network call; each error names the field, the value
it got and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Collection
from typing import Any, Literal

from . import beta
from ._checks import finite
from .redaction import remember_tool_credentials
from .tools import TOOL_NAME, Tool, function_tool

VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")
MODALITIES = ("audio", "text")
TURN_DETECTION = ("server_vad", "semantic_vad")
EAGERNESS = ("low", "medium", "high", "auto")
NOISE_REDUCTION = ("near_field", "far_field")
TOOL_CHOICES = ("auto", "none", "required")
TRANSCRIPTION_MODELS = (
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-mini-transcribe-2025-12-15",
    "gpt-4o-transcribe-diarize",
    "gpt-transcribe",
    "gpt-live-transcribe",
    "gpt-realtime-whisper",
)
VAD_FIELDS = (
    "threshold",
    "prefix_padding_ms",
    "silence_duration_ms",
    "idle_timeout_ms",
    "create_response",
    "interrupt_response",
    "eagerness",
)
MAX_INSTRUCTIONS_BYTES = 128 * 1024
"""Instructions longer than this (UTF-8) are refused before anything is sent. gpt-realtime's
context is 32,000 tokens, about 128,000 characters of English, and a ``session.update`` must fit
in one data-channel message (256 KiB in browsers) with everything else it carries."""
MAX_SESSION_BYTES = 240 * 1024
"""The largest ``session.update`` as JSON: one data-channel message (256 KiB in browsers), with
room to spare."""
# In update(), None means "off" only for these; elsewhere it has no meaning on the wire.
NULLABLE_IN_UPDATE = frozenset({"turn_detection", "transcription", "noise_reduction"})
_NONE_IN_UPDATE = {
    "voice": "a voice cannot be unset; use one of " + ", ".join(repr(v) for v in VOICES),
    "instructions": "use instructions='' to clear them",
    "tools": "use tools=[] to remove every tool",
    "tool_choice": "use 'auto' (the default), 'none', 'required' or {'type': 'function', 'name': ...}",
    "output_modalities": "use 'audio' or 'text'",
    "max_output_tokens": "use an integer from 1 to 4096, or 'inf' (the default)",
    "speed": "use a number from 0.25 to 1.5 (1.0 is the default)",
    "tracing": "tracing cannot be turned off once on; use 'auto' or a dict with workflow_name/group_id/metadata",
}
_VOICE_KEYS = frozenset({"id"})
_TRACING_KEYS = {"workflow_name": str, "group_id": str, "metadata": dict}
_FUNCTION_TOOL_KEYS = frozenset({"type", "name", "description", "parameters"})


class ConfigError(ValueError):
    """A session setting is invalid; the message says which, why, and what is allowed."""


def _fail(field: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{field}={value!r} is not valid: {allowed}.")


def _choice(field: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _fail(field, value, "use one of " + ", ".join(repr(a) for a in allowed))
    return str(value)


def _number(field: str, value: Any, low: float, high: float, *, integer: bool = False) -> float:
    kind = "an integer" if integer else "a number"
    number = finite(value)
    if number is None or (integer and not isinstance(value, int)) or not low <= number <= high:
        raise _fail(field, value, f"use {kind} from {low:g} to {high:g}")
    return value  # type: ignore[no-any-return]  # the int or float the user gave, checked


def _flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(field, value, "use True or False")
    return value


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(field, value, "use a string")
    return value


@dataclasses.dataclass(frozen=True)
class Transcription:
    """Input transcription: which model, and optional language and prompt hints."""

    model: str = "gpt-4o-mini-transcribe"
    language: str | None = None
    prompt: str | None = None

    def __post_init__(self) -> None:
        _choice("transcription model", self.model, TRANSCRIPTION_MODELS)
        if self.language is not None and (not isinstance(self.language, str) or not 2 <= len(self.language) <= 3):
            raise _fail("transcription language", self.language, "use an ISO-639-1 code such as 'en'")
        if self.prompt is not None:
            _text("transcription prompt", self.prompt)

    def to_ga(self) -> dict[str, Any]:
        """The GA ``audio.input.transcription`` object."""
        out: dict[str, Any] = {"model": self.model}
        if self.language:
            out["language"] = self.language
        if self.prompt:
            out["prompt"] = self.prompt
        return out


@dataclasses.dataclass(frozen=True)
class TurnDetection:
    """Voice activity detection: ``server_vad`` (energy/silence) or ``semantic_vad``."""

    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    threshold: float | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    idle_timeout_ms: int | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None
    eagerness: str | None = None

    def __post_init__(self) -> None:
        _choice("turn_detection type", self.type, TURN_DETECTION)
        server_only = ("threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms")
        if self.type == "semantic_vad":
            used = [f for f in server_only if getattr(self, f) is not None]
            if used:
                raise ConfigError(
                    f"{used[0]} only applies to turn_detection='server_vad'; "
                    "semantic_vad takes eagerness ('low', 'medium', 'high' or 'auto')."
                )
            if self.eagerness is not None:
                _choice("eagerness", self.eagerness, EAGERNESS)
        elif self.eagerness is not None:
            raise ConfigError("eagerness only applies to turn_detection='semantic_vad'.")
        if self.threshold is not None:
            _number("threshold", self.threshold, 0.0, 1.0)
        for field, high in (("prefix_padding_ms", 10_000), ("silence_duration_ms", 10_000)):
            if getattr(self, field) is not None:
                _number(field, getattr(self, field), 0, high, integer=True)
        if self.idle_timeout_ms is not None:
            _number("idle_timeout_ms", self.idle_timeout_ms, 5_000, 30_000, integer=True)
        for field in ("create_response", "interrupt_response"):
            if getattr(self, field) is not None:
                _flag(field, getattr(self, field))

    def to_ga(self) -> dict[str, Any]:
        """The GA ``audio.input.turn_detection`` object (unset fields keep service defaults)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {k: v for k, v in fields.items() if v is not None}


@dataclasses.dataclass(frozen=True)
class SessionConfig:
    """A validated Realtime session configuration.

    Build it with :meth:`from_kwargs` (what ``rt.Realtime(...)`` takes) and turn it into
    the wire shape with :meth:`to_ga` or :meth:`to_beta`. ``None`` means "service default".
    """

    model: str = "gpt-realtime"
    voice: str | dict[str, str] | None = None
    instructions: str | None = None
    output_modalities: tuple[str, ...] | None = None
    transcription: Transcription | None = None
    turn_detection: TurnDetection | Literal["default"] | None = "default"
    noise_reduction: str | None = None
    tools: tuple[dict[str, Any], ...] | None = None
    tool_choice: str | dict[str, Any] | None = None
    max_output_tokens: int | Literal["inf"] | None = None
    speed: float | None = None
    tracing: str | dict[str, Any] | None = None

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> SessionConfig:
        """Validate user-facing keyword arguments (see ``rt.Realtime``) into a config."""
        return cls(**_convert(kwargs))

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise _fail("model", self.model, "use a model name such as 'gpt-realtime' (on Azure, the deployment name)")
        if self.voice is not None:
            _voice(self.voice)
        if self.instructions is not None:
            _instructions(self.instructions)
        if self.output_modalities is not None:
            modalities = self.output_modalities
            if isinstance(modalities, str):
                modalities = (modalities,)
            if not isinstance(modalities, list | tuple) or len(modalities) != 1:
                raise _fail("output_modalities", self.output_modalities, "use 'audio' or 'text' (one of them)")
            _choice("output_modalities", modalities[0], MODALITIES)
            object.__setattr__(self, "output_modalities", tuple(modalities))
        if self.noise_reduction is not None:
            _choice("noise_reduction", self.noise_reduction, NOISE_REDUCTION)
        if self.tools is not None:
            object.__setattr__(self, "tools", _tools(self.tools))
        if self.tool_choice is not None:
            _tool_choice(self.tool_choice, self.tools or ())
        if self.max_output_tokens is not None and self.max_output_tokens != "inf":
            _number("max_output_tokens", self.max_output_tokens, 1, 4096, integer=True)
        if self.speed is not None:
            _number("speed", self.speed, 0.25, 1.5)
        if self.tracing is not None:
            _tracing(self.tracing)
        try:
            _json_bytes(self.to_ga())
        except (TypeError, ValueError, RecursionError) as exc:
            raise ConfigError(
                f"The session settings cannot be sent as JSON ({exc}); tool definitions may hold only "
                "text, finite numbers, booleans, None, lists and dicts."
            ) from None

    def updated(self, **changes: Any) -> SessionConfig:
        """A copy with ``changes`` applied, checked as a whole by the constructor's rules.

        ``None`` turns off ``turn_detection``, ``transcription`` and ``noise_reduction``; for
        other settings it has no meaning on the wire and is refused.
        """
        for name, value in changes.items():
            if value is None and name not in NULLABLE_IN_UPDATE and name != "model":
                hint = _NONE_IN_UPDATE.get(name, "give a value, or leave it out to keep the current one")
                raise ConfigError(f"{name}=None is not valid in update(): {hint}.")
        if "model" in changes and changes["model"] != self.model:
            raise ConfigError("model cannot change during a session; create a new Realtime to use another model.")
        vad = [k for k in VAD_FIELDS if k in changes]
        if vad and "turn_detection" not in changes:
            current = self.turn_detection
            if current is None:
                example = ", ".join(f"{k}={changes[k]!r}" for k in vad)
                raise ConfigError(
                    f"{vad[0]} needs turn detection, which is off (turn_detection=None). Turn it on with "
                    f"update(turn_detection='server_vad', {example}), or 'semantic_vad' for eagerness."
                )
            changes["turn_detection"] = current if isinstance(current, TurnDetection) else TurnDetection()
        return dataclasses.replace(self, **_convert(changes)) if changes else self

    def to_ga(self, *, only: Collection[str] | None = None) -> dict[str, Any]:
        """The GA session object (``type: "realtime"``); with ``only``, just those settings."""
        names = set(only) if only is not None else {f.name for f in dataclasses.fields(self)}
        session: dict[str, Any] = {"type": "realtime"}
        audio_in: dict[str, Any] = {}
        audio_out: dict[str, Any] = {}
        for name in sorted(names):
            value = getattr(self, name)
            if name == "turn_detection":
                if value != "default":
                    audio_in["turn_detection"] = value.to_ga() if value else None
            elif value is None and only is None:
                continue
            elif name == "voice":
                audio_out["voice"] = value
            elif name == "speed":
                audio_out["speed"] = value
            elif name == "transcription":
                audio_in["transcription"] = value.to_ga() if value else None
            elif name == "noise_reduction":
                audio_in["noise_reduction"] = {"type": value} if value else None
            elif name in ("output_modalities", "tools"):
                session[name] = list(value) if value is not None else []
            elif value is not None:
                session[name] = value
        audio = {k: v for k, v in (("input", audio_in), ("output", audio_out)) if v}
        if audio:
            session["audio"] = audio
        return session

    def to_beta(self) -> dict[str, Any]:
        """The legacy beta flat session config."""
        flat = beta.session_to_beta(self.to_ga())
        return {k: v for k, v in flat.items() if v is not None and k not in ("object", "temperature")}


def _convert(kwargs: dict[str, Any]) -> dict[str, Any]:
    """User-facing settings as config fields: VAD settings folded into ``turn_detection``."""
    values = dict(kwargs)
    vad = {k: values.pop(k) for k in VAD_FIELDS if k in values}
    known = {f.name for f in dataclasses.fields(SessionConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        allowed = ", ".join(sorted(known | set(VAD_FIELDS)))
        raise TypeError(f"Unknown session setting {unknown[0]!r}. Known settings: {allowed}.")
    if "turn_detection" in values or vad:
        values["turn_detection"] = _turn_detection(values.get("turn_detection", "server_vad"), vad)
    if "transcription" in values:
        values["transcription"] = _transcription(values["transcription"])
    return values


def check_message_size(event: dict[str, Any]) -> None:
    """Refuse a client event too large for one data-channel message (a ``session.update``).

    The session given at connect travels over HTTPS and has no such bound; updates go on
    the data channel, whose messages browsers cap at 256 KiB.
    """
    size = _json_bytes(event)
    if size > MAX_SESSION_BYTES:
        raise ConfigError(
            f"This {event.get('type')} is {size:,} bytes as JSON; the limit is {MAX_SESSION_BYTES:,} (it must fit "
            "in one data-channel message). Shorten the instructions or the tool descriptions, or update fewer "
            "tools at a time."
        )


def _json_bytes(value: Any) -> int:
    # surrogatepass: a lone surrogate is counted, not a crash (json.dumps escapes it on the wire)
    return len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8", "surrogatepass"))


def _voice(voice: Any) -> None:
    if isinstance(voice, dict):
        if set(voice) != _VOICE_KEYS or not isinstance(voice["id"], str) or not voice["id"]:
            raise _fail("voice", voice, "use a voice name, or {'id': 'voice_...'} for a custom voice")
        return
    _choice("voice", voice, VOICES)


def _instructions(text: Any) -> None:
    _text("instructions", text)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_INSTRUCTIONS_BYTES:
        raise ConfigError(
            f"instructions are {size:,} bytes long (UTF-8); the limit is {MAX_INSTRUCTIONS_BYTES:,} bytes "
            "(128 KiB, about gpt-realtime's whole 32,000-token context). Shorten them; put reference "
            "material in a tool the model can call instead."
        )


def _tool_choice(choice: Any, tools: tuple[dict[str, Any], ...]) -> None:
    functions = [str(t["name"]) for t in tools if t.get("type") == "function"]
    servers = [str(t.get("server_label")) for t in tools if t.get("type") == "mcp"]
    offered = ", ".join(repr(n) for n in functions) or "none: add the tool to tools=[...] first"
    if isinstance(choice, str):
        if choice in TOOL_CHOICES:
            return
        if choice in functions:
            raise _fail(
                "tool_choice", choice, f"to make the model call it, use {{'type': 'function', 'name': {choice!r}}}"
            )
        raise _fail(
            "tool_choice", choice, "use 'auto', 'none', 'required' or {'type': 'function', 'name': <a tool's name>}"
        )
    if not isinstance(choice, dict):
        raise _fail("tool_choice", choice, "use 'auto', 'none', 'required' or {'type': 'function', 'name': ...}")
    kind = choice.get("type")
    if kind == "function":
        if set(choice) != {"type", "name"} or choice["name"] not in functions:
            raise _fail("tool_choice", choice, f"name one of the session's function tools ({offered})")
    elif kind == "mcp":
        if set(choice) - {"type", "server_label", "name"} or choice.get("server_label") not in servers:
            known = ", ".join(repr(s) for s in servers) or "none: add an MCP tool first"
            raise _fail("tool_choice", choice, f"give the server_label of one of the session's MCP tools ({known})")
    else:
        raise _fail("tool_choice", choice, "a dict tool_choice has type 'function' (with a name) or 'mcp'")


def _tracing(tracing: Any) -> None:
    if tracing == "auto":
        return
    usage = "use 'auto', a dict with workflow_name/group_id/metadata, or None"
    if not isinstance(tracing, dict):
        raise _fail("tracing", tracing, usage)
    for key, value in tracing.items():
        kind = _TRACING_KEYS.get(key)
        if kind is None:
            raise _fail("tracing", tracing, f"{key!r} is not a tracing setting; {usage}")
        if not isinstance(value, kind):
            raise _fail(f"tracing[{key!r}]", value, f"use a {kind.__name__}")


def _turn_detection(value: Any, vad: dict[str, Any]) -> TurnDetection | None:
    if isinstance(value, TurnDetection):
        return dataclasses.replace(value, **vad) if vad else value
    if value is None:
        if vad:
            raise ConfigError(f"{next(iter(vad))} needs turn detection; it has no effect with turn_detection=None.")
        return None
    if isinstance(value, dict):
        params = {**value, **vad}
        unknown = sorted(set(params) - {"type", *VAD_FIELDS})
        if unknown:
            raise ConfigError(f"Unknown turn_detection setting {unknown[0]!r}. Known: type, {', '.join(VAD_FIELDS)}.")
        return TurnDetection(**params)
    if value not in TURN_DETECTION:
        raise _fail("turn_detection", value, "use 'server_vad', 'semantic_vad', a dict of VAD settings, or None")
    return TurnDetection(type=value, **vad)


def _transcription(value: Any) -> Transcription | None:
    if value is None or isinstance(value, Transcription):
        return value
    if isinstance(value, str):
        return Transcription(model=value)
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"model", "language", "prompt"})
        if unknown:
            raise ConfigError(f"Unknown transcription setting {unknown[0]!r}. Known: model, language, prompt.")
        return Transcription(**value)
    raise _fail("transcription", value, "use a model name, a dict(model=..., language=..., prompt=...), or None")


def _tools(tools: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(tools, list | tuple):
        raise _fail("tools", tools, "use a list of tool definitions or Python functions")
    checked = []
    for i, tool in enumerate(tools):
        if isinstance(tool, Tool):
            checked.append(tool.definition)
            continue
        if callable(tool) and not isinstance(tool, dict):
            checked.append(function_tool(tool))  # a Python function: its schema from its hints
            continue
        checked.append(_tool_dict(f"tools[{i}]", tool))
    names = [str(t["name"]) for t in checked if t.get("type") == "function"]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"Two tools are named {twice[0]!r}; give every tool its own name.")
    return tuple(checked)


def _tool_dict(where: str, tool: Any) -> dict[str, Any]:
    """A tool definition given as a dict, checked as the API would check it."""
    if not isinstance(tool, dict):
        raise _fail(where, tool, "use a dict like {'type': 'function', 'name': ..., 'parameters': {...}}")
    kind = tool.get("type")
    if kind not in ("function", "mcp"):
        raise _fail(f"{where}.type", kind, "use 'function' (or 'mcp')")
    if kind == "mcp":
        remember_tool_credentials([tool])  # its token must never show in an error or a log line
        if not isinstance(tool.get("server_label"), str) or not tool["server_label"]:
            raise _fail(f"{where}.server_label", tool.get("server_label"), "give every MCP tool a server_label")
        if not any(isinstance(tool.get(k), str) for k in ("server_url", "connector_id", "tunnel_id")):
            raise ConfigError(f"{where}: an MCP tool needs a server_url, connector_id or tunnel_id.")
        return dict(tool)
    name = tool.get("name")
    if not isinstance(name, str) or not re.fullmatch(TOOL_NAME, name):
        raise _fail(f"{where}.name", name, "give every function tool a name of 1-64 letters, digits, _ or -")
    unknown = sorted(set(tool) - _FUNCTION_TOOL_KEYS)
    if unknown:
        raise ConfigError(
            f"{where} has an unknown key {unknown[0]!r}: a function tool has type, name, description and parameters."
        )
    if "description" in tool and not isinstance(tool["description"], str):
        raise _fail(f"{where}.description", tool["description"], "use a string")
    parameters = tool.get("parameters")
    if parameters is not None and not (isinstance(parameters, dict) and parameters.get("type", "object") == "object"):
        raise _fail(
            f"{where}.parameters", parameters, "use a JSON schema object, e.g. {'type': 'object', 'properties': {...}}"
        )
    return dict(tool)
