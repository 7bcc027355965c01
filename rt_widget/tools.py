"""Python functions as Realtime function tools: the JSON schema from type hints and docstrings.

``function_tool(fn)`` describes ``fn`` the way the Realtime API wants a tool: its name, the
docstring's summary as the description, and a JSON schema of its parameters, each with the
description the docstring gives it (numpy or Google style). Hints that cannot be described
raise a clear error when the tool is registered, not when the model calls it.

The model passes arguments by name, exactly those in the schema, and reads one result. So a
tool's parameters are named (no positional-only ones, no ``*args`` or ``**kwargs``: the model
could not know what to pass), its name is what the API allows for a function, and it returns a
value (a generator's items would never reach the model: return a list).
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any

import docstring_parser

from ._checks import finite

SUPPORTED = (
    "str, int, float, bool, Literal[...], an Enum, Optional[...], list[...], dict[str, ...], "
    "a dataclass or a pydantic model"
)
_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
TOOL_NAME = r"[a-zA-Z0-9_-]{1,64}"
"""What the Realtime API allows as a function tool's name."""
MAX_TIMEOUT_S = 24 * 3600.0
"""The longest ``Tool(timeout=...)``; ``None`` means no limit at all."""


class ToolError(TypeError):
    """A function cannot be offered as a tool; the message says which parameter and why."""


def function_tool(fn: Callable[..., Any]) -> dict[str, Any]:
    """The Realtime API tool definition of ``fn`` (``{"type": "function", ...}``).

    Raises
    ------
    ToolError
        If ``fn`` cannot be offered to the model; the message says why and what to change.
    """
    if isinstance(fn, type):
        raise ToolError(f"A tool must be a function; got the class {fn.__name__}. Wrap what it does in a def.")
    if not callable(fn) or not hasattr(fn, "__name__"):
        raise ToolError(f"A tool must be a named function; got {fn!r}.")
    name = fn.__name__
    if name == "<lambda>":
        raise ToolError("A lambda has no name the model could call; use a def with a docstring.")
    if not re.fullmatch(TOOL_NAME, name):
        raise ToolError(
            f"{name!r} cannot be a tool's name: the API allows 1-64 ASCII letters, digits, _ and -. "
            "Rename the function."
        )
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        raise ToolError(
            f"{name} is a generator function: the model would get a generator, not its items. Return a list instead."
        )
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        raise ToolError(
            f"{name}: its parameters cannot be read (a builtin?); wrap it in a def with type hints."
        ) from None
    try:
        hints = typing.get_type_hints(fn, include_extras=False)
    except (NameError, TypeError) as exc:
        raise ToolError(f"{name}: its type hints cannot be read ({exc}).") from None
    doc = docstring_parser.parse(inspect.getdoc(fn) or "")
    described = {p.arg_name: p.description for p in doc.params if p.description}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            stars = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise ToolError(
                f"{name}: {stars}{param.name} cannot be described to the model; name every parameter it may pass."
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise ToolError(
                f"{name}: parameter {param.name!r} is positional-only, but the model passes arguments by name. "
                "Remove the '/' from the signature."
            )
        if param.name not in hints:
            raise ToolError(f"{name}: parameter {param.name!r} needs a type hint ({SUPPORTED}).")
        schema = _schema(hints[param.name], f"{name}: parameter {param.name!r}")
        if param.name in described:
            schema = {**schema, "description": described[param.name]}
        properties[param.name] = schema
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
    description = "\n\n".join(p for p in (doc.short_description, doc.long_description) if p)
    parameters: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    definitions = _hoist_definitions(properties, name)
    if definitions:
        parameters["$defs"] = definitions
    return {"type": "function", "name": name, "description": description, "parameters": parameters}


def _hoist_definitions(schema: Any, tool: str) -> dict[str, Any]:
    """Move the ``$defs`` of embedded pydantic schemas to the root of the tool's parameters.

    Pydantic writes nested models and enums as ``{"$ref": "#/$defs/Unit"}``, a pointer from the
    root of the document; inside a property they would point at nothing.
    """
    found: dict[str, Any] = {}
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, definition in (node.pop("$defs", None) or {}).items():
            if key in found and found[key] != definition:
                msg = f"{tool}: two different types are both named {key!r}; rename one so the schema can hold both."
                raise ToolError(msg)
            found[key] = definition
            stack.append(definition)
        stack.extend(node.values())
    return found


def _schema(hint: Any, where: str) -> dict[str, Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if origin is typing.Literal:
        kinds = {_SCALARS.get(type(a)) for a in args}
        return (
            {"type": kinds.pop(), "enum": list(args)} if len(kinds) == 1 and None not in kinds else {"enum": list(args)}
        )
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        values = [m.value for m in hint]
        kinds = {_SCALARS.get(type(v)) for v in values}
        return {"type": kinds.pop(), "enum": values} if len(kinds) == 1 and None not in kinds else {"enum": values}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        schemas = [_schema(a, where) for a in options]
        if len(options) < len(args):
            schemas.append({"type": "null"})
        return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple, set, frozenset):
        items = [a for a in args if a is not Ellipsis]
        if len(set(items)) != 1:
            raise ToolError(f"{where}: say what the list holds, one type, e.g. list[str] ({SUPPORTED}).")
        return {"type": "array", "items": _schema(items[0], where)}
    if origin is dict or hint is dict:
        if len(args) != 2 or args[0] is not str:
            raise ToolError(f"{where}: use dict[str, <type>] so the model knows the values' type ({SUPPORTED}).")
        return {"type": "object", "additionalProperties": _schema(args[1], where)}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _dataclass_schema(hint, where)
    if isinstance(hint, type) and hasattr(hint, "model_json_schema"):  # a pydantic model
        return dict(hint.model_json_schema())
    raise ToolError(f"{where} has type {_name(hint)}, which cannot be described to the model. Use {SUPPORTED}.")


def _dataclass_schema(cls: type, where: str) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties = {f.name: _schema(hints[f.name], f"{where} (field {f.name!r})") for f in dataclasses.fields(cls)}
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    return {"type": "object", "properties": properties, "required": required}


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or repr(hint)


@dataclasses.dataclass(frozen=True)
class Tool:
    """A Python function offered to the model, and how the kernel runs it.

    Plain functions in ``tools=[...]`` become ``Tool(fn)``; wrap one yourself to ask for
    approval or to change the time limit: ``rt.Tool(delete_file, needs_approval=True)``.

    Parameters
    ----------
    fn:
        The function (or ``async def``). Its schema comes from its hints and docstring.
    needs_approval:
        Show the call in the widget with Approve and Deny buttons, and run it only if approved.
    timeout:
        Seconds the function may take before the model is told it timed out (above 0, at most
        a day); ``None`` for no limit. A timed-out function in a thread cannot be stopped: it runs on, unheard.
    """

    fn: Callable[..., Any]
    needs_approval: bool = False
    timeout: float | None = 30.0
    definition: dict[str, Any] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.needs_approval, bool):
            raise ToolError(f"needs_approval={self.needs_approval!r} is not valid: use True or False.")
        timeout = self.timeout
        if timeout is not None:
            seconds = finite(timeout)
            if seconds is None or not 0 < seconds <= MAX_TIMEOUT_S:
                raise ToolError(
                    f"timeout={timeout!r} is not valid: use a number of seconds above 0 and at most "
                    f"{MAX_TIMEOUT_S:,.0f} (a day), or None for no limit."
                )
        object.__setattr__(self, "definition", function_tool(self.fn))

    @property
    def name(self) -> str:
        """The name the model calls the tool by."""
        return str(self.definition["name"])


