"""Strict JSON for what clients send the emulator (request bodies and client events).

Python's ``json`` accepts ``NaN`` and ``Infinity``, recurses without a bound and converts
numbers of any length, so a hostile body can raise ``RecursionError`` or spend seconds on one
integer. :func:`loads` refuses all of that, and lone UTF-16 surrogates, with a reason that
reads well after "... is not valid JSON: ".
"""

from __future__ import annotations

import json
import math
from typing import Any

from .._json import SURROGATE

MAX_DEPTH = 64
"""How deeply objects and arrays may nest: far beyond any session or tool schema."""
MAX_NUMBER_CHARS = 100
"""Longer number literals are refused (Python would refuse beyond 4,300 digits, with a traceback)."""


class StrictJSONError(ValueError):
    """The text is not one reasonable JSON value; ``str()`` says why."""


def loads(text: str | bytes) -> Any:
    """Parse ``text`` (bytes as UTF-8) or raise :class:`StrictJSONError` with the reason."""
    try:
        value = json.loads(text, parse_int=_number(int), parse_float=_number(float), parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise StrictJSONError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise StrictJSONError(_too_deep()) from None
    _check_tree(value)
    return value


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, with its article ("an array", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _number(kind: type[int] | type[float]) -> Any:
    def parse(literal: str) -> int | float:
        if len(literal.lstrip("-")) > MAX_NUMBER_CHARS:
            raise StrictJSONError(
                f"it holds a {len(literal):,}-digit number; numbers may have at most {MAX_NUMBER_CHARS} digits"
            )
        value = kind(literal)
        if isinstance(value, float) and not math.isfinite(value):
            raise StrictJSONError(f"the number {literal} is too large to represent; send a finite number")
        return value

    return parse


def _constant(name: str) -> Any:
    raise StrictJSONError(f"{name} is not valid JSON; send numbers as finite decimal literals")


def _too_deep() -> str:
    return f"it nests too deeply; at most {MAX_DEPTH} levels are accepted"


def _check_tree(value: Any) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` and strings that are not valid Unicode."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if not node.isascii() and SURROGATE.search(node):
                raise StrictJSONError("it holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape)")
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise StrictJSONError(_too_deep())
        if isinstance(node, dict):
            stack.extend((key, depth) for key in node)
            stack.extend((child, depth + 1) for child in node.values())
        else:
            stack.extend((child, depth + 1) for child in node)
