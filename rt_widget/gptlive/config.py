"""GPT-Live session configuration: typed Python in, the ``session`` of ``POST /v1/live/sessions`` out.

Field names and allowed values follow the ``openai`` SDK's ``openai.types.live`` (3.57.0), the
machine-readable truth. Everything is checked here, before any network call (each create bills
15 s up front); each error names the field, the value it got (never a credential) and what is
allowed. A started session can change only its delegation settings and its triggers.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

from ..config import ConfigError, _choice, _fail, _flag, _json_bytes, _number, _text, check_message_size
from .delegation import (
    ClientDelegation,
    DecisionsDelegation,
    Delegation,
    ResponsesDelegation,
    delegation,
    dict_with,
    did_you_mean,
    list_of,
    nonempty,
    questions,
)

__all__ = ["ClientDelegation", "DecisionsDelegation", "LiveConfig", "ResponsesDelegation"]

MODELS = ("gpt-live-1", "gpt-live-1.1")
VOICES = (
    "alloy",
    "ash",
    "ballad",
    "beacon",
    "bossa",
    "cedar",
    "cinder",
    "coral",
    "delta",
    "echo",
    "gleam",
    "marin",
    "meridian",
    "quartz",
    "ripple",
    "sage",
    "shida",
    "shimmer",
    "stone",
    "tempo",
    "verse",
    "vesper",
    "willow",
)
"""The SDK's ``BuiltInVoice`` names (the default is ``marin``)."""
MUTABLE = ("delegation", "triggers")
"""The only settings ``session.update`` can change once a session has started."""
ROLES = ("developer", "user", "assistant")
TRANSCRIPT_EVENTS = ("session.input_transcript.delta", "session.output_transcript.delta")
CLIENT_EVENTS = (
    "session.update",
    "session.input_audio.mute",
    "session.input_audio.unmute",
    "session.output_audio.fixture.play",
    "session.instructions.append",
    "session.thinking.append",
    "session.commentary.append",
    "session.close",
    "decision.create",
    "decision.item.create",
    "decision.item.delete",
    "response.item.create",
    "response.create",
    "transport.dtmf.send",
)
"""The SDK's ``ConnectClientEvent`` types: what a data channel (or a sideband) may send."""
SERVER_EVENTS = (
    "session.started",
    "session.updated",
    "session.paused",
    "session.resumed",
    "session.closed",
    "session.usage.updated",
    "error",
    "info",
    "session.input_audio.muted",
    "session.input_audio.unmuted",
    "session.input_audio.append",
    "session.output_audio.delta",
    "session.output_audio.fixture.playing",
    "session.output_audio.fixture.played",
    "session.instructions.appended",
    "session.thinking.appended",
    "session.commentary.appended",
    "session.input_transcript.delta",
    "session.output_transcript.delta",
    "session.delegation.created",
    "response.event",
    "decision.event",
    "decision.item.created",
    "decision.item.deleted",
    "transport.ringing",
    "transport.answered",
    "transport.failed",
    "transport.dtmf.received",
    "transport.dtmf.sent",
    "transport.dtmf.send",
)
"""The SDK's ``ConnectServerEvent`` types."""
MAX_INPUT_ITEMS = 128
MAX_EVENT_RULES = 256
MAX_INSTRUCTIONS_BYTES = 64 * 1024
"""Frontend instructions longer than this (UTF-8) are refused: GPT-Live takes at most 16,384
client tokens, about 64 KiB of English (the service counts the tokens exactly)."""
MAX_IDLE_TIMEOUT_S = 7200
"""Sessions end after two hours (observed), so a longer idle timeout could never fire."""
_REALTIME_ONLY = {
    "tools": "GPT-Live's tools belong to its Responses backend: delegation=ResponsesDelegation(model=..., tools=[...])",
    "tool_choice": "set it on the backend: delegation=ResponsesDelegation(model=..., tool_choice=...)",
    **dict.fromkeys(
        ("turn_detection", "transcription", "noise_reduction", "output_modalities", "speed", "tracing"),
        "GPT-Live's turns are server-driven and it has no input-audio or output settings besides the voice",
    ),
}


