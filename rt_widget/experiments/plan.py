"""An experiment's plan: every (config, input, repeat) as a trial, all checked before any call.

Configs are checked the way :class:`~rt_widget.session.Session` checks its settings, and every
input is loaded into clips (files decoded, arrays resampled, text spoken) up front, so a typo
or an unreadable file fails at once rather than halfway through a long run. Each trial gets an
identity from what defines it, so a rerun can tell which trials are already done.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._checks import whole
from ..call import AUDIO_SUFFIXES, as_clip
from ..config import VAD_FIELDS, SessionConfig
from ..gptlive.config import LiveConfig
from ..gptlive.session import wants_live
from ..peer import Clip
from ..redaction import (
    has_tool_credentials,
    session_has_credentials,
    session_without_credentials,
    tools_without_credentials,
)
from ..tools import Tool, as_tools

SETTINGS = frozenset({f.name for f in dataclasses.fields(SessionConfig)} | set(VAD_FIELDS))
"""What a config may set: the session settings of :class:`~rt_widget.Call`."""
CALL_OPTIONS = frozenset({"provider", "sideband", "autosave", "budget_usd", "price_model", "connect_timeout_s"})
"""Options of a call that belong to the experiment as a whole, not to one config."""
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Input:
    """One named input: the clips played in turn, and a fingerprint of what they hold."""

    name: str
    clips: tuple[Clip, ...]
    fingerprint: str
    """SHA-256 of the input's content: the text for spoken text, the decoded samples otherwise."""


@dataclass(frozen=True)
class Trial:
    """One (config, input, repeat): one headless call."""

    config: str
    settings: dict[str, Any]
    """The keyword arguments for :class:`~rt_widget.Call` (tools wrapped as :class:`Tool`)."""
    settings_json: str
    """``settings`` as canonical JSON text (tools by their definitions)."""
    input: Input
    repeat: int

    @property
    def id(self) -> str:
        """A file-name-safe identity: names for reading, a hash of everything that defines the trial."""
        identity = json.dumps(
            [self.config, self.settings_json, self.input.name, self.input.fingerprint, self.repeat],
            ensure_ascii=False,
        )
        digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return f"{_slug(self.config)}--{_slug(self.input.name)}--r{self.repeat}--{digest}"

    @property
    def has_credentials(self) -> bool:
        """Whether an MCP tool of the config carries its server's ``authorization`` or ``headers``."""
        to_wire = getattr(self.settings.get("delegation"), "to_wire", None)  # a GPT-Live delegation
        wire = to_wire() if to_wire is not None else None
        return has_tool_credentials(self.settings.get("tools")) or session_has_credentials({"delegation": wire})

    @property
    def live(self) -> bool:
        """Whether the config is for GPT-Live (its turns are server-driven, its replies always spoken)."""
        return wants_live(dict(self.settings))

    @property
    def speaks(self) -> bool:
        """Whether the model answers with audio (the default) rather than text only."""
        return self.live or tuple(self.settings.get("output_modalities") or ("audio",)) != ("text",)

    @property
    def manual_turns(self) -> bool:
        """Whether turn detection is off, so each input must be committed and answered by hand."""
        return "turn_detection" in self.settings and self.settings["turn_detection"] is None


def plan(configs: Any, inputs: Any, repeats: Any, *, voice: str = "alloy") -> list[Trial]:
    """Check every config and load every input; return the trials in run order.

    Parameters
    ----------
    configs:
        Name -> settings for :class:`~rt_widget.Call`.
    inputs:
        Name -> a source, or a list of sources played in turn (see :meth:`rt_widget.Call.play`).
    repeats:
        How many times each (config, input) runs, 1 or more.
    voice:
        The offline TTS voice that speaks text inputs.

    Raises
    ------
    TypeError, ValueError, FileNotFoundError
        A config, an input or ``repeats`` is invalid; the message names it and says what to do.
    """
    count = whole(repeats, 1)
    if count is None:
        raise ValueError(f"repeats={repeats!r} is not valid: use a whole number, 1 or more.")
    checked = _configs(configs)
    loaded = _inputs(inputs, voice)
    return [
        Trial(name, settings, text, source, repeat)
        for name, (settings, text) in checked.items()
        for source in loaded
        for repeat in range(count)
    ]


# -- configs -----------------------------------------------------------------------------------


def _configs(configs: Any) -> dict[str, tuple[dict[str, Any], str]]:
    if not isinstance(configs, Mapping) or not configs:
        raise TypeError(
            "configs must be a non-empty dict of name -> settings, e.g. "
            "{'short': {'instructions': 'Be brief.'}, 'long': {'instructions': 'Explain.'}}."
        )
    return {_name(name, "configs"): _config(str(name), settings) for name, settings in configs.items()}


