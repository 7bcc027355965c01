"""The emulator's scripted, deterministic "model".

A model is any callable ``(context) -> Reply``: it sees the conversation and the session, and
returns text to say or a function to call. The default one is short, friendly and rule-based.

It also follows a few simple instructions, so that runs with different ``instructions`` give
different replies (:func:`follow_instructions`; case does not matter, tool calls are left alone):

- ``Start every reply with "Ahoy".`` (or ``Begin each answer with 'Ahoy!'``, and the same with
  ``response``): the reply starts with the quoted text, then ``!`` when it ends in a letter
  or digit, then the reply.
- ``Answer in one sentence`` (``reply``, ``respond``, ``a single sentence``): only the reply's
  first sentence. (``Be brief`` is not one of them: the emulator's replies are short already,
  and many sessions say it.)
- ``Answer in capitals`` (``capital letters``, ``upper case``, ``all caps``) or ``Shout``: the
  reply in upper case.

They combine in that order: the first sentence, in capitals, after the quoted start, which is
kept as written.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.protocols import Validator


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
    """Default model: answer the last user turn with a short rule-based reply, as instructed."""
    last = context.items[-1] if context.items else None
    if last is not None and last.get("type") == "function_call_output":
        name = _call_name(context.items, str(last.get("call_id")))
        return follow_instructions(f"The {name} tool says: {_speakable(last.get('output'))}.", context.instructions)
    user = next((i for i in reversed(context.items) if i.get("role") == "user"), None)
    text = item_text(user) if user else ""
    call = _requested_tool(text, context.tools, context.tool_choice)
    if call is not None:
        return call
    return follow_instructions(_rule_reply(text), context.instructions)


# -- instructions ---------------------------------------------------------------------------

_QUOTED = r"(?:\"([^\"]+)\"|'([^']+)'|“([^”]+)”)"
_START_WITH = re.compile(
    rf"(?i)\b(?:start|begin)\s+(?:(?:every|each|all|your|all\s+your)\s+)?"
    rf"(?:reply|replies|answer|answers|response|responses)\s+with\s+{_QUOTED}"
)
_ONE_SENTENCE = re.compile(r"(?i)\b(?:answer|reply|respond)\s+in\s+(?:one|a\s+single)\s+sentence\b")
_CAPITALS = re.compile(
    r"(?i)\b(?:(?:answer|reply|respond|speak|write)\s+in\s+(?:capitals|capital\s+letters|upper\s*case|all\s+caps)"
    r"|shout)\b"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def follow_instructions(reply: str, instructions: str) -> str:
    """``reply`` as the simple instructions in ``instructions`` ask (see the module docstring).

    Parameters
    ----------
    reply:
        What the model would say without instructions.
    instructions:
        The session's (or the response's) instructions.

    Returns
    -------
    str
        The reply cut to its first sentence, in capitals, after a quoted start, as asked;
        ``reply`` itself when no form is found.

    Examples
    --------
    >>> follow_instructions("Hello! How can I help?", 'Answer in one sentence. Start every reply with "Ahoy".')
    'Ahoy! Hello!'
    """
    if not isinstance(instructions, str) or not instructions:
        return reply
    if _ONE_SENTENCE.search(instructions):
        reply = _SENTENCE_END.split(reply.strip(), maxsplit=1)[0]
    if _CAPITALS.search(instructions):
        reply = reply.upper()
    start = _START_WITH.search(instructions)
    if start is not None:
        prefix = next(group for group in start.groups() if group is not None).strip()
        reply = f"{prefix}{'!' if prefix[-1:].isalnum() else ''} {reply}"
    return reply


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
    functions = [t for t in tools if t.get("type") == "function" and isinstance(t.get("name"), str)]
    if choice == "none" or not functions:
        return None
    if isinstance(choice, dict) and choice.get("type") == "function":
        functions = [t for t in functions if t["name"] == choice.get("name")]
        if not functions:
            return None  # a choice naming no offered tool; the engine refuses such requests
    lowered = text.lower()
    for tool in functions:
        name = tool["name"]
        if name.lower() in lowered or name.replace("_", " ").lower() in lowered:
            return FunctionCall(name, tool_arguments(tool.get("parameters"), text))
    if choice == "required" or isinstance(choice, dict):
        return FunctionCall(functions[0]["name"], tool_arguments(functions[0].get("parameters"), text))
    return None


# -- tool arguments -----------------------------------------------------------------------
#
# A real model's arguments fit the tool's JSON schema. The scripted model builds them the same
# way for every schema: for each property it tries candidate values in order (what the user
# wrote as key=value or JSON, what a simple rule finds in the words, the default, the enum,
# a placeholder of the right type) and keeps the first one that fits the property's schema,
# as jsonschema checks it.

_PLACES = {"city", "location", "place", "town", "country", "region", "destination", "address", "area", "where"}
_STOPWORDS = {"the", "a", "an", "my", "your", "this", "that", "it", "there", "here", "me", "us"}
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_NUMBER = r"-?\d+(?:\.\d+)?|" + "|".join(_NUMBER_WORDS)
_FORMATS = {
    "date": "2025-01-01",
    "date-time": "2025-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
}
_MISSING = object()


def tool_arguments(parameters: Any, text: str) -> dict[str, Any]:
    """Arguments for a tool whose JSON schema is ``parameters``, taken from the user's ``text``.

    Every required property is present and each value fits its schema (type, enum, range,
    length, nested objects and arrays); optional properties appear only when the words give
    them. A property written as ``key=value`` or in a JSON object in the text wins.

    Parameters
    ----------
    parameters:
        The tool's ``parameters`` (a JSON schema of an object), or ``None``.
    text:
        What the user said.

    Returns
    -------
    dict
        The arguments, ready for ``json.dumps``.
    """
    schema = _inline_refs(parameters, parameters) if isinstance(parameters, dict) else {}
    explicit = _explicit_arguments(text)
    if not isinstance(schema.get("properties"), dict) and schema.get("additionalProperties") is False:
        explicit = {}  # a free-form object takes what the user wrote, unless the schema shuts it
    return _object(schema, _Words(text, explicit, _Checker(schema)))


MAX_REF_DEPTH = 8
"""How many ``$ref`` hops are followed when inlining (a recursive schema stops there)."""


def _inline_refs(schema: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """``schema`` with each local ``$ref`` (``#/$defs/Unit``) replaced by what it points to.

    The rules below read enums, types and properties where they are written; pydantic and zod
    put nested models and enums under ``$defs`` and point at them. A ref that does not resolve
    (a remote one, which is never fetched), or one past :data:`MAX_REF_DEPTH` hops, is kept.
    """
    if isinstance(schema, list):
        return [_inline_refs(item, root, depth) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _resolve(ref, root) if depth < MAX_REF_DEPTH else None
        if not isinstance(target, dict):
            return schema  # left for the checker, which cannot fetch it either: nothing fits
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return _inline_refs({**target, **rest}, root, depth + 1)
    return {k: v if k in ("$defs", "definitions") else _inline_refs(v, root, depth) for k, v in schema.items()}


def _resolve(ref: str, root: dict[str, Any]) -> Any:
    """The part of ``root`` a local JSON pointer (``#/$defs/Unit``) names, or ``None``."""
    if not ref.startswith("#"):
        return None  # a remote schema is never fetched
    node: Any = root
    for part in ref[1:].split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


class _Checker:
    """Whether values fit subschemas of one tool's parameters, ``$ref`` resolved against the whole."""

    def __init__(self, root: dict[str, Any]) -> None:
        self._root = root
        self._base: Validator | None = None
        # By id(), as schemas are unhashable; each entry keeps its schema alive so no id is reused.
        self._validators: dict[int, tuple[dict[str, Any], Validator]] = {}

    def fits(self, value: Any, schema: Any) -> bool:
        """Whether ``value`` fits ``schema``, a part of the root schema (or built from its parts)."""
        if not isinstance(schema, dict):
            return schema is not False
        try:
            return self._validator(schema).is_valid(value)
        except Exception:  # a malformed schema (a bad keyword value, an unknown type or $ref) fits nothing
            return False

    def _validator(self, schema: dict[str, Any]) -> Validator:
        if self._base is None:
            # Imported at the first tool call: with its format checkers, jsonschema takes about 2 s
            # to import, which every process starting an emulator (or its recognizer) would pay.
            from jsonschema import Draft202012Validator
            from jsonschema.validators import validator_for
            from referencing import Registry

            # The root's draft (its $schema, else 2020-12); refs resolve in it, never over the network.
            cls = validator_for(self._root, default=Draft202012Validator)
            self._base = cls(self._root, registry=Registry())
        entry = self._validators.get(id(schema))
        if entry is None:
            # evolve() keeps the root's resolver: "#/$defs/..." in a subschema still finds the root's $defs.
            entry = self._validators[id(schema)] = (schema, self._base.evolve(schema=schema))
        return entry[1]


@dataclass
class _Words:
    """The user's words, the arguments they wrote out explicitly, and the schema's checker."""

    text: str
    explicit: dict[str, Any]
    checker: _Checker
    used_numbers: set[int] = field(default_factory=set)  # positions of numbers already taken

    def given(self, explicit: dict[str, Any]) -> _Words:
        """The same words (and numbers taken), with other explicit arguments: for a nested object."""
        return replace(self, explicit=explicit)


def _object(schema: dict[str, Any], words: _Words) -> dict[str, Any]:
    properties = _as_dict(schema.get("properties"))
    required = [r for r in _as_list(schema.get("required")) if isinstance(r, str)]
    extra = schema.get("additionalProperties", True)
    result: dict[str, Any] = {}
    for name, sub in properties.items():
        value = _from_words(name, sub, words)
        if value is _MISSING and name in required:
            value = _fallback(name, sub, words)
        if value is not _MISSING:
            result[name] = value
    for name in required:
        if name not in result:
            sub = extra if isinstance(extra, dict) else {}
            value = _from_words(name, sub, words)
            result[name] = _fallback(name, sub, words) if value is _MISSING else value
    if not properties and extra is not False:
        for name, value in words.explicit.items():
            if name not in result and words.checker.fits(value, extra if isinstance(extra, dict) else {}):
                result[name] = value
    return result


def _from_words(name: str, schema: Any, words: _Words) -> Any:
    """A value for property ``name`` that the user gave, or ``_MISSING``."""
    candidates: list[Any] = []
    if name in words.explicit:
        raw = words.explicit[name]
        candidates += [raw, _coerce(raw, schema)]
        if isinstance(raw, dict) and isinstance(schema, dict):
            candidates.append(_object(schema, words.given(raw)))
    candidates += _found(name, schema, words)
    for candidate in candidates:
        if candidate is not _MISSING and words.checker.fits(candidate, schema):
            return candidate
    return _MISSING


def _fallback(name: str, schema: Any, words: _Words) -> Any:
    """A value for a required property the user did not give: a number they said, the default, a placeholder."""
    candidates: list[Any] = []
    if isinstance(schema, dict):
        if set(_types(schema)) & {"integer", "number"}:
            candidates += _unused_numbers(words)
        if "default" in schema:
            candidates.append(schema["default"])
    candidates += _placeholders(name, schema, words)
    for candidate in candidates:
        if words.checker.fits(candidate, schema):
            return candidate
    return candidates[-1] if candidates else None


def _types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list) and declared:
        return [t for t in declared if isinstance(t, str)]
    if "properties" in schema or "required" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    return ["string", "number", "integer", "boolean", "object", "array", "null"]


def _name_pattern(name: str) -> str:
    """The words of a property name (``party_size``, ``partySize`` -> ``party size``), as a regex."""
    parts = [p.lower() for p in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)] or [name.lower()]
    return r"[\s_-]*".join(re.escape(p) for p in parts) + "s?"