@dataclasses.dataclass(frozen=True)
class LiveConfig:
    """A validated GPT-Live session configuration.

    Build it with :meth:`from_kwargs`; :meth:`to_session` gives the ``session`` object of
    ``POST /v1/live/sessions`` and :meth:`update_event` the ``session.update`` that changes
    delegation or triggers later. ``None`` means "service default" (and is not sent).

    Parameters
    ----------
    model:
        ``"gpt-live-1"``, ``"gpt-live-1.1"`` or another GPT-Live model (``"gpt-live-..."``).
    instructions:
        Frontend instructions (voice, conversation, when to delegate); at most 16,384 tokens.
    voice:
        A built-in voice (:data:`VOICES`; the service's default is ``"marin"``) or a custom
        voice ``{"id": "voice_..."}``.
    input:
        Startup history: at most 128 messages such as ``{"role": "user", "content": "text"}``
        (roles developer, user, assistant; one text each), or the API's own message dicts.
    delegation:
        ``"client"`` (the service's default: your application), :class:`ResponsesDelegation`,
        :class:`DecisionsDelegation`, or the API's dict (``{"type": "responses", "responses": {...}}``).
    triggers:
        Decisions triggers as the API takes them, at most one per transcript event type.
    idle_timeout_s, wake_policy:
        Pause inference (billed at the standby rate) after this many idle seconds, and resume
        on speech: ``wake_policy="speech"`` or ``{"type": "speech", "vad_threshold": 0.6}``.
    data_channel:
        What the browser may send and receive (the API's ``client.data_channel``):
        ``allowed_client_events`` and ``allowed_server_events``, each ``"all"`` or a list of
        event types (server events may also be ``{"type": "response.event", "response_event": ...}``).
    store:
        Keep the session for forking and recording download.
    safety_identifier:
        A stable id of your end user, for abuse monitoring.
    """

    model: str = "gpt-live-1"
    instructions: str | None = None
    voice: str | dict[str, str] | None = None
    input: tuple[dict[str, Any], ...] | None = None
    delegation: Delegation | None = None
    triggers: tuple[dict[str, Any], ...] | None = None
    idle_timeout_s: int | None = None
    wake_policy: dict[str, Any] | None = None
    data_channel: dict[str, Any] | None = None
    store: bool | None = None
    safety_identifier: str | None = None

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> LiveConfig:
        """Validate user-facing keyword arguments into a config.

        Raises
        ------
        ConfigError
            For an unknown setting (naming the closest known one) or an invalid value.
        """
        _known_settings(kwargs)
        return cls(**kwargs)

    def __post_init__(self) -> None:
        _model(self.model)
        if self.instructions is not None:
            size = len(_text("instructions", self.instructions).encode("utf-8", "surrogatepass"))
            if size > MAX_INSTRUCTIONS_BYTES:
                raise ConfigError(
                    f"instructions are {size:,} bytes long (UTF-8); GPT-Live takes at most 16,384 tokens, about "
                    f"{MAX_INSTRUCTIONS_BYTES:,} bytes. Shorten them; put business rules in the backend's instructions."
                )
        if self.voice is not None:
            _voice(self.voice)
        if self.input is not None:
            object.__setattr__(self, "input", _input(self.input))
        object.__setattr__(self, "delegation", delegation(self.delegation))
        if self.triggers is not None:
            object.__setattr__(self, "triggers", _triggers(self.triggers))
        if self.idle_timeout_s is not None:
            _number("idle_timeout_s", self.idle_timeout_s, 1, MAX_IDLE_TIMEOUT_S, integer=True)
            if self.wake_policy is None:
                raise ConfigError(
                    f"idle_timeout_s={self.idle_timeout_s!r} needs a way to resume: add wake_policy='speech' "
                    "(GPT-Live pauses only sessions that speech can wake)."
                )
        if self.wake_policy is not None:
            object.__setattr__(self, "wake_policy", _wake_policy(self.wake_policy))
        if self.data_channel is not None:
            object.__setattr__(self, "data_channel", _data_channel(self.data_channel))
        if self.store is not None:
            _flag("store", self.store)
        if self.safety_identifier is not None:
            nonempty("safety_identifier", self.safety_identifier)
        try:
            _json_bytes(self.to_session())
        except (TypeError, ValueError, RecursionError) as exc:
            raise ConfigError(
                f"The session settings cannot be sent as JSON ({exc}); tool definitions and questions may hold "
                "only text, finite numbers, booleans, None, lists and dicts."
            ) from None

    def updated(self, **changes: Any) -> LiveConfig:
        """A copy with ``changes`` applied; only ``delegation`` and ``triggers`` may change.

        Giving a fixed setting its current value is allowed (it changes nothing).

        Raises
        ------
        ConfigError
            For an unknown setting, a change to one fixed at startup, a change of delegation
            type, ``None``, or an invalid value.
        """
        _known_settings(changes)
        for name in MUTABLE:
            if name in changes and changes[name] is None:
                use = "triggers=[] to turn triggers off" if name == "triggers" else "a delegation of the same type"
                raise ConfigError(f"{name}=None is not valid in update(): use {use}.")
        fixed = [name for name in changes if name not in MUTABLE]
        if fixed:
            try:  # restating a fixed setting is fine; any other value (valid or not) is a change
                same = dataclasses.replace(self, **{name: changes[name] for name in fixed}) == self
            except ConfigError:
                same = False
            if not same:
                name = fixed[0]
                hint = " (add to them with session.instructions.append)" if name == "instructions" else ""
                raise ConfigError(
                    f"{name} cannot change after a GPT-Live session starts{hint}; only delegation and triggers can. "
                    f"Start a new session for another {name}."
                )
        changed = dataclasses.replace(self, **changes) if changes else self
        before, after = _kind(self.delegation), _kind(changed.delegation)
        if before != after:
            raise ConfigError(
                f"delegation cannot change from {before!r} to {after!r} during a session; change the {before} "
                "delegation's settings, or start a new session with the other delegation."
            )
        return changed

    def to_session(self) -> dict[str, Any]:
        """The ``session`` object of ``POST /v1/live/sessions`` (the SDK's ``MediaSessionConfigParam``)."""
        session: dict[str, Any] = {"model": self.model}
        if self.instructions is not None:
            session["instructions"] = self.instructions
        if self.voice is not None:
            session["audio"] = {"output": {"voice": self.voice}}
        if self.input is not None:
            session["input"] = list(self.input)
        if self.delegation is not None:
            session["delegation"] = self.delegation.to_wire()
        if self.data_channel is not None:
            session["client"] = {"data_channel": self.data_channel}
        for name in ("triggers", "idle_timeout_s", "wake_policy", "store", "safety_identifier"):
            value = getattr(self, name)
            if value is not None:
                session[name] = list(value) if name == "triggers" else value
        return copy.deepcopy(session)  # the caller may change it; this config stays as checked

    def update_event(self, **changes: Any) -> dict[str, Any]:
        """The ``session.update`` client event that applies ``changes`` to a started session.

        Only ``delegation`` (of the same type; its complete settings are sent) and ``triggers``
        (the list replaces the current one; ``[]`` turns them off) can change. Keep the config
        :meth:`updated` returns as the session's new one.

        Raises
        ------
        ConfigError
            As :meth:`updated`, for no changes, or if the event would not fit in one
            data-channel message.
        """
        if not changes:
            raise ConfigError("update_event() needs delegation=... or triggers=[...] (nothing else can change).")
        changed = self.updated(**changes)
        session: dict[str, Any] = {}
        if "delegation" in changes:
            session["delegation"] = (changed.delegation or ClientDelegation()).to_wire()
        if "triggers" in changes:
            session["triggers"] = list(changed.triggers or ())
        event = {"type": "session.update", "session": copy.deepcopy(session)}
        check_message_size(event)
        return event


