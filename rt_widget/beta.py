"""The legacy beta shape of the Realtime API, translated to and from GA.

Beta sessions are flat (``voice``, ``modalities``, ``input_audio_format``...), GA sessions are
nested under ``audio``; a few server events were renamed (reference/realtime-protocol.md
sections 2.3 and 5). The emulator uses this to speak beta; the kernel uses it to normalize beta
logs to GA names for analysis.
"""

from __future__ import annotations

import copy
from typing import Any

GA_TO_BETA_EVENTS = {
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "conversation.item.added": "conversation.item.created",
}
BETA_TO_GA_EVENTS = {beta: ga for ga, beta in GA_TO_BETA_EVENTS.items()}
GA_ONLY_EVENTS = frozenset({"conversation.item.done"})

_FORMATS = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}
_FORMATS_BACK = {beta: ga for ga, beta in _FORMATS.items()}
_CONTENT = {"output_text": "text", "output_audio": "audio"}
_CONTENT_BACK = {beta: ga for ga, beta in _CONTENT.items()}


def format_to_beta(fmt: dict[str, Any] | None) -> str | None:
    """``{"type": "audio/pcm", "rate": 24000}`` -> ``"pcm16"``."""
    return _FORMATS.get(str((fmt or {}).get("type"))) if fmt else None


def format_from_beta(name: str) -> dict[str, Any]:
    """``"pcm16"`` -> ``{"type": "audio/pcm", "rate": 24000}``."""
    ga = _FORMATS_BACK.get(name, "audio/pcm")
    return {"type": ga, "rate": 24000} if ga == "audio/pcm" else {"type": ga}


def session_to_beta(session: dict[str, Any]) -> dict[str, Any]:
    """A GA session object in the beta flat shape."""
    audio_in = session.get("audio", {}).get("input", {})
    audio_out = session.get("audio", {}).get("output", {})
    flat: dict[str, Any] = {
        "id": session.get("id"),
        "object": "realtime.session",
        "model": session.get("model"),
        "expires_at": session.get("expires_at"),
        "modalities": ["text"] if session.get("output_modalities") == ["text"] else ["audio", "text"],
        "instructions": session.get("instructions"),
        "voice": audio_out.get("voice"),
        "input_audio_format": format_to_beta(audio_in.get("format")),
        "output_audio_format": format_to_beta(audio_out.get("format")),
        "input_audio_transcription": audio_in.get("transcription"),
        "turn_detection": audio_in.get("turn_detection"),
        "input_audio_noise_reduction": audio_in.get("noise_reduction"),
        "speed": audio_out.get("speed"),
        "tools": session.get("tools"),
        "tool_choice": session.get("tool_choice"),
        "temperature": 0.8,
        "max_response_output_tokens": session.get("max_output_tokens"),
        "tracing": session.get("tracing"),
    }
    return flat


_SAME = frozenset({"model", "instructions", "tools", "tool_choice", "tracing", "prompt", "include"})
# Flat beta field -> (GA audio side, GA field).
_NESTED = {
    "voice": ("output", "voice"),
    "speed": ("output", "speed"),
    "output_audio_format": ("output", "format"),
    "input_audio_format": ("input", "format"),
    "input_audio_transcription": ("input", "transcription"),
    "turn_detection": ("input", "turn_detection"),
    "input_audio_noise_reduction": ("input", "noise_reduction"),
}


def session_from_beta(flat: dict[str, Any]) -> dict[str, Any]:
    """A beta flat session config in the GA nested shape (``type: "realtime"``).

    Values that are not valid beta values are carried over unchanged (a format ``"mp3"``
    becomes ``{"type": "mp3"}``), so that GA validation rejects them instead of this
    translation silently replacing them with a default.
    """
    ga: dict[str, Any] = {"type": "realtime"}
    audio: dict[str, dict[str, Any]] = {"input": {}, "output": {}}
    for key, value in flat.items():
        if key in _SAME:
            ga[key] = value
        elif key in _NESTED:
            side, name = _NESTED[key]
            if name == "format":
                known = isinstance(value, str) and value in _FORMATS_BACK
                value = format_from_beta(value) if known else {"type": value}
            audio[side][name] = value
        elif key == "modalities":
            beta_modalities = isinstance(value, list) and value and all(v in ("audio", "text") for v in value)
            ga["output_modalities"] = (["audio"] if "audio" in value else ["text"]) if beta_modalities else value
        elif key == "max_response_output_tokens":
            ga["max_output_tokens"] = value
        # temperature, id, object, expires_at, client_secret: no GA counterpart
    if audio["input"] or audio["output"]:
        ga["audio"] = {side: fields for side, fields in audio.items() if fields}
    return ga


def _items_to(item: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    if item.get("role") != "assistant" or not isinstance(item.get("content"), list):
        return item
    item = dict(item)
    item["content"] = [{**part, "type": names.get(part.get("type"), part.get("type"))} for part in item["content"]]
    return item


def _response_to_beta(response: dict[str, Any]) -> dict[str, Any]:
    response = dict(response)
    modalities = response.pop("output_modalities", None)
    response["modalities"] = ["text"] if modalities == ["text"] else ["audio", "text"]
    output = response.pop("audio", {}).get("output", {})
    response["voice"] = output.get("voice")
    response["output_audio_format"] = format_to_beta(output.get("format"))
    response["output"] = [_items_to(i, _CONTENT) for i in response.get("output") or []]
    return response


def server_event_to_beta(event: dict[str, Any]) -> dict[str, Any] | None:
    """A GA server event as a beta server would send it (``None``: beta has no such event)."""
    if event.get("type") in GA_ONLY_EVENTS:
        return None
    event = copy.copy(event)
    event["type"] = GA_TO_BETA_EVENTS.get(event["type"], event["type"])
    if isinstance(event.get("session"), dict):
        event["session"] = session_to_beta(event["session"])
    if isinstance(event.get("item"), dict):
        event["item"] = _items_to(event["item"], _CONTENT)
    if isinstance(event.get("response"), dict):
        event["response"] = _response_to_beta(event["response"])
    return event


def event_to_ga(event: dict[str, Any]) -> dict[str, Any]:
    """Normalize a beta event (server or client) to GA names and shapes; GA events pass as they are."""
    type_ = str(event.get("type"))
    session, item = event.get("session"), event.get("item")
    params = event.get("response") if type_ == "response.create" else None
    beta_session = isinstance(session, dict) and "type" not in session
    beta_item = isinstance(item, dict) and _items_to(item, _CONTENT_BACK) != item
    beta_params = isinstance(params, dict) and "modalities" in params
    if type_ not in BETA_TO_GA_EVENTS and not (beta_session or beta_item or beta_params):
        return event
    event = {**event, "type": BETA_TO_GA_EVENTS.get(type_, type_)}
    if beta_session:
        event["session"] = session_from_beta(session)  # type: ignore[arg-type]
    if beta_item:
        event["item"] = _items_to(item, _CONTENT_BACK)  # type: ignore[arg-type]
    if beta_params:
        event["response"] = _response_params_to_ga(params)  # type: ignore[arg-type]
    return event


def _response_params_to_ga(params: dict[str, Any]) -> dict[str, Any]:
    ga = {k: v for k, v in params.items() if k not in ("modalities", "temperature", "voice", "output_audio_format")}
    ga["output_modalities"] = ["audio"] if "audio" in params["modalities"] else ["text"]
    if "voice" in params:
        ga["audio"] = {"output": {"voice": params["voice"]}}
    if "max_response_output_tokens" in ga:
        ga["max_output_tokens"] = ga.pop("max_response_output_tokens")
    return ga