def _config(name: str, settings: Any) -> tuple[dict[str, Any], str]:
    """The settings of config ``name``, checked as a session checks them, and as JSON text.

    A config for GPT-Live (a ``gpt-live-*`` model, or ``api="live"``) is checked as a
    :class:`~rt_widget.gptlive.config.LiveConfig`, so one experiment can compare the two APIs.
    """
    if not isinstance(settings, Mapping):
        raise TypeError(f"Config {name!r} must be a dict of session settings, not {type(settings).__name__}.")
    values = dict(settings)
    for key in values:
        if key in CALL_OPTIONS or not isinstance(key, str):
            raise TypeError(_unknown_key(name, key))
    given = {k: v for k, v in values.items() if k != "api"}  # api says which API; the rest configure it
    try:
        live = wants_live(dict(values))
        if live:
            checked = LiveConfig.from_kwargs(**given)
            if "delegation" in values:
                values["delegation"] = checked.delegation  # Python tools wrapped, as the session will
        else:
            for key in given:
                if key not in SETTINGS:
                    raise TypeError(_unknown_key(name, key))
            if "tools" in values:
                values["tools"] = given["tools"] = as_tools(values["tools"])
            SessionConfig.from_kwargs(**given)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        raise type(exc)(message if message.startswith("Config ") else f"Config {name!r}: {message}") from None
    shown = dict(values)
    if has_tool_credentials(values.get("tools")):  # an MCP server's token goes in no file
        shown["tools"] = tools_without_credentials(values["tools"])
    if live and values.get("delegation") is not None:  # as the API takes it, tools by their definitions
        shown["delegation"] = session_without_credentials({"delegation": values["delegation"].to_wire()})["delegation"]
    return values, json.dumps(shown, sort_keys=True, ensure_ascii=False, default=_jsonable)


def _unknown_key(name: str, key: Any) -> str:
    if key in CALL_OPTIONS:
        return f"Config {name!r} sets {key!r}, which is for the whole experiment: pass it to experiment() instead."
    close = difflib.get_close_matches(str(key), sorted(SETTINGS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else f" Known settings: {', '.join(sorted(SETTINGS))}."
    return f"Config {name!r} has an unknown setting {key!r}.{hint}"


def _jsonable(value: Any) -> Any:
    """A JSON stand-in for what a config may hold besides plain data: tools and dataclasses."""
    if isinstance(value, Tool):
        return value.definition
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return repr(value)


# -- inputs ------------------------------------------------------------------------------------


def _inputs(inputs: Any, voice: str) -> list[Input]:
    if not isinstance(inputs, Mapping) or not inputs:
        raise TypeError(
            "inputs must be a non-empty dict of name -> what to play, e.g. "
            "{'greeting': 'hello there', 'question': 'question.wav'}."
        )
    return [_input(_name(name, "inputs"), source, voice) for name, source in inputs.items()]


def _input(name: str, value: Any, voice: str) -> Input:
    """Input ``name``: each of its sources played once now, so a bad one fails before any call."""
    sources: Sequence[Any] = value if isinstance(value, list) else [value]
    if not sources:
        raise ValueError(f"Input {name!r} is an empty list: give at least one thing to play.")
    clips, digest = [], hashlib.sha256()
    for i, source in enumerate(sources):
        where = f"Input {name!r}" + (f" (item {i})" if isinstance(value, list) else "")
        text = isinstance(source, str) and Path(source).suffix.lower() not in AUDIO_SUFFIXES
        try:
            clip = _spoken(source, voice) if text else as_clip(source, voice)
        except (TypeError, ValueError, FileNotFoundError) as exc:
            raise type(exc)(f"{where}: {exc}") from None
        clips.append(clip)
        # Text by its words: offline speech of the same words may differ a little between processes.
        content = f"text:{voice}:{source}".encode() if text else clip.samples.tobytes()
        digest.update(hashlib.sha256(content).digest())
    return Input(name, tuple(clips), digest.hexdigest())


@functools.lru_cache(maxsize=256)
def _spoken(text: str, voice: str) -> Clip:
    """``text`` spoken once per process, then reused.

    espeak-ng keeps state from one utterance to the next, so the same words spoken again (after
    the emulator spoke a reply, say) sound a little different; every trial of an input, and every
    input with the same words, should hear the same audio.
    """
    return as_clip(text, voice)


def _name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"Every name in {where} must be a non-empty string; got {name!r}.")
    return name


def _slug(name: str) -> str:
    return _SLUG.sub("_", name).strip("_")[:40] or "_"