def _known_settings(kwargs: dict[str, Any]) -> None:
    names = [f.name for f in dataclasses.fields(LiveConfig)]
    for key in kwargs:
        if key in _REALTIME_ONLY:
            raise ConfigError(f"{key} is a Realtime setting, not a GPT-Live one: {_REALTIME_ONLY[key]}.")
        if key not in names:
            raise ConfigError(
                f"Unknown GPT-Live setting {key!r}{did_you_mean(key, names)}. Known settings: {', '.join(names)}."
            )


def _kind(value: Delegation | None) -> str:
    return "client" if value is None else value.type


def _model(model: Any) -> None:
    if model in MODELS:
        return
    allowed = "use 'gpt-live-1' or 'gpt-live-1.1' (or another GPT-Live model, named 'gpt-live-...')"
    if isinstance(model, str) and model.startswith("gpt-live-transcribe"):
        raise _fail("model", model, f"that is a Realtime transcription model; {allowed}")
    if not isinstance(model, str) or not re.fullmatch(r"gpt-live-[A-Za-z0-9._-]+", model):
        hint = "; Realtime models such as 'gpt-realtime' go with rt.Realtime" if isinstance(model, str) else ""
        raise _fail("model", model, allowed + hint)


def _voice(voice: Any) -> None:
    if isinstance(voice, dict):
        if set(voice) != {"id"} or not isinstance(voice["id"], str) or not 1 <= len(voice["id"]) <= 128:
            raise _fail("voice", voice, "a custom voice is {'id': 'voice_...'}, an id of 1-128 characters")
    elif voice not in VOICES:
        names = ", ".join(VOICES)
        raise _fail("voice", voice, f"use a GPT-Live voice{did_you_mean(voice, VOICES)}: {names}; or {{'id': ...}}")