def _found(name: str, schema: Any, words: _Words) -> list[Any]:
    """Values a simple rule finds for property ``name`` in the user's words."""
    if not isinstance(schema, dict):
        return []
    text, lowered = words.text, words.text.lower()
    found: list[Any] = []
    enum = _as_list(schema.get("enum"))
    found += [v for v in enum if isinstance(v, str | int | float) and _mentions(lowered, str(v).lower())]
    mentioned = re.search(rf"\b{_name_pattern(name)}\b", lowered) is not None
    for type_ in _types(schema):
        if type_ == "string":
            found += _strings_for(name, text)
        elif type_ in ("integer", "number"):
            found += _numbers_for(name, words)
        elif type_ == "boolean" and mentioned:
            negated = re.search(rf"\b(no|not|without|don't|do not)\s+(\w+\s+)?{_name_pattern(name)}\b", lowered)
            found.append(negated is None)
        elif type_ == "object" and isinstance(schema.get("properties"), dict):
            nested = _object({**schema, "required": []}, words.given({}))
            if nested:
                found.append(_object(schema, words.given(nested)))
        elif type_ == "array" and isinstance(schema.get("items"), dict):
            items = schema["items"].get("enum") if isinstance(schema["items"].get("enum"), list) else []
            chosen = [v for v in items if isinstance(v, str) and _mentions(lowered, v.lower())]
            if chosen:
                found.append(chosen)
    return found


def _mentions(lowered: str, phrase: str) -> bool:
    return bool(phrase) and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", lowered) is not None


def _strings_for(name: str, text: str) -> list[str]:
    found = []
    value = r"(\"[^\"]+\"|'[^']+'|[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)"  # quoted, or Capitalized Words
    after_name = re.search(rf"(?i:\b{_name_pattern(name)}\b\s*(?:is|:|of|named|called)?)\s*{value}", text)
    if after_name and after_name.group(1).lower() not in _STOPWORDS | {"is", "of", "named", "called"}:
        found.append(after_name.group(1).strip("\"'"))
    if set(re.findall(r"[a-z]+", name.lower())) & _PLACES:
        place = re.search(r"\b(?:in|at|for|near|from|to)\s+((?:[A-Z][\w'-]*)(?:\s+[A-Z][\w'-]*)*)", text)
        if place:
            found.append(place.group(1))
        for word in re.findall(r"\b(?:in|at|near)\s+([a-z][\w'-]*)", text):
            if word not in _STOPWORDS:
                found.append(word.title())  # lower-case words, as speech recognition writes them
                break
    return found


def _numbers_for(name: str, words: _Words) -> list[int | float]:
    """A number right before or after the property's name: "3 people", "days: 5"."""
    pattern = _name_pattern(name)
    lowered = words.text.lower()
    found: list[int | float] = []
    for match in re.finditer(
        rf"\b({_NUMBER})\s+(?:\w+\s+)?{pattern}\b|\b{pattern}\s*(?::|is|of)?\s*({_NUMBER})\b", lowered
    ):
        group = 1 if match.group(1) is not None else 2
        words.used_numbers.add(match.start(group))
        found.append(_number(match.group(group)))
    return found


def _unused_numbers(words: _Words) -> list[int | float]:
    lowered = words.text.lower()
    return [
        _number(m.group(0))
        for m in re.finditer(rf"(?<![\w.]){_NUMBER}(?![\w.])", lowered)
        if m.start() not in words.used_numbers
    ]


def _number(word: str) -> int | float:
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    value = float(word)
    return int(value) if value.is_integer() and "." not in word else value


def _coerce(value: Any, schema: Any) -> Any:
    """``value`` converted to the schema's type where that is plain (``"3"`` -> 3, 3 -> ``"3"``)."""
    if not isinstance(schema, dict):
        return _MISSING
    types = _types(schema)
    if "string" in types and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        if "integer" in types and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        if "number" in types and re.fullmatch(_NUMBER, value.strip().lower()):
            return _number(value.strip().lower())
        if "boolean" in types and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
    return _MISSING


def _placeholders(name: str, schema: Any, words: _Words) -> list[Any]:
    """Values of the schema's own kinds, for a required property nobody gave."""
    if schema is False:
        return []
    if not isinstance(schema, dict):
        return ["unknown"]
    candidates: list[Any] = []
    if "const" in schema:
        candidates.append(schema["const"])
    if isinstance(schema.get("enum"), list):
        candidates += schema["enum"]
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key) or []:
            if isinstance(branch, dict):
                merged = {k: v for k, v in schema.items() if k != key} | branch
                candidates += [_fallback(name, merged, words)]
    for type_ in _types(schema):
        candidates.append(_placeholder(name, type_, schema, words))
    return candidates


