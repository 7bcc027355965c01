"""Validation of the legacy beta (flat) session config, as ``POST /v1/realtime/sessions`` did it.

Fields that exist only in beta (``modalities``, the ``*_audio_format`` names, ``temperature``)
are checked here; every other field is translated to its GA place and checked by the GA rules,
with the error's ``param`` and message naming the beta field the client sent.
"""

from __future__ import annotations

from typing import Any

from ..beta import session_from_beta
from .secrets_store import check_expires_after
from .validation import SESSION, ProtocolError, validate_object

BETA_FORMATS = ("pcm16", "g711_ulaw", "g711_alaw")
TEMPERATURE = (0.6, 1.2)
# Beta field -> the path its value takes in the GA session (for errors found by GA rules).
_GA_PATH = {
    "model": "session.model",
    "instructions": "session.instructions",
    "tools": "session.tools",
    "tool_choice": "session.tool_choice",
    "tracing": "session.tracing",
    "prompt": "session.prompt",
    "include": "session.include",
    "voice": "session.audio.output.voice",
    "speed": "session.audio.output.speed",
    "input_audio_transcription": "session.audio.input.transcription",
    "turn_detection": "session.audio.input.turn_detection",
    "input_audio_noise_reduction": "session.audio.input.noise_reduction",
    "max_response_output_tokens": "session.max_output_tokens",
}


def _modalities(value: Any, path: str) -> None:
    if not isinstance(value, list) or not value or len(set(map(repr, value))) != len(value):
        msg = f"Invalid '{path}': expected a list of 'text' and/or 'audio', got {value!r}."
        raise ProtocolError("invalid_type" if not isinstance(value, list) else "invalid_value", msg, path)
    for i, item in enumerate(value):
        if item not in ("text", "audio"):
            msg = f"Invalid value: {item!r}. Supported values are: 'text' and 'audio'."
            raise ProtocolError("invalid_value", msg, f"{path}[{i}]")


def _audio_format(value: Any, path: str) -> None:
    if not isinstance(value, str) or value not in BETA_FORMATS:
        msg = f"Invalid value: {value!r}. Supported values are: 'pcm16', 'g711_ulaw', and 'g711_alaw'."
        raise ProtocolError("invalid_value", msg, path)


def _temperature(value: Any, path: str) -> None:
    low, high = TEMPERATURE
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"Invalid type for '{path}': expected a number, but got {type(value).__name__}."
        raise ProtocolError("invalid_type", msg, path)
    if not low <= value <= high:
        msg = f"Invalid '{path}': {value} is out of range; it must be between {low} and {high}."
        raise ProtocolError("decimal_above_max_value" if value > high else "decimal_below_min_value", msg, path)


def _client_secret(value: Any, path: str) -> None:
    validate_object(value, {"expires_after": check_expires_after}, path)


_BETA_ONLY = {
    "modalities": _modalities,
    "input_audio_format": _audio_format,
    "output_audio_format": _audio_format,
    "temperature": _temperature,
    "client_secret": _client_secret,
}


def validate_beta_session(body: dict[str, Any]) -> None:
    """Check a beta mint body; raise :class:`ProtocolError` whose ``param`` is the beta field.

    Parameters
    ----------
    body:
        The flat beta session config, possibly with ``client_secret.expires_after``.
    """
    for key, value in body.items():
        check = _BETA_ONLY.get(key)
        if check is not None:
            check(value, key)
        elif key in _GA_PATH:
            _check_as_ga(key, value)
        else:
            raise ProtocolError("unknown_parameter", f"Unknown parameter: '{key}'.", key)


def _check_as_ga(key: str, value: Any) -> None:
    ga_path = _GA_PATH[key]
    try:
        validate_object(session_from_beta({key: value}), SESSION, "session")
    except ProtocolError as exc:
        param = exc.param or ga_path
        if param.startswith(ga_path):
            param = key + param[len(ga_path) :]
        raise ProtocolError(exc.code, exc.message.replace(ga_path, key), param) from None