def _input(items: Any) -> tuple[dict[str, Any], ...]:
    messages = list_of("input", items, "{'role': 'user', 'content': 'Hi'}", empty=True)
    if len(messages) > MAX_INPUT_ITEMS:
        raise ConfigError(f"input has {len(messages)} messages; GPT-Live takes at most {MAX_INPUT_ITEMS}.")
    checked = []
    for i, item in enumerate(messages):
        at = f"input[{i}]"
        dict_with(at, item, ("role", "content"), ("id", "status", "type"))
        role = _choice(f"{at}.role", item["role"], ROLES)
        kinds = ("text", "output_text") if role == "assistant" else ("input_text",)
        content = item["content"]
        if isinstance(content, str):  # the short form: one text
            content = [{"type": kinds[-1], "text": content}]
        if not isinstance(content, list | tuple) or len(content) != 1:
            raise _fail(f"{at}.content", content, "use one text: a string, or a list of exactly one {'text': ...}")
        part = dict_with(f"{at}.content[0]", content[0], ("text",), ("type",))
        _text(f"{at}.content[0].text", part["text"])
        if "type" in part:
            _choice(f"{at}.content[0].type", part["type"], kinds)
        if item.get("type", "message") != "message":
            raise _fail(f"{at}.type", item["type"], "use 'message' (or leave it out)")
        if item.get("status") is not None:
            _choice(f"{at}.status", item["status"], ("incomplete", "completed"))
        if item.get("id") is not None:
            _text(f"{at}.id", item["id"])
        checked.append({**item, "content": [dict(part)]})
    return tuple(checked)


def _triggers(value: Any) -> tuple[dict[str, Any], ...]:
    example = "{'type': 'decisions', 'event_type': 'session.input_transcript.delta', 'decisions': {...}}"
    triggers = list_of("triggers", value, example, empty=True)
    seen: set[str] = set()
    for i, trigger in enumerate(triggers):
        at = f"triggers[{i}]"
        dict_with(at, trigger, ("type", "event_type", "decisions"))
        _choice(f"{at}.type", trigger["type"], ("decisions",))
        event = _choice(f"{at}.event_type", trigger["event_type"], TRANSCRIPT_EVENTS)
        if event in seen:
            raise ConfigError(
                f"triggers has two for {event!r}; GPT-Live runs one per event type: merge their questions."
            )
        seen.add(event)
        asked = dict_with(f"{at}.decisions", trigger["decisions"], ("questions",))["questions"]
        questions(f"{at}.decisions.questions", asked)
    return tuple(triggers)


def _wake_policy(value: Any) -> dict[str, Any]:
    if value == "speech":
        return {"type": "speech"}
    if not isinstance(value, dict):
        raise _fail("wake_policy", value, "use 'speech' or {'type': 'speech', 'vad_threshold': 0.5}")
    dict_with("wake_policy", value, ("type",), ("vad_threshold",))
    _choice("wake_policy.type", value["type"], ("speech",))
    if "vad_threshold" in value:
        _number("wake_policy.vad_threshold", value["vad_threshold"], 0.0, 1.0)
    return dict(value)


def _data_channel(value: Any) -> dict[str, Any]:
    dict_with("data_channel", value, (), ("allowed_client_events", "allowed_server_events"))
    checked: dict[str, Any] = {}
    for key, known in (("allowed_client_events", CLIENT_EVENTS), ("allowed_server_events", SERVER_EVENTS)):
        if key not in value or value[key] == "all":
            checked.update({key: "all"} if key in value else {})
            continue
        rules = list_of(f"data_channel.{key}", value[key], repr(known[0]), empty=True)
        if len(rules) > MAX_EVENT_RULES:
            raise ConfigError(f"data_channel.{key} has {len(rules)} entries; the limit is {MAX_EVENT_RULES}.")
        checked[key] = [_event_rule(f"data_channel.{key}[{i}]", rule, known) for i, rule in enumerate(rules)]
    return checked


def _event_rule(where: str, rule: Any, known: tuple[str, ...]) -> Any:
    """One entry of an allowed-events list: a client event type, or a server event selector."""
    selector = {"type": rule} if known is CLIENT_EVENTS or isinstance(rule, str) else rule
    dict_with(where, selector, ("type",), ("response_event",))
    if selector["type"] not in known:
        at = where if selector is not rule else f"{where}.type"
        kind = selector["type"]
        raise _fail(at, kind, f"use a GPT-Live event type{did_you_mean(kind, known)}, or 'all' for the whole list")
    if known is CLIENT_EVENTS:
        return rule
    nested = selector.get("response_event")
    if selector["type"] == "response.event" and not (isinstance(nested, str) and nested.startswith("response.")):
        raise _fail(f"{where}.response_event", nested, "name the Responses event, e.g. 'response.output_item.done'")
    if selector["type"] != "response.event" and "response_event" in selector:
        raise ConfigError(f"{where}: response_event applies only to type 'response.event'; remove it.")
    return dict(selector)
