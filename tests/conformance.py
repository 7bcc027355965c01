"""Checks events against the ``openai`` SDK's own pydantic Realtime types.

The SDK's models accept unknown fields, so on top of validating, every model in the parsed
tree must have no extra fields: a misspelt or invented field fails the check.
"""

from __future__ import annotations

from typing import Any

from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from pydantic import BaseModel, TypeAdapter

# The SDK types session.created/updated with the *request* model, but the service's session
# objects also carry their identity (reference/realtime-protocol.md 1.1 and 4.1, observed).
SESSION_IDENTITY = {"id", "object", "expires_at"}

_SERVER = TypeAdapter(RealtimeServerEvent)
_CLIENT = TypeAdapter(RealtimeClientEvent)


def unknown_fields(value: Any, path: str, session_identity: bool = False) -> list[str]:
    """The paths of every field, at any depth of a parsed SDK model, that the SDK does not know.

    ``session_identity`` allows :data:`SESSION_IDENTITY` on Realtime session objects.
    """
    found: list[str] = []
    if isinstance(value, BaseModel):
        allowed = SESSION_IDENTITY if session_identity and path.endswith(".session") else set()
        found += [f"{path}.{key}" for key in value.model_extra or {} if key not in allowed]
        for name in type(value).model_fields:
            found += unknown_fields(getattr(value, name), f"{path}.{name}", session_identity)
    elif isinstance(value, list | tuple):
        for i, entry in enumerate(value):
            found += unknown_fields(entry, f"{path}[{i}]", session_identity)
    return found


def _check(adapter: TypeAdapter[Any], event: dict[str, Any]) -> None:
    model = adapter.validate_python(event)
    assert type(model).__name__ != "dict", event
    extras = unknown_fields(model, event.get("type", "?"), session_identity=True)
    assert not extras, f"fields unknown to the openai SDK: {extras} in {event}"


def assert_server_event(event: dict[str, Any]) -> None:
    """``event`` is a valid GA server event with no unknown fields."""
    _check(_SERVER, event)


def assert_client_event(event: dict[str, Any]) -> None:
    """``event`` is a valid GA client event with no unknown fields."""
    _check(_CLIENT, event)
