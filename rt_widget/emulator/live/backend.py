"""The Responses backend a Live session delegates to: the scripted model, as a Responses stream.

Under ``delegation: {type: "responses"}`` the voice model hands a turn to a Responses model.
In the emulator that model is the scripted one (or the user's model function), given the
backend's instructions and function tools; its reply comes out as the nested Responses
streaming events that ``response.event`` envelopes carry, with lifecycle snapshots slimmed as
the service sends them (``output`` and ``tools`` empty; read the granular events).
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ..._checks import clip
from ..ids import new_id
from ..model import Context, FunctionCall, Model, item_text
from ..usage import text_tokens

logger = logging.getLogger(__name__)


@dataclass
class BackendTurn:
    """One backend response: its nested events and what it produced."""

    response_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    item: dict[str, Any] | None = None
    """The output item (a ``function_call`` or an assistant ``message``); ``None`` if it failed."""

    @property
    def text(self) -> str:
        """The reply's words (empty for a function call or a failure)."""
        return item_text(self.item) if self.item and self.item["type"] == "message" else ""

    @property
    def call(self) -> dict[str, Any] | None:
        """The function call it made, if it made one."""
        return self.item if self.item and self.item["type"] == "function_call" else None


def respond(model: Model, settings: dict[str, Any], items: list[dict[str, Any]], instructions: str) -> BackendTurn:
    """Ask ``model`` as the Responses backend and build the response's nested stream events.

    Parameters
    ----------
    model:
        The emulator's model function.
    settings:
        The session's ``delegation.responses`` settings.
    items:
        The backend conversation so far (messages, function calls and their outputs).
    instructions:
        Live instructions appended with ``session.instructions.append``, which also reach
        the backend after its own instructions.
    """
    turn = BackendTurn(new_id("resp"))
    tools = [t for t in settings.get("tools") or [] if t["type"] == "function"]
    choice = settings.get("tool_choice") or "auto"
    snapshot: dict[str, Any] = {
        "id": turn.response_id,
        "object": "response",
        "created_at": int(time.time()),
        "model": settings["model"],
        "status": "in_progress",
        "output": [],
        "tools": [],
        "tool_choice": choice,
        "parallel_tool_calls": settings.get("parallel_tool_calls") is not False,
    }
    sequence = iter(range(1_000_000))

    def add(event: dict[str, Any]) -> None:
        turn.events.append({**event, "sequence_number": next(sequence)})

    add({"type": "response.created", "response": dict(snapshot)})
    context = Context(
        items=items,
        instructions=" ".join(filter(None, [settings.get("instructions") or "", instructions])),
        tools=tools,
        tool_choice=choice,
    )
    try:
        reply = model(context)
        item = _output_item(reply, tools)
    except Exception as exc:  # the user's model function: its failure is the response's
        logger.warning("The emulator's backend model failed: %s: %s", type(exc).__name__, exc)
        error = {"code": "server_error", "message": f"The emulator's model failed: {clip(str(exc), 300)}"}
        add({"type": "response.failed", "response": {**snapshot, "status": "failed", "error": error}})
        return turn
    turn.item = item
    add({"type": "response.output_item.added", "output_index": 0, "item": _in_progress(item)})
    if item["type"] == "function_call":
        ids = {"item_id": item["id"], "output_index": 0}
        for chunk in _chunks(item["arguments"], 8):
            add({"type": "response.function_call_arguments.delta", **ids, "delta": chunk})
        add({"type": "response.function_call_arguments.done", **ids, "arguments": item["arguments"]})
    else:
        text = item["content"][0]["text"]
        ids = {"item_id": item["id"], "output_index": 0, "content_index": 0}
        add({"type": "response.content_part.added", **ids, "part": _text_part("")})
        for word in re.findall(r"\S+\s*", text):
            add({"type": "response.output_text.delta", **ids, "delta": word, "logprobs": []})
        add({"type": "response.output_text.done", **ids, "text": text, "logprobs": []})
        add({"type": "response.content_part.done", **ids, "part": _text_part(text)})
    add({"type": "response.output_item.done", "output_index": 0, "item": item})
    usage = _usage(context, item)
    add({"type": "response.completed", "response": {**snapshot, "status": "completed", "usage": usage}})
    return turn


def _output_item(reply: Any, tools: list[dict[str, Any]]) -> dict[str, Any]:
    if isinstance(reply, FunctionCall):
        offered = [t["name"] for t in tools]
        if reply.name not in offered:
            msg = f"it called the tool {reply.name!r}, which the backend does not offer (offered: {offered or 'none'})"
            raise ValueError(msg)
        return {
            "id": new_id("fc"),
            "type": "function_call",
            "status": "completed",
            "call_id": new_id("call", 16),
            "name": reply.name,
            "arguments": json.dumps(reply.arguments, allow_nan=False),
        }
    if not isinstance(reply, str):
        raise TypeError(f"it returned {type(reply).__name__}; a model returns a str or a FunctionCall")
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [_text_part(reply)],
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": []}


def _in_progress(item: dict[str, Any]) -> dict[str, Any]:
    if item["type"] == "function_call":
        return {**item, "status": "in_progress", "arguments": ""}
    return {**item, "status": "in_progress", "content": []}


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _usage(context: Context, item: dict[str, Any]) -> dict[str, Any]:
    seen = " ".join([context.instructions, *(item_text(i) or str(i.get("output", "")) for i in context.items)])
    input_tokens = text_tokens(seen)
    output_tokens = text_tokens(item_text(item) if item["type"] == "message" else item["arguments"])
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }
