r"""JSON text for events, without the cases where Python's ``json`` module fails or loses data.

The browser can send anything ``JSON.stringify`` writes, and Python code can log anything it
builds. Plain ``json.dumps``/``json.loads`` fail on four of those:

- a lone UTF-16 surrogate (``"\ud83d"``, a valid JSON escape) cannot be written to a UTF-8
  file as a character: :func:`dumps` writes it as its ``\uXXXX`` escape, which loads back
  exactly (all other text stays readable UTF-8);
- integers of more than 4,300 digits exceed Python's conversion limit: they are written and
  read digit for digit;
- nesting deeper than the recursion limit: a slower iterative writer and reader take over;
- ``NaN`` and ``±Infinity`` are not JSON: they are written as ``null`` (what
  ``JSON.stringify`` writes) and reported with their path, so a caller can keep them
  alongside and :func:`restore` them after loading.

The common case takes the C fast path; the careful one runs only when it fails.
"""

from __future__ import annotations

import decimal
import json
import math
import re
import sys
from json.decoder import scanstring  # type: ignore[attr-defined]  # public, if undeclared
from json.encoder import encode_basestring
from typing import Any

Path = list[str | int]
"""Where a value sits: dict keys (as JSON keys) and list indices from the top."""

Nonfinite = list[tuple[Path, str]]
"""``(path, "NaN" | "Infinity" | "-Infinity")`` for each non-finite float written as null."""

NONFINITE_NAMES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone UTF-16 surrogate (in a Python string, each half of a pair is one)."""
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_SPACE = re.compile(r"[ \t\n\r]*")
_LITERALS: tuple[tuple[str, Any], ...] = (
    ("null", None),
    ("true", True),
    ("false", False),
    ("NaN", math.nan),  # not JSON, but json.loads reads them: older logs hold them
    ("Infinity", math.inf),
    ("-Infinity", -math.inf),
)


def dumps(value: Any) -> tuple[str, Nonfinite]:
    """Valid JSON text for ``value`` and the non-finite floats it wrote as ``null``.

    Values that are not JSON are written as their ``repr`` (integer-like ones as integers);
    dict keys become JSON strings, tuples become lists.

    Raises
    ------
    ValueError
        If ``value`` contains itself.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=_default)
    except (ValueError, TypeError, RecursionError):  # NaN, huge int, deep nesting, odd keys, a cycle
        text, nonfinite = _careful_dumps(value)
    else:
        nonfinite = []
    return _escape_surrogates(text), nonfinite


def loads(text: str | bytes) -> Any:
    """Parse JSON text written by :func:`dumps` or anyone else (huge integers, deep nesting).

    Raises
    ------
    json.JSONDecodeError
        If ``text`` is not JSON (bytes that are not UTF-8 raise :class:`UnicodeDecodeError`).
    """
    if isinstance(text, bytes | bytearray | memoryview):
        text = bytes(text).decode("utf-8")
    try:
        return json.loads(text)
    except RecursionError:
        return _careful_loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer beyond the conversion limit
        try:
            return json.loads(text, parse_int=_int)
        except RecursionError:
            return _careful_loads(text)


def restore(value: Any, nonfinite: Any) -> Any:
    """Put the non-finite floats listed by :func:`dumps` back into a loaded ``value``.

    Raises
    ------
    ValueError
        If the list does not fit ``value`` (it was edited or belongs to another value).
    """
    if not isinstance(nonfinite, list):
        raise ValueError("the list of non-finite numbers is not a list")
    for entry in nonfinite:
        if not (isinstance(entry, list) and len(entry) == 2 and entry[1] in NONFINITE_NAMES):
            raise ValueError(f"{entry!r} is not a [path, 'NaN' | 'Infinity' | '-Infinity'] pair")
        path, name = entry
        if not isinstance(path, list) or not path:
            raise ValueError(f"{path!r} is not a path inside the value")
        parent = value
        try:
            for step in path[:-1]:
                parent = parent[step]
            if parent[path[-1]] is not None:
                raise ValueError(f"the value at {path!r} is not the null written for {name}")
            parent[path[-1]] = NONFINITE_NAMES[name]
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"{path!r} is not a path inside the value") from None
    return value


def _default(value: Any) -> Any:
    try:
        return int(value.__index__())
    except (AttributeError, TypeError):
        return repr(value)


def _escape_surrogates(text: str) -> str:
    # In json.dumps output a surrogate can only be inside a string literal, where its escape
    # means the same. (A high surrogate followed by a low one becomes one character in JSON,
    # as in JavaScript's UTF-16 strings.)
    if text.isascii():
        return text
    return SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _int(digits: str) -> int:
    if len(digits) < sys.get_int_max_str_digits() or sys.get_int_max_str_digits() == 0:
        return int(digits)
    return int(decimal.Decimal(digits))  # no digit limit (and exact: the exponent is 0)


def _int_text(value: int) -> str:
    try:
        return int.__repr__(value)
    except ValueError:  # beyond the conversion limit
        return str(decimal.Decimal(value))


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool):
        return {None: "null", True: "true", False: "false"}[key]
    if isinstance(key, int):
        return _int_text(key)
    if isinstance(key, float):
        return _float_text(key) if math.isfinite(key) else _nonfinite_name(key)
    return repr(key)