def as_tools(tools: Any) -> Any:
    """A tools list with its plain functions wrapped as :class:`Tool` (each described once).

    Anything else is returned as given, for the session config to check and explain.
    """
    if not isinstance(tools, list | tuple):
        return tools
    return [Tool(t) if callable(t) and not isinstance(t, Tool | dict) else t for t in tools]


def coerce_arguments(fn: Callable[..., Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON arguments as the values ``fn``'s hints ask for (enums, dataclasses...).

    Raises ``ValueError`` with what does not fit, for the model to read and correct.
    """
    signature = inspect.signature(fn)
    try:
        signature.bind(**arguments)
    except TypeError as exc:
        raise ValueError(f"The arguments do not fit {fn.__name__}{signature}: {exc}.") from None
    hints = typing.get_type_hints(fn)
    try:
        return {name: _coerce(value, hints[name]) for name, value in arguments.items()}
    except (TypeError, ValueError, AttributeError) as exc:  # pydantic's ValidationError is a ValueError
        raise ValueError(f"The arguments do not fit {fn.__name__}{signature}: {exc}") from None


def _coerce(value: Any, hint: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if value is None:
        return None
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        field_hints = typing.get_type_hints(hint)
        return hint(**{k: _coerce(v, field_hints.get(k, Any)) for k, v in value.items()})
    if isinstance(hint, type) and hasattr(hint, "model_validate"):  # a pydantic model
        return hint.model_validate(value)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _coerce(value, options[0]) if len(options) == 1 else value
    if origin in (list, tuple, set, frozenset) and args:
        return origin(_coerce(v, args[0]) for v in value)
    if origin is dict and len(args) == 2:
        return {k: _coerce(v, args[1]) for k, v in value.items()}
    return value
