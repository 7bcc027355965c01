"""The emulator's scripted, deterministic "model".

A model is any callable ``(context) -> Reply``: it sees the conversation and the session, and
returns text to say or a function to call. The default one is short, friendly and rule-based.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FunctionCall:
    """A reply that calls one of the session's function tools."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


Reply = str | FunctionCall


@dataclass(frozen=True)
class Context:
    """What a model sees when asked for a reply."""

    items: list[dict[str, Any]]
    """The conversation so far, oldest first (user, assistant and tool items)."""
    instructions: str
    tools: list[dict[str, Any]]
    """The function tools offered for this response."""
    tool_choice: Any = "auto"


Model = Callable[[Context], Reply]


def item_text(item: dict[str, Any]) -> str:
    """The words of a message item: typed text or an audio transcript."""
    parts = []
    for part in item.get("content") or []:
        text = part.get("text") or part.get("transcript")
        if isinstance(text, str):
            parts.append(text)
    return " ".join(parts).strip()


def scripted_model(context: Context) -> Reply:
    """Default model: answer the last user turn with a short rule-based reply."""
    last = context.items[-1] if context.items else None
    if last is not None and last.get("type") == "function_call_output":
        name = _call_name(context.items, str(last.get("call_id")))
        return f"The {name} tool says: {_speakable(last.get('output'))}."
    user = next((i for i in reversed(context.items) if i.get("role") == "user"), None)
    text = item_text(user) if user else ""
    call = _requested_tool(text, context.tools, context.tool_choice)
    if call is not None:
        return call
    return _rule_reply(text)


_RULES: list[tuple[str, str]] = [
    (
        r"\b(hello|hi|hey|good (morning|afternoon|evening))\b",
        "Hello! I am the local emulator. How can I help you today?",
    ),
    (r"\bhaiku\b", "Quiet notebook cell. A voice wakes in the kernel. Events flow like streams."),
    (r"\bjoke\b", "Why did the packet cross the network? To get to the other side, reliably."),
    (r"\b(weather|forecast)\b", "I cannot see outside, but in the emulator it is always sunny."),
    (r"\b(thank you|thanks)\b", "You are welcome!"),
    (r"\b(bye|goodbye)\b", "Goodbye! Have a nice day."),
    (r"\b(name|who are you)\b", "I am the rt widget emulator, a stand in for a realtime model."),
]


def _rule_reply(text: str) -> str:
    lowered = text.lower()
    for pattern, reply in _RULES:
        if re.search(pattern, lowered):
            return reply
    if not text:
        return "I heard you. This is the local emulator speaking."
    return f"You said: {text.rstrip('.?!')}. I am the local emulator, so I can only echo."


def _requested_tool(text: str, tools: list[dict[str, Any]], choice: Any) -> FunctionCall | None:
    """A tool the user names (``get_weather`` or ``get weather``), with its arguments."""
    functions = [t for t in tools if t.get("type") == "function"]
    if choice == "none" or not functions:
        return None
    if isinstance(choice, dict) and choice.get("name"):
        functions = [t for t in functions if t.get("name") == choice["name"]]
    lowered = text.lower()
    for tool in functions:
        name = str(tool.get("name", ""))
        if name.lower() in lowered or name.replace("_", " ").lower() in lowered:
            return FunctionCall(name, _arguments(text))
    if choice == "required" or isinstance(choice, dict):
        return FunctionCall(str(functions[0]["name"]), _arguments(text))
    return None


def _arguments(text: str) -> dict[str, Any]:
    """Arguments written as a JSON object, or as ``key=value`` pairs."""
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            parsed = json.loads(text[start : end + 1])
            if isinstance(parsed, dict):
                return parsed
        except json.JSONDecodeError:
            pass
    args: dict[str, Any] = {}
    for key, value in re.findall(r"(\w+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s,;]+)", text):
        value = value.strip("\"'")
        try:
            args[key] = json.loads(value)
        except json.JSONDecodeError:
            args[key] = value
    return args


def _call_name(items: list[dict[str, Any]], call_id: str) -> str:
    for item in items:
        if item.get("type") == "function_call" and item.get("call_id") == call_id:
            return str(item.get("name"))
    return "function"


def _speakable(output: Any) -> str:
    """A tool output as words: JSON objects become "key value" phrases."""
    text = str(output or "nothing")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return text.strip().rstrip(".")
    if isinstance(parsed, dict):
        return ", ".join(f"{k} {v}" for k, v in parsed.items()).rstrip(".") or "nothing"
    return str(parsed)