def _placeholder(name: str, type_: str, schema: dict[str, Any], words: _Words) -> Any:
    if type_ == "string":
        text = _FORMATS.get(str(schema.get("format")), "unknown")
        low, high = _int(schema.get("minLength"), 0), _int(schema.get("maxLength"), None)
        text = text.ljust(low, "x")
        return text[:high] if high is not None else text
    if type_ in ("integer", "number"):
        return _in_range(schema, integer=type_ == "integer")
    if type_ == "boolean":
        return False
    if type_ == "null":
        return None
    if type_ == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        count = _int(schema.get("minItems"), 0)
        return [_fallback(name, items, words) for _ in range(count)]
    if type_ == "object":
        return _object(schema, words.given({}))
    return "unknown"


def _int(value: Any, default: Any) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _in_range(schema: dict[str, Any], *, integer: bool) -> int | float:
    """1, or the nearest value the schema's bounds (and ``multipleOf``) allow."""
    lows, highs = [], []
    if (bound := _number_keyword(schema, "minimum")) is not None:
        lows.append(math.ceil(bound) if integer else bound)
    if (bound := _number_keyword(schema, "exclusiveMinimum")) is not None:
        lows.append(math.floor(bound) + 1 if integer else math.nextafter(bound, math.inf))
    if (bound := _number_keyword(schema, "maximum")) is not None:
        highs.append(math.floor(bound) if integer else bound)
    if (bound := _number_keyword(schema, "exclusiveMaximum")) is not None:
        highs.append(math.ceil(bound) - 1 if integer else math.nextafter(bound, -math.inf))
    low, high = max(lows, default=-math.inf), min(highs, default=math.inf)
    value = min(max(1.0, low), high)
    step = _number_keyword(schema, "multipleOf")
    if step is not None and step > 0:
        multiple = math.ceil(value / step) * step
        value = multiple if multiple <= high else math.floor(value / step) * step
    return int(value) if integer and math.isfinite(value) else value


def _number_keyword(schema: dict[str, Any], key: str) -> float | None:
    value = schema.get(key)
    return float(value) if isinstance(value, int | float) and _real(value) else None


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _explicit_arguments(text: str) -> dict[str, Any]:
    """Arguments written as a JSON object, or as ``key=value`` pairs."""
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            parsed = json.loads(text[start : end + 1])
            if isinstance(parsed, dict):
                return parsed
        except (ValueError, RecursionError):
            pass
    args: dict[str, Any] = {}
    for key, value in re.findall(r"(\w+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s,;]+)", text):
        if value[:1] in "\"'":
            args[key] = value[1:-1]
            continue
        try:
            args[key] = json.loads(value)
        except (ValueError, RecursionError):
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
