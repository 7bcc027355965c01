"""Python functions described as Realtime function tools: hints and docstrings to JSON schema."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Literal

import jsonschema
import pydantic
import pytest

import rt_widget as rt
from rt_widget.providers import Local
from rt_widget.tools import ToolError, function_tool
from tests.conformance import assert_client_event


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@dataclass
class Place:
    city: str
    country: str = "NO"
    tags: list[str] = field(default_factory=list)


class Window(pydantic.BaseModel):
    start: int
    end: int


def get_weather(city: str, days: int = 1, unit: Unit = Unit.CELSIUS, detailed: bool = False) -> dict:
    """Current weather for a city.

    Uses the local station when there is one.

    Parameters
    ----------
    city : str
        The city's name, e.g. "Oslo".
    days : int
        How many days ahead.
    unit : Unit
        Celsius or fahrenheit.
    """
    return {}


def plan(
    place: Place,
    window: Window,
    mode: Literal["walk", "bike"],
    stops: list[float] | None = None,
    notes: dict[str, str] | None = None,
) -> str:
    """Plan a trip.

    Args:
        place: Where to go.
        window (Window): When, in hours.
        mode: How to travel.
    """
    return ""


def test_scalars_defaults_enums_and_numpy_docstrings():
    tool = function_tool(get_weather)
    assert tool["type"] == "function"
    assert tool["name"] == "get_weather"
    assert tool["description"] == "Current weather for a city.\n\nUses the local station when there is one."
    props = tool["parameters"]["properties"]
    assert props["city"] == {"type": "string", "description": 'The city\'s name, e.g. "Oslo".'}
    assert props["days"] == {"type": "integer", "description": "How many days ahead."}
    assert props["unit"] == {
        "type": "string",
        "enum": ["celsius", "fahrenheit"],
        "description": "Celsius or fahrenheit.",
    }
    assert props["detailed"] == {"type": "boolean"}
    assert tool["parameters"]["required"] == ["city"]


def test_dataclasses_pydantic_literals_optionals_and_google_docstrings():
    tool = function_tool(plan)
    props = tool["parameters"]["properties"]
    assert props["place"]["type"] == "object"
    assert props["place"]["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["place"]["required"] == ["city"]
    assert props["place"]["description"] == "Where to go."
    assert props["window"]["properties"]["start"]["type"] == "integer"
    assert props["window"]["description"] == "When, in hours."
    assert props["mode"] == {"type": "string", "enum": ["walk", "bike"], "description": "How to travel."}
    assert props["stops"] == {"anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "null"}]}
    assert props["notes"] == {
        "anyOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"type": "null"}]
    }
    assert tool["parameters"]["required"] == ["place", "window", "mode"]


class Stop(pydantic.BaseModel):
    unit: Unit
    place: Window


def route(stops: list[Stop], back: Window | None = None) -> str:
    """A route through stops."""
    return "ok"


def test_a_pydantic_models_nested_types_are_defined_at_the_root_so_their_refs_resolve():
    parameters = function_tool(route)["parameters"]
    assert set(parameters["$defs"]) == {"Unit", "Window"}
    assert '"$defs":' not in json.dumps(parameters["properties"])  # no definitions left inside
    arguments = {"stops": [{"unit": "celsius", "place": {"start": 1, "end": 2}}]}
    jsonschema.validate(arguments, parameters)  # every "#/$defs/..." resolves from the root
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"stops": [{"unit": "kelvin", "place": {"start": 1, "end": 2}}]}, parameters)


def test_functions_become_tools_in_the_session():
    s = rt.Realtime(provider=Local(), tools=[get_weather, {"type": "function", "name": "raw", "parameters": {}}])
    session = s.config.to_ga()
    assert [t["name"] for t in session["tools"]] == ["get_weather", "raw"]
    assert_client_event({"type": "session.update", "session": session})


def no_hint(city):
    """Missing a hint."""


def star(*args: str) -> None:
    """Varargs."""


def a_set(names: set) -> None:
    """A bare set."""


def odd(value: complex) -> None:
    """Complex numbers."""


def bad_dict(values: dict[int, str]) -> None:
    """Non-string keys."""


def mixed(pair: tuple[int, str]) -> None:
    """A mixed tuple."""


def positional(city: str, /) -> None:
    """Positional-only."""


def options(**extra: str) -> None:
    """Keyword varargs."""


def lines(city: str) -> Iterator[str]:
    """A generator."""
    yield city


async def chunks(city: str) -> AsyncIterator[str]:
    """An async generator."""
    yield city


def värme(city: str) -> None:
    """A name with a letter the API does not allow."""


class Lookup:
    """A class, not a function."""


@pytest.mark.parametrize(
    ("fn", "says"),
    [
        (no_hint, "parameter 'city' needs a type hint"),
        (star, "*args cannot be described"),
        (options, "**extra cannot be described"),
        (positional, "parameter 'city' is positional-only, but the model passes arguments by name"),
        (lines, "lines is a generator function"),
        (chunks, "chunks is a generator function"),
        (värme, "'värme' cannot be a tool's name"),
        (Lookup, "got the class Lookup"),
        (len, "positional-only"),
        (a_set, "say what the list holds"),
        (odd, "has type complex, which cannot be described"),
        (bad_dict, "use dict[str, <type>]"),
        (mixed, "one type"),
        (lambda x: x, "A lambda has no name"),
        (42, "must be a named function"),
    ],
)
def test_unsupported_hints_fail_at_registration(fn, says):
    with pytest.raises(ToolError, match=says.replace("*", r"\*").replace("[", r"\[")):
        function_tool(fn)
    with pytest.raises((ToolError, ValueError)):  # a non-function is refused by the config check
        rt.Realtime(provider=Local(), tools=[fn])


def test_keyword_only_parameters_are_named_so_they_are_fine():
    def book(*, city: str, nights: int = 1) -> str:
        """Book a room."""
        return city

    assert function_tool(book)["parameters"]["required"] == ["city"]


@pytest.mark.parametrize("timeout", [math.nan, math.inf, 10**400, 86_401, 0, -1, True, "5"])
def test_a_timeout_is_a_real_number_of_seconds_up_to_a_day(timeout):
    with pytest.raises(ToolError, match=r"timeout=.* is not valid: use a number of seconds above 0 and at most 86,400"):
        rt.Tool(book_room, timeout=timeout)


@pytest.mark.parametrize("timeout", [0.5, 30, 86_400, None])
def test_reasonable_timeouts_are_kept(timeout):
    assert rt.Tool(book_room, timeout=timeout).timeout == timeout


def book_room(city: str) -> str:
    """Book a room."""
    return city
