"""The scripted model's tool arguments fit the tool's JSON schema, with values from the user's words."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rt_widget.emulator.model import Context, FunctionCall, scripted_model, tool_arguments


def obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or [], **extra}


WEATHER = obj(
    {
        "city": {"type": "string", "description": "The city's name."},
        "days": {"type": "integer", "minimum": 1, "maximum": 14, "default": 1},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        "detailed": {"type": "boolean"},
    },
    ["city"],
)


@pytest.mark.parametrize(
    ("schema", "text", "expected"),
    [
        (WEATHER, "What is the weather in Paris?", {"city": "Paris"}),
        (WEATHER, "weather in New York for 3 days", {"city": "New York", "days": 3}),
        (WEATHER, "what's the weather in paris", {"city": "Paris"}),  # speech recognition writes lower case
        (WEATHER, "weather in Oslo in fahrenheit", {"city": "Oslo", "unit": "fahrenheit"}),
        (WEATHER, "a detailed forecast for Rome", {"city": "Rome", "detailed": True}),
        (WEATHER, "call get_weather city=Lyon days=2", {"city": "Lyon", "days": 2}),
        (WEATHER, 'get_weather {"city": "Nice", "unit": "celsius"}', {"city": "Nice", "unit": "celsius"}),
        (WEATHER, "city=Bern in Paris", {"city": "Bern"}),  # key=value wins over the words
        (WEATHER, "how is the weather", {"city": "unknown"}),  # required, nothing said: a placeholder
        (obj({"people": {"type": "integer"}}, ["people"]), "book a table for 3 people", {"people": 3}),
        (obj({"guests": {"type": "integer"}}, ["guests"]), "a table for four", {"guests": 4}),
        (obj({"party_size": {"type": "integer"}}, ["party_size"]), "party size 6 please", {"party_size": 6}),
        (obj({"n": {"type": "integer", "minimum": 10}}, ["n"]), "nothing here", {"n": 10}),
        (obj({"unit": {"enum": ["c", "f"]}}, ["unit"]), "no unit given", {"unit": "c"}),
        (obj({"mode": {"type": "string", "default": "fast"}}, ["mode"]), "go", {"mode": "fast"}),
        (obj({"days": {"type": "integer", "default": 5}}), "go", {}),  # optional and not said: absent
        (obj({"tags": {"type": "array", "items": {"type": "string"}}}, ["tags"]), "go", {"tags": []}),
        (
            obj({"where": obj({"city": {"type": "string"}}, ["city"])}, ["where"]),
            "hotels in Madrid",
            {"where": {"city": "Madrid"}},
        ),
        ({"type": "object"}, "call it with x=1 y=two", {"x": 1, "y": "two"}),  # free-form object
        (obj({}, additionalProperties=False), "x=1", {}),
        (None, "x=1", {"x": 1}),
    ],
)
def test_arguments_come_from_the_words_and_fit_the_schema(schema, text, expected):
    arguments = tool_arguments(schema, text)
    assert arguments == expected
    if schema is not None:
        jsonschema.validate(arguments, schema)


# A pydantic model's schema: the enum is a $ref into the root's $defs.
PYDANTIC = {
    "$defs": {"Unit": {"enum": ["celsius", "fahrenheit"], "title": "Unit", "type": "string"}},
    "properties": {"city": {"title": "City", "type": "string"}, "unit": {"$ref": "#/$defs/Unit"}},
    "required": ["city"],
    "title": "Weather",
    "type": "object",
}
# zod-to-json-schema's: draft 7, "definitions".
ZOD = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"days": {"$ref": "#/definitions/Days"}},
    "definitions": {"Days": {"type": "integer", "minimum": 1, "maximum": 14}},
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("schema", "text", "expected"),
    [
        (PYDANTIC, "weather in Paris unit=fahrenheit", {"city": "Paris", "unit": "fahrenheit"}),
        (PYDANTIC, "weather in Paris unit=kelvin", {"city": "Paris"}),  # not one of the $ref's enum
        (ZOD, "days=5", {"days": 5}),
        (ZOD, "days=20", {}),  # above the $ref's maximum
    ],
)
def test_refs_resolve_against_the_root_schema(schema, text, expected):
    arguments = tool_arguments(schema, text)
    assert arguments == expected
    jsonschema.validate(arguments, schema)


def test_a_remote_ref_is_never_fetched(monkeypatch):
    fetched: list[Any] = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda *args, **kwargs: fetched.append(args))
    schema = obj({"x": {"$ref": "https://example.com/x.json"}})
    assert tool_arguments(schema, "x=1") == {}  # what cannot be checked is not given
    assert fetched == []


def test_the_scripted_model_calls_get_weather_with_a_city():
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER}
    context = Context(
        items=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "weather in Paris?"}]}],
        instructions="",
        tools=[tool],
        tool_choice="required",
    )
    assert scripted_model(context) == FunctionCall("get_weather", {"city": "Paris"})


def test_a_tool_choice_naming_no_offered_tool_calls_nothing():
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER}
    context = Context(
        items=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        instructions="",
        tools=[tool],
        tool_choice={"type": "function", "name": "other"},
    )
    assert isinstance(scripted_model(context), str)


# -- property: any schema, any words -> arguments that validate ---------------------------

NAMES = st.sampled_from(["city", "days", "people", "unit", "name", "count", "detailed", "tags", "where"]) | (
    st.from_regex(r"\A[a-z][a-zA-Z_]{0,12}\Z")
)


@st.composite
def strings(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    low = draw(st.none() | st.integers(0, 12))
    high = draw(st.none() | st.integers(low or 0, 20))
    if low is not None:
        schema["minLength"] = low
    if high is not None:
        schema["maxLength"] = high
    if draw(st.booleans()):
        schema["format"] = draw(st.sampled_from(["date", "email", "uri", "date-time"]))
    return schema


@st.composite
def numbers(draw: st.DrawFn) -> dict[str, Any]:
    integer = draw(st.booleans())
    schema: dict[str, Any] = {"type": "integer" if integer else "number"}
    low = draw(st.none() | st.integers(-1000, 1000))
    width = draw(st.integers(2, 1000))
    step = draw(st.none() | st.integers(1, 7)) if integer else None
    if step is not None:
        schema["multipleOf"] = step
        width = max(width, 2 * step + 2)
    if low is not None:
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if low is not None and draw(st.booleans()):
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = low + width
    elif draw(st.booleans()):
        schema["maximum"] = draw(st.integers(-1000, 1000))
        schema.pop("minimum", None)
        schema.pop("exclusiveMinimum", None)
    return schema


SCALAR_VALUES = st.none() | st.booleans() | st.integers(-50, 50) | st.text(max_size=8)
LEAVES = (
    strings()
    | numbers()
    | st.just({"type": "boolean"})
    | st.just({"type": "null"})
    | st.just({"type": ["string", "null"]})
    | st.just({})
    | st.lists(SCALAR_VALUES, min_size=1, max_size=4, unique_by=lambda v: (type(v), v)).map(lambda e: {"enum": e})
    | st.lists(st.sampled_from(["red", "green", "blue", "celsius"]), min_size=1, max_size=3, unique=True).map(
        lambda e: {"type": "string", "enum": e}
    )
)


def objects(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        properties = draw(st.dictionaries(NAMES, children, max_size=4))
        required = draw(st.lists(st.sampled_from(sorted(properties)), unique=True)) if properties else []
        schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
        if draw(st.booleans()):
            schema["additionalProperties"] = draw(st.booleans())
        return schema

    return build()


def containers(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def arrays(draw: st.DrawFn) -> dict[str, Any]:
        low = draw(st.integers(0, 3))
        schema: dict[str, Any] = {"type": "array", "items": draw(children), "minItems": low}
        if draw(st.booleans()):
            schema["maxItems"] = low + draw(st.integers(0, 2))
        return schema

    any_of = st.lists(children, min_size=2, max_size=2).map(lambda branches: {"anyOf": branches})
    return objects(children) | arrays() | any_of


SCHEMAS = st.recursive(LEAVES, containers, max_leaves=12)


@st.composite
def with_default(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    """Maybe add a valid ``default`` to the top-level properties."""
    for sub in schema.get("properties", {}).values():
        value = draw(SCALAR_VALUES)
        if draw(st.booleans()) and jsonschema.Draft202012Validator(sub).is_valid(value):
            sub["default"] = value
    return schema


TOOL_SCHEMAS = objects(SCHEMAS).flatmap(with_default)
WORDS = st.lists(
    st.sampled_from(["weather", "in", "Paris", "for", "3", "people", "days", "red", "no", "detailed", "city"])
    | st.from_regex(r"\A[a-z]{1,8}=[0-9a-zA-Z\"]{1,6}\Z")
    | st.text(max_size=10),
    max_size=12,
).map(" ".join)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=TOOL_SCHEMAS, text=WORDS)
def test_any_schema_and_any_words_give_arguments_that_validate(schema, text):
    jsonschema.Draft202012Validator.check_schema(schema)
    arguments = tool_arguments(schema, text)
    assert isinstance(arguments, dict)
    json.dumps(arguments, allow_nan=False)
    jsonschema.Draft202012Validator(schema).validate(arguments)
    for name in schema.get("required", []):
        assert name in arguments


def test_a_required_property_behind_a_ref_gets_a_value_that_fits():
    schema = {**PYDANTIC, "required": ["city", "unit"]}
    arguments = tool_arguments(schema, "what is the weather in Oslo in fahrenheit")
    assert arguments == {"city": "Oslo", "unit": "fahrenheit"}
    jsonschema.validate(arguments, schema)


def test_a_recursive_schema_is_inlined_only_so_deep():
    tree = {"$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}}}
    schema = {**tree, "type": "object", "properties": {"root": {"$ref": "#/$defs/Node"}}, "required": ["root"]}
    arguments = tool_arguments(schema, "anything")
    jsonschema.validate(arguments, schema)
