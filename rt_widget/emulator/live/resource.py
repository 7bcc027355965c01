"""The Live session object: the resolved ``SessionResource`` a session reports, and its updates.

``session.started``, ``session.updated`` and ``session.closed`` carry it: every startup setting
the client gave, the service's defaults for the rest (voice ``marin``, client delegation, no
input, ``store`` false), and the session's identity. ``idle_timeout_s`` and ``wake_policy`` are
startup settings the SDK's ``SessionResource`` does not carry, so they are not echoed; neither is
an MCP tool's ``authorization`` (a credential).
"""

from __future__ import annotations

import copy
from typing import Any

from ..validation import ProtocolError
from .validation import check_tool_choice

DEFAULT_VOICE = "marin"
SESSION_TTL_S = 2 * 60 * 60
"""Sessions end after two hours (observed)."""
ACKNOWLEDGEMENT_DELAY_MS = {"client": 0, "responses": 0, "decisions": 400}
_ECHOED = ("instructions", "client", "safety_identifier", "triggers")


def resolve(config: dict[str, Any], session_id: str, expires_at: int) -> dict[str, Any]:
    """The ``SessionResource`` of a session created with ``config`` (a checked ``MediaSessionConfig``).

    Parameters
    ----------
    config:
        The ``session`` of the create request, already validated.
    session_id:
        The session's ``live_...`` id.
    expires_at:
        When the session expires (Unix seconds).

    Returns
    -------
    dict
        A new object; ``config`` is left as it is.
    """
    config = copy.deepcopy(config)
    voice = (config.get("audio") or {}).get("output", {}).get("voice", DEFAULT_VOICE)
    resource: dict[str, Any] = {
        "id": session_id,
        "expires_at": expires_at,
        "model": config["model"],
        "status": "active",
        "audio": {"output": {"voice": voice}},
        "delegation": _resolved_delegation(config.get("delegation")),
        "input": config.get("input", []),
        "store": config.get("store", False),
    }
    for key in _ECHOED:
        if config.get(key) is not None:
            resource[key] = config[key]
    return resource


def apply_update(resource: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """The resource after a ``session.update`` (a checked ``SessionUpdateConfig``).

    Delegation settings merge into the current ones (omitted settings keep their values) and
    the delegation type cannot change; a list of triggers replaces the current one.

    Raises
    ------
    ProtocolError
        The update changes the delegation type, or leaves a tool choice naming no tool.
    """
    changed = copy.deepcopy(resource)
    if "delegation" in update:
        current = changed["delegation"]
        wanted = update["delegation"] or {"type": "client"}
        if wanted["type"] != current["type"]:
            msg = (
                f"Cannot change the delegation type from '{current['type']}' to '{wanted['type']}' during a session. "
                f"Change the {current['type']} delegation's settings, or start a new session."
            )
            raise ProtocolError("invalid_value", msg, "session.delegation.type")
        for key, value in wanted.items():
            if isinstance(value, dict) and isinstance(current.get(key), dict):
                current[key] = {**current[key], **value}
            else:
                current[key] = value
        if current["type"] == "responses":
            check_tool_choice(current["responses"], "session.delegation.responses")
    if "triggers" in update:
        changed["triggers"] = update["triggers"]
    return changed


def _resolved_delegation(delegation: dict[str, Any] | None) -> dict[str, Any]:
    resolved = dict(delegation or {"type": "client"})
    resolved.setdefault("acknowledgement_delay_ms", ACKNOWLEDGEMENT_DELAY_MS[resolved["type"]])
    if resolved["type"] == "responses":
        responses = dict(resolved["responses"])
        responses["tools"] = [_without_credentials(tool) for tool in responses.get("tools") or []]
        resolved["responses"] = responses
    return resolved


def _without_credentials(tool: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in tool.items() if not (tool["type"] == "mcp" and k == "authorization")}