def _float_text(value: float) -> str:
    return float.__repr__(value)


def _nonfinite_name(value: float) -> str:
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


class _Leave:
    """A marker on the work stack: the container with this id is finished."""

    __slots__ = ("id",)

    def __init__(self, ident: int) -> None:
        self.id = ident


def _careful_dumps(value: Any) -> tuple[str, Nonfinite]:
    """The same text as ``json.dumps`` would write, iteratively and for every number."""
    out: list[str] = []
    nonfinite: Nonfinite = []
    open_ids: set[int] = set()
    work: list[Any] = [(value, ())]  # (value, path) to write, a literal str, or a _Leave
    while work:
        item = work.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        if isinstance(item, _Leave):
            open_ids.discard(item.id)
            continue
        obj, path = item
        if isinstance(obj, str):
            out.append(encode_basestring(obj))
        elif obj is None or obj is True or obj is False:
            out.append({None: "null", True: "true", False: "false"}[obj])
        elif isinstance(obj, int):
            out.append(_int_text(obj))
        elif isinstance(obj, float):
            if math.isfinite(obj):
                out.append(_float_text(obj))
            else:
                nonfinite.append((list(path), _nonfinite_name(obj)))
                out.append("null")
        elif isinstance(obj, dict | list | tuple):
            if id(obj) in open_ids:
                raise ValueError("Circular reference detected")
            open_ids.add(id(obj))
            pairs: list[tuple[Any, Any]]
            pairs = [(_key_text(k), v) for k, v in obj.items()] if isinstance(obj, dict) else list(enumerate(obj))
            is_dict = isinstance(obj, dict)
            todo: list[Any] = ["{" if is_dict else "["]
            for n, (key, child) in enumerate(pairs):
                if n:
                    todo.append(", ")
                if is_dict:
                    todo.append(encode_basestring(key) + ": ")
                todo.append((child, (*path, key)))
            todo += ["}" if is_dict else "]", _Leave(id(obj))]
            work.extend(reversed(todo))
        else:
            work.append((_default(obj), path))
    return "".join(out), nonfinite


def _careful_loads(text: str) -> Any:
    """``json.loads`` without recursion, for nesting deeper than the recursion limit."""
    stack: list[tuple[list[Any] | dict[str, Any], str | None]] = []
    i = _skip(text, 0)
    while True:
        # Read one value starting at i, or open a container and go on with its first member.
        char = text[i : i + 1]
        if char == "[" or char == "{":
            i = _skip(text, i + 1)
            closer = "]" if char == "[" else "}"
            if text.startswith(closer, i):
                value: Any = [] if char == "[" else {}
                i += 1
            elif char == "[":
                stack.append(([], None))
                continue
            else:
                key, i = _member_key(text, i)
                stack.append(({}, key))
                continue
        elif char == '"':
            value, i = scanstring(text, i + 1)
        else:
            value, i = _scalar(text, i)
        # The value is complete: add it to its container and close the containers it ends.
        while True:
            i = _skip(text, i)
            if not stack:
                if i != len(text):
                    raise json.JSONDecodeError("Extra data", text, i)
                return value
            container, member = stack[-1]
            if isinstance(container, list):
                container.append(value)
            else:
                container[str(member)] = value
            char = text[i : i + 1]
            if char == ",":
                i = _skip(text, i + 1)
                if isinstance(container, dict):
                    key, i = _member_key(text, i)
                    stack[-1] = (container, key)
                break
            if char == ("]" if isinstance(container, list) else "}"):
                stack.pop()
                value, i = container, i + 1
                continue
            raise json.JSONDecodeError("Expecting ',' delimiter", text, i)


def _skip(text: str, i: int) -> int:
    """Where the whitespace at ``i`` ends."""
    space = _SPACE.match(text, i)
    assert space is not None  # the pattern matches the empty string
    return space.end()


def _member_key(text: str, i: int) -> tuple[str, int]:
    """An object's ``"key":`` at ``i``; returns the key and where its value starts."""
    if not text.startswith('"', i):
        raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, i)
    key, i = scanstring(text, i + 1)
    i = _skip(text, i)
    if not text.startswith(":", i):
        raise json.JSONDecodeError("Expecting ':' delimiter", text, i)
    return key, _skip(text, i + 1)


def _scalar(text: str, i: int) -> tuple[Any, int]:
    number = _NUMBER.match(text, i)
    if number is not None:
        integer, fraction, exponent = number.groups()
        value = float(number.group()) if fraction or exponent else _int(integer)
        return value, number.end()
    for literal, value in _LITERALS:
        if text.startswith(literal, i):
            return value, i + len(literal)
    raise json.JSONDecodeError("Expecting value", text, i)


def event_of(message: str | bytes) -> dict[str, Any]:
    """A peer's message as an event; one that is not a JSON object is kept as it came.

    Nothing is dropped: an unreadable message becomes ``{"type": "rt_widget.malformed_event",
    "data": <its text>}``, as the browser page does.
    """
    try:
        event = loads(message)
    except (ValueError, RecursionError):  # not JSON, or not UTF-8
        event = None
    if isinstance(event, dict):
        return event
    text = message if isinstance(message, str) else bytes(message).decode("utf-8", "replace")
    return {"type": "rt_widget.malformed_event", "data": text}
