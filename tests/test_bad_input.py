"""Every kind of bad input gets a clear error naming what was wrong, raised deliberately.

"Deliberately" is checked: no internal exception is chained to the error, so the user sees
one message, not a traceback from inside the library.
"""

from __future__ import annotations

import math
import socket
import typing
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

import rt_widget as rt
from rt_widget import analysis, protocol
from rt_widget.config import MAX_INSTRUCTIONS_BYTES, SessionConfig
from rt_widget.emulator import Faults
from rt_widget.events import EventLog
from rt_widget.providers import Azure, Beta, CallAnswer, ConnectError, Local, OpenAI
from tests.aio import run


def realtime(**kwargs: Any) -> Callable[[], object]:
    return lambda: rt.Realtime(provider=Local(), **kwargs)


def connected(**kwargs: Any) -> rt.Realtime:
    widget = rt.Realtime(provider=Local(), **kwargs)
    widget._on_message({"kind": "state", "status": "connected", "error": ""})
    widget._page.post = lambda msg: None  # type: ignore[method-assign]
    return widget


def in_state(status: str, error: str = "", **kwargs: Any) -> rt.Realtime:
    widget = rt.Realtime(provider=Local(), **kwargs)
    widget.session.set_state(status=status, error=error)
    widget._page.post = lambda msg: None  # type: ignore[method-assign]
    return widget


def tool_def(**fields: Any) -> dict[str, Any]:
    return {"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}, **fields}


def log_of(*events: dict[str, Any]) -> EventLog:
    log = EventLog()
    for event in events:
        log.append(event, direction="server", call_id="rtc_1")
    return log


def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def positional_only(city: str, /) -> str:
    """Positional-only: the model passes arguments by name."""
    return city


def many(*cities: str) -> str:
    """*args: the model cannot know what to pass."""
    return ",".join(cities)


def loose(**options: str) -> str:
    """**kwargs: the model cannot know what to pass."""
    return str(options)


def forecast(city: str) -> Iterator[str]:
    """A generator: the model would get a generator object."""
    yield city


async def stream(city: str) -> AsyncIterator[str]:
    """An async generator."""
    yield city


def météo(ville: str) -> str:  # a name the API does not allow is the point
    """A name the API does not allow."""
    return ville


def untyped(city):  # type: ignore[no-untyped-def]
    """No hints."""
    return city


def takes_a_set(cities: set) -> str:  # type: ignore[type-arg]
    """A bare set: what does it hold?"""
    return str(cities)


def takes_bytes(data: bytes) -> str:
    """Bytes cannot be described in JSON."""
    return str(data)


class NotAFunction:
    """A class is callable, but is not a tool."""


LONG_NAME = "f" * 65
long_named = typing.cast(Callable[..., Any], type(weather)(weather.__code__, {}, LONG_NAME))
long_named.__annotations__ = weather.__annotations__


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CASES: list[tuple[str, Callable[[], object], type[Exception], tuple[str, ...]]] = [
    ("unknown voice", realtime(voice="bob"), ValueError, ("voice='bob'", "'marin'")),
    ("loopback not a bool", realtime(loopback="yes"), ValueError, ("loopback='yes'", "True or False")),
    ("voice of wrong type", realtime(voice=3), ValueError, ("voice=3",)),
    ("threshold above 1", realtime(threshold=1.5), ValueError, ("threshold=1.5", "from 0 to 1")),
    ("threshold below 0", realtime(threshold=-0.1), ValueError, ("threshold=-0.1",)),
    ("threshold as text", realtime(threshold="high"), ValueError, ("threshold='high'",)),
    ("negative prefix padding", realtime(prefix_padding_ms=-1), ValueError, ("prefix_padding_ms=-1",)),
    ("silence too long", realtime(silence_duration_ms=20_000), ValueError, ("silence_duration_ms=20000",)),
    ("silence not an integer", realtime(silence_duration_ms=1.5), ValueError, ("an integer",)),
    ("idle timeout too short", realtime(idle_timeout_ms=100), ValueError, ("idle_timeout_ms=100", "5000")),
    ("bad eagerness", realtime(turn_detection="semantic_vad", eagerness="max"), ValueError, ("eagerness='max'",)),
    ("eagerness with server_vad", realtime(eagerness="low"), ValueError, ("semantic_vad",)),
    ("threshold with semantic_vad", realtime(turn_detection="semantic_vad", threshold=0.5), ValueError, ("threshold",)),
    ("unknown turn detection", realtime(turn_detection="push"), ValueError, ("turn_detection='push'", "None")),
    ("unknown VAD field", realtime(turn_detection={"type": "server_vad", "foo": 1}), ValueError, ("'foo'",)),
    ("VAD setting without VAD", realtime(turn_detection=None, threshold=0.5), ValueError, ("threshold", "None")),
    ("two modalities", realtime(output_modalities=["audio", "text"]), ValueError, ("output_modalities",)),
    ("unknown modality", realtime(output_modalities="video"), ValueError, ("'video'", "'audio'")),
    ("unknown transcription model", realtime(transcription="whisper-2"), ValueError, ("'whisper-2'", "whisper-1")),
    (
        "unknown transcription field",
        realtime(transcription={"model": "whisper-1", "lang": "en"}),
        ValueError,
        ("'lang'",),
    ),
    ("transcription of wrong type", realtime(transcription=5), ValueError, ("transcription=5",)),
    ("language not a code", realtime(transcription={"language": "english"}), ValueError, ("'english'", "'en'")),
    ("unknown noise reduction", realtime(noise_reduction="studio"), ValueError, ("'studio'", "'near_field'")),
    ("tools not a list", realtime(tools="get_weather"), ValueError, ("tools='get_weather'",)),
    ("tool without type", realtime(tools=[{"name": "x"}]), ValueError, ("tools[0].type",)),
    ("function tool without name", realtime(tools=[{"type": "function"}]), ValueError, ("tools[0].name",)),
    ("unknown tool choice", realtime(tool_choice="always"), ValueError, ("'always'", "'required'")),
    ("zero max tokens", realtime(max_output_tokens=0), ValueError, ("max_output_tokens=0", "4096")),
    ("too many max tokens", realtime(max_output_tokens=5000), ValueError, ("max_output_tokens=5000",)),
    ("max tokens as text", realtime(max_output_tokens="lots"), ValueError, ("'lots'",)),
    ("speed too fast", realtime(speed=2), ValueError, ("speed=2", "1.5")),
    ("speed as a bool", realtime(speed=True), ValueError, ("speed=True",)),
    ("bad tracing", realtime(tracing=5), ValueError, ("tracing=5",)),
    ("instructions not text", realtime(instructions=123), ValueError, ("instructions=123",)),
    ("empty model", realtime(model=""), ValueError, ("model=''",)),
    ("unknown setting", realtime(temperature=0.7), TypeError, ("'temperature'", "voice")),
    ("unknown provider", lambda: rt.Realtime(provider="gemini"), ValueError, ("'gemini'", "'openai'")),
    ("OpenAI without a key", lambda: OpenAI(api_key="", base_url="http://x"), ValueError, ("OPENAI_API_KEY",)),
    ("Azure without endpoint", lambda: Azure(deployment="d", api_key="k"), ValueError, ("AZURE_OPENAI_ENDPOINT",)),
    ("Azure without deployment", lambda: Azure(endpoint="https://x", api_key="k"), ValueError, ("deployment",)),
    ("Azure without credentials", lambda: Azure(endpoint="https://x", deployment="d"), ValueError, ("token_provider",)),
    ("unknown flow", lambda: OpenAI(api_key="sk", flow="magic"), ValueError, ("flow='magic'",)),
    ("ephemeral TTL too short", lambda: OpenAI(api_key="sk", ttl=5), ValueError, ("ttl=5", "7200")),
    ("sideband on beta", lambda: rt.Realtime(provider=Beta(api_key="sk"), sideband=True), ValueError, ("sideband",)),
    ("changing the model", lambda: connected().update(model="gpt-realtime-mini"), ValueError, ("model cannot change",)),
    ("empty update", lambda: connected().update(), ValueError, ("at least one setting",)),
    ("bad voice in update", lambda: connected().update(voice="bob"), ValueError, ("voice='bob'",)),
    ("unknown client event", lambda: connected().send({"type": "bogus"}), ValueError, ("'bogus'", "response.create")),
    ("event that is not a dict", lambda: connected().send("hello"), TypeError, ("'type' string",)),
    (
        "session.update without type",
        lambda: connected().send({"type": "session.update", "session": {}}),
        ValueError,
        ("'type': 'realtime'",),
    ),
    ("say nothing", lambda: connected().say(""), ValueError, ("say() needs some text",)),
    ("callback not callable", lambda: connected().on("response.done", 5), TypeError, ("callable",)),
    ("send before connecting", lambda: rt.Realtime(provider=Local()).say("hi"), RuntimeError, ("Press Connect",)),
    (
        "wait_for without sideband",
        lambda: run(rt.Realtime(provider=Local()).wait_for("response.done")),
        RuntimeError,
        ("sideband=True",),
    ),
    (
        "unreachable host",
        lambda: run(
            OpenAI(api_key="sk", base_url=f"http://127.0.0.1:{free_port()}/v1").connect("v=0", SessionConfig())
        ),
        ConnectError,
        ("Could not reach", "Check the network and base_url"),
    ),
    # -- update() applies the constructor's rules to the merged settings ---------------------
    (
        "VAD setting in update without VAD",
        lambda: in_state("connected", turn_detection=None).update(threshold=0.5),
        ValueError,
        ("threshold", "turn_detection=None", "update(turn_detection='server_vad', threshold=0.5)"),
    ),
    (
        "eagerness in update without VAD",
        lambda: in_state("connected", turn_detection=None).update(eagerness="low"),
        ValueError,
        ("eagerness", "turn_detection=None"),
    ),
    (
        "eagerness in update with server VAD",
        lambda: connected().update(eagerness="low"),
        ValueError,
        ("eagerness", "semantic_vad"),
    ),
    ("voice None in update", lambda: connected().update(voice=None), ValueError, ("voice=None", "'marin'")),
    ("instructions None in update", lambda: connected().update(instructions=None), ValueError, ("instructions=''",)),
    ("tools None in update", lambda: connected().update(tools=None), ValueError, ("tools=None", "tools=[]")),
    (
        "tool_choice None in update",
        lambda: connected().update(tool_choice=None),
        ValueError,
        ("tool_choice=None", "'auto'"),
    ),
    ("speed None in update", lambda: connected().update(speed=None), ValueError, ("speed=None", "0.25 to 1.5")),
    (
        "tokens None in update",
        lambda: connected().update(max_output_tokens=None),
        ValueError,
        ("max_output_tokens=None", "'inf'"),
    ),
    (
        "modalities None in update",
        lambda: connected().update(output_modalities=None),
        ValueError,
        ("output_modalities=None", "'text'"),
    ),
    ("tracing None in update", lambda: connected().update(tracing=None), ValueError, ("tracing=None", "'auto'")),
    (
        "threshold None in update",
        lambda: connected().update(threshold=None),
        ValueError,
        ("threshold=None", "leave it out"),
    ),
    ("model None in update", lambda: connected().update(model=None), ValueError, ("model cannot change",)),
    ("unknown setting in update", lambda: connected().update(temperature=0.7), TypeError, ("'temperature'", "voice")),
    ("bad threshold in update", lambda: connected().update(threshold=2), ValueError, ("threshold=2", "from 0 to 1")),
    ("bad speed in update", lambda: connected().update(speed=math.nan), ValueError, ("speed=nan", "0.25")),
    (
        "removing the tool tool_choice names",
        lambda: connected(tools=[weather], tool_choice={"type": "function", "name": "weather"}).update(tools=[]),
        ValueError,
        ("tool_choice=", "'weather'", "add the tool"),
    ),
    (
        "tool_choice in update naming no tool",
        lambda: connected(tools=[weather]).update(tool_choice={"type": "function", "name": "x"}),
        ValueError,
        ("'x'", "'weather'"),
    ),
    (
        "huge instructions in update",
        lambda: connected().update(instructions="x" * 1_000_000),
        ValueError,
        ("1,000,000 bytes", f"{MAX_INSTRUCTIONS_BYTES:,} bytes"),
    ),
    # -- numbers: NaN, infinities, bools, text, integers too big for a float ---------------
    ("threshold NaN", realtime(threshold=math.nan), ValueError, ("threshold=nan", "from 0 to 1")),
    ("threshold huge integer", realtime(threshold=10**400), ValueError, ("threshold=1000", "from 0 to 1")),
    ("threshold as a bool", realtime(threshold=True), ValueError, ("threshold=True",)),
    ("speed NaN", realtime(speed=math.nan), ValueError, ("speed=nan",)),
    ("speed infinite", realtime(speed=math.inf), ValueError, ("speed=inf",)),
    ("speed as text", realtime(speed="fast"), ValueError, ("speed='fast'",)),
    ("max tokens huge integer", realtime(max_output_tokens=10**400), ValueError, ("max_output_tokens=1000", "4096")),
    ("max tokens as a bool", realtime(max_output_tokens=True), ValueError, ("max_output_tokens=True",)),
    ("max tokens float", realtime(max_output_tokens=100.5), ValueError, ("an integer",)),
    ("prefix padding huge", realtime(prefix_padding_ms=10**400), ValueError, ("prefix_padding_ms=1000",)),
    ("silence NaN", realtime(silence_duration_ms=math.nan), ValueError, ("silence_duration_ms=nan",)),
    ("idle timeout too long", realtime(idle_timeout_ms=60_000), ValueError, ("idle_timeout_ms=60000", "30000")),
    (
        "create_response as text",
        realtime(create_response="yes"),
        ValueError,
        ("create_response='yes'", "True or False"),
    ),
    ("interrupt_response as 1", realtime(interrupt_response=1), ValueError, ("interrupt_response=1", "True or False")),
    ("budget NaN", realtime(budget_usd=math.nan), ValueError, ("budget_usd=nan", "positive amount")),
    ("budget infinite", realtime(budget_usd=math.inf), ValueError, ("budget_usd=inf", "positive amount")),
    ("budget negative", realtime(budget_usd=-1), ValueError, ("budget_usd=-1", "positive amount")),
    ("budget zero", realtime(budget_usd=0), ValueError, ("budget_usd=0", "positive amount")),
    ("budget as a bool", realtime(budget_usd=True), ValueError, ("budget_usd=True",)),
    ("budget as text", realtime(budget_usd="0.5"), ValueError, ("budget_usd='0.5'", "e.g. 0.50")),
    ("budget huge integer", realtime(budget_usd=10**400), ValueError, ("budget_usd=1000",)),
    ("price model not text", realtime(price_model=5), ValueError, ("price_model=5", "'gpt-realtime'")),
    (
        "budget with unpriced model",
        realtime(model="my-deployment", budget_usd=1),
        KeyError,
        ("'my-deployment'", "price_model"),
    ),
    # -- other constructor arguments -------------------------------------------------------
    ("sideband not a bool", realtime(sideband="yes"), ValueError, ("sideband='yes'", "True or False")),
    ("presenter not a bool", realtime(presenter=1), ValueError, ("presenter=1", "True or False")),
    ("autosave not a path", realtime(autosave=5), TypeError, ("autosave=5", ".jsonl")),
    (
        "autosave in a missing folder",
        realtime(autosave="/nonexistent-folder/log.jsonl"),
        ValueError,
        ("/nonexistent-folder/log.jsonl", "existing folder"),
    ),
    ("provider of wrong type", lambda: rt.Realtime(provider=5), ValueError, ("provider=5", "Provider instance")),
    ("model not text", realtime(model=5), ValueError, ("model=5", "'gpt-realtime'")),
    (
        "voice None is fine but a dict needs an id",
        realtime(voice={"name": "x"}),
        ValueError,
        ("voice={'name': 'x'}", "'id'"),
    ),
    (
        "voice dict with extra keys",
        realtime(voice={"id": "voice_1", "x": 1}),
        ValueError,
        ("voice=", "{'id': 'voice_...'}"),
    ),
    ("voice id empty", realtime(voice={"id": ""}), ValueError, ("voice={'id': ''}",)),
    ("empty modalities", realtime(output_modalities=[]), ValueError, ("output_modalities=[]", "'audio' or 'text'")),
    ("modality of wrong type", realtime(output_modalities=[5]), ValueError, ("output_modalities=5",)),
    ("modalities as a set", realtime(output_modalities={"audio"}), ValueError, ("output_modalities={'audio'}",)),
    (
        "transcription model None",
        realtime(transcription={"model": None}),
        ValueError,
        ("transcription model=None", "whisper-1"),
    ),
    ("transcription language number", realtime(transcription={"language": 5}), ValueError, ("language=5", "'en'")),
    ("transcription prompt number", realtime(transcription={"prompt": 5}), ValueError, ("prompt=5", "a string")),
    ("transcription as a list", realtime(transcription=["whisper-1"]), ValueError, ("transcription=['whisper-1']",)),
    (
        "turn detection type unknown",
        realtime(turn_detection={"type": "push"}),
        ValueError,
        ("turn_detection type='push'",),
    ),
    ("turn detection type None", realtime(turn_detection={"type": None}), ValueError, ("turn_detection type=None",)),
    (
        "turn detection as a list",
        realtime(turn_detection=["server_vad"]),
        ValueError,
        ("turn_detection=['server_vad']",),
    ),
    ("noise reduction number", realtime(noise_reduction=5), ValueError, ("noise_reduction=5", "'far_field'")),
    ("tracing as text", realtime(tracing="on"), ValueError, ("tracing='on'", "'auto'")),
    ("tracing unknown key", realtime(tracing={"name": "x"}), ValueError, ("'name'", "workflow_name")),
    ("tracing metadata not a dict", realtime(tracing={"metadata": 5}), ValueError, ("tracing['metadata']=5", "dict")),
    (
        "1 MB instructions",
        realtime(instructions="x" * 1_000_000),
        ValueError,
        ("1,000,000 bytes", f"the limit is {MAX_INSTRUCTIONS_BYTES:,} bytes", "Shorten"),
    ),
    (
        "instructions over the limit in UTF-8",
        realtime(instructions="é" * (MAX_INSTRUCTIONS_BYTES // 2 + 1)),
        ValueError,
        (f"{MAX_INSTRUCTIONS_BYTES + 2:,} bytes", "UTF-8"),
    ),
    (
        "update too large for a data-channel message",
        lambda: connected().update(tools=[tool_def(name=f"t{i}", description="d" * 30_000) for i in range(10)]),
        ValueError,
        ("session.update is", "bytes as JSON", "the limit is", "tool descriptions"),
    ),
    # -- tools: functions --------------------------------------------------------------------
    ("positional-only parameter", realtime(tools=[positional_only]), TypeError, ("'city'", "positional-only", "'/'")),
    ("*args parameter", realtime(tools=[many]), TypeError, ("*cities", "name every parameter")),
    ("**kwargs parameter", realtime(tools=[loose]), TypeError, ("**options", "name every parameter")),
    ("generator function", realtime(tools=[forecast]), TypeError, ("forecast", "generator", "Return a list")),
    ("async generator function", realtime(tools=[stream]), TypeError, ("stream", "generator")),
    ("non-ASCII function name", realtime(tools=[météo]), TypeError, ("'météo'", "1-64", "Rename")),
    ("function name too long", realtime(tools=[long_named]), TypeError, (LONG_NAME, "1-64")),
    ("a class as a tool", realtime(tools=[NotAFunction]), TypeError, ("class NotAFunction", "def")),
    ("a builtin as a tool", realtime(tools=[len]), TypeError, ("len", "parameter")),
    ("a lambda as a tool", realtime(tools=[lambda city: city]), TypeError, ("lambda", "def")),
    ("untyped parameter", realtime(tools=[untyped]), TypeError, ("'city'", "type hint")),
    ("bare set parameter", realtime(tools=[takes_a_set]), TypeError, ("'cities'", "list[str]")),
    ("bytes parameter", realtime(tools=[takes_bytes]), TypeError, ("'data'", "bytes", "cannot be described")),
    ("tool registered twice", realtime(tools=[weather, rt.Tool(weather)]), ValueError, ("'weather'", "its own name")),
    # -- tools: dicts -------------------------------------------------------------------------
    ("tool name empty", realtime(tools=[tool_def(name="")]), ValueError, ("tools[0].name=''", "1-64")),
    ("tool name with a space", realtime(tools=[tool_def(name="get weather")]), ValueError, ("'get weather'", "1-64")),
    ("tool name too long", realtime(tools=[tool_def(name="a" * 65)]), ValueError, ("a" * 65, "1-64")),
    ("tool name not text", realtime(tools=[tool_def(name=5)]), ValueError, ("tools[0].name=5",)),
    (
        "tool with unknown key",
        realtime(tools=[tool_def(strict=True)]),
        ValueError,
        ("'strict'", "description and parameters"),
    ),
    ("tool description number", realtime(tools=[tool_def(description=5)]), ValueError, ("description=5", "a string")),
    (
        "tool parameters as text",
        realtime(tools=[tool_def(parameters="x")]),
        ValueError,
        ("parameters='x'", "JSON schema"),
    ),
    (
        "tool parameters an array",
        realtime(tools=[tool_def(parameters={"type": "array"})]),
        ValueError,
        ("parameters=", "'object'"),
    ),
    ("second tool bad", realtime(tools=[weather, tool_def(name="")]), ValueError, ("tools[1].name=''",)),
    ("tool of unknown type", realtime(tools=[{"type": "web_search"}]), ValueError, ("'web_search'", "'function'")),
    (
        "mcp tool without label",
        realtime(tools=[{"type": "mcp", "server_url": "https://x"}]),
        ValueError,
        ("server_label",),
    ),
    ("mcp tool without server", realtime(tools=[{"type": "mcp", "server_label": "x"}]), ValueError, ("server_url",)),
    ("tools item None", realtime(tools=[None]), ValueError, ("tools[0]=None",)),
    (
        "tool schema with NaN",
        realtime(tools=[tool_def(parameters={"type": "object", "properties": {"x": {"maximum": math.nan}}})]),
        ValueError,
        ("cannot be sent as JSON", "finite numbers"),
    ),
    (
        "tool schema with a set",
        realtime(tools=[tool_def(parameters={"type": "object", "required": {"x"}})]),
        ValueError,
        ("cannot be sent as JSON", "set"),
    ),
    # -- tool_choice ---------------------------------------------------------------------------
    (
        "tool_choice naming a tool as text",
        realtime(tools=[weather], tool_choice="weather"),
        ValueError,
        ("tool_choice='weather'", "{'type': 'function', 'name': 'weather'}"),
    ),
    (
        "tool_choice naming no tool",
        realtime(tools=[weather], tool_choice="get_weather"),
        ValueError,
        ("'get_weather'", "'auto'"),
    ),
    (
        "tool_choice dict naming no tool",
        realtime(tools=[weather], tool_choice={"type": "function", "name": "x"}),
        ValueError,
        ("'name': 'x'", "'weather'"),
    ),
    (
        "tool_choice dict without tools",
        realtime(tool_choice={"type": "function", "name": "x"}),
        ValueError,
        ("'x'", "add the tool"),
    ),
    (
        "tool_choice dict without name",
        realtime(tools=[weather], tool_choice={"type": "function"}),
        ValueError,
        ("'weather'",),
    ),
    (
        "tool_choice dict of unknown type",
        realtime(tool_choice={"type": "auto"}),
        ValueError,
        ("'type': 'auto'", "'function'"),
    ),
    (
        "tool_choice mcp unknown label",
        realtime(tool_choice={"type": "mcp", "server_label": "x"}),
        ValueError,
        ("server_label",),
    ),
    ("tool_choice number", realtime(tool_choice=5), ValueError, ("tool_choice=5", "'required'")),
    # -- rt.Tool --------------------------------------------------------------------------------
    ("Tool timeout NaN", lambda: rt.Tool(weather, timeout=math.nan), TypeError, ("timeout=nan", "None for no limit")),
    (
        "Tool timeout infinite",
        lambda: rt.Tool(weather, timeout=math.inf),
        TypeError,
        ("timeout=inf", "None for no limit"),
    ),
    ("Tool timeout huge integer", lambda: rt.Tool(weather, timeout=10**400), TypeError, ("timeout=1000", "a day")),
    ("Tool timeout over a day", lambda: rt.Tool(weather, timeout=100_000), TypeError, ("timeout=100000", "86,400")),
    ("Tool timeout zero", lambda: rt.Tool(weather, timeout=0), TypeError, ("timeout=0", "above 0")),
    ("Tool timeout negative", lambda: rt.Tool(weather, timeout=-1), TypeError, ("timeout=-1",)),
    ("Tool timeout as a bool", lambda: rt.Tool(weather, timeout=True), TypeError, ("timeout=True",)),
    ("Tool timeout as text", lambda: rt.Tool(weather, timeout="5"), TypeError, ("timeout='5'",)),
    (
        "Tool approval as text",
        lambda: rt.Tool(weather, needs_approval="yes"),
        TypeError,
        ("needs_approval='yes'", "True or False"),
    ),
    ("Tool of a number", lambda: rt.Tool(5), TypeError, ("named function", "5")),
    ("Tool of a generator", lambda: rt.Tool(forecast), TypeError, ("generator",)),
    ("s.tool with NaN timeout", lambda: connected().tool(weather, timeout=math.nan), TypeError, ("timeout=nan",)),
    ("s.tool of a number", lambda: connected().tool(5), TypeError, ("named function",)),
    # -- Faults ---------------------------------------------------------------------------------
    ("Faults slow answer NaN", lambda: Faults(slow_answer_s=math.nan), ValueError, ("slow_answer_s=nan", "seconds")),
    ("Faults slow answer infinite", lambda: Faults(slow_answer_s=math.inf), ValueError, ("slow_answer_s=inf", "3600")),
    ("Faults slow answer as a bool", lambda: Faults(slow_answer_s=True), ValueError, ("slow_answer_s=True",)),
    ("Faults slow response NaN", lambda: Faults(slow_response_s=math.nan), ValueError, ("slow_response_s=nan",)),
    (
        "Faults slow response huge",
        lambda: Faults(slow_response_s=1e308),
        ValueError,
        ("slow_response_s=1e+308", "an hour"),
    ),
    (
        "Faults expiry as text",
        lambda: Faults(session_expired_after_s="5"),
        ValueError,
        ("session_expired_after_s='5'", "None"),
    ),
    (
        "Faults expiry NaN",
        lambda: Faults(session_expired_after_s=math.nan),
        ValueError,
        ("session_expired_after_s=nan",),
    ),
    ("Faults expiry negative", lambda: Faults(session_expired_after_s=-1), ValueError, ("session_expired_after_s=-1",)),
    (
        "Faults expiry as a bool",
        lambda: Faults(session_expired_after_s=True),
        ValueError,
        ("session_expired_after_s=True",),
    ),
    (
        "Faults malformed answer as text",
        lambda: Faults(malformed_answer="no"),
        ValueError,
        ("malformed_answer='no'", "True or False"),
    ),
    ("Faults close as 1", lambda: Faults(close_channel_mid_response=1), ValueError, ("close_channel_mid_response=1",)),
    ("Faults malformed event None", lambda: Faults(malformed_event=None), ValueError, ("malformed_event=None",)),
    ("Faults silent audio as text", lambda: Faults(silent_audio="yes"), ValueError, ("silent_audio='yes'",)),
    ("Faults status as text", lambda: Faults(rest_status="500"), ValueError, ("rest_status='500'", "401")),
    ("Faults status as float", lambda: Faults(rest_status=500.0), ValueError, ("rest_status=500.0",)),
    ("Faults set later", lambda: setattr(Faults(), "slow_answer_s", math.nan), ValueError, ("slow_answer_s=nan",)),
    # -- commands with no call, or after one ---------------------------------------------------
    (
        "say after a failed connect",
        lambda: in_state("error", "Could not reach the emulator (ConnectError).").say("hi"),
        RuntimeError,
        ("Cannot say 'hi'", "the last connect failed (Could not reach the emulator (ConnectError))", "press Connect"),
    ),
    (
        "say after a failed connect without reason",
        lambda: in_state("error").say("hi"),
        RuntimeError,
        ("no reason was given",),
    ),
    (
        "say after hanging up",
        lambda: in_state("closed").say("hi"),
        RuntimeError,
        ("the call has ended", "start a new one"),
    ),
    (
        "send after hanging up",
        lambda: in_state("closed").send({"type": "response.create"}),
        RuntimeError,
        ("'response.create'", "has ended"),
    ),
    ("interrupt with no call", lambda: in_state("idle").interrupt(), RuntimeError, ("Cannot interrupt", "no call yet")),
    ("say a number", lambda: connected().say(5), ValueError, ("say() needs some text", "5")),
    ("say only spaces", lambda: connected().say("   "), ValueError, ("say() needs some text",)),
    ("send None", lambda: connected().send(None), TypeError, ("'type' string", "None")),
    ("send a type that is not text", lambda: connected().send({"type": 5}), TypeError, ("'type' string",)),
    (
        "send a server event",
        lambda: connected().send({"type": "response.done"}),
        ValueError,
        ("'response.done' is not a client event",),
    ),
    ("mute with text", lambda: connected().mute("no"), ValueError, ("mute('no')", "mute(False)")),
    # -- callbacks and waiting -------------------------------------------------------------------
    (
        "on a beta name",
        lambda: connected().on("response.text.delta", print),
        ValueError,
        ("beta", "'response.output_text.delta'"),
    ),
    ("on a type that is not text", lambda: connected().on(5, print), TypeError, ("event type string", "5")),
    ("off a type that is not text", lambda: connected().off(5), TypeError, ("event type string",)),
    ("off a callback that is not callable", lambda: connected().off("response.done", 5), TypeError, ("off()", "5")),
    (
        "wait_for NaN timeout",
        lambda: run(connected().wait_for("response.done", timeout=math.nan)),
        ValueError,
        ("timeout=nan", "above 0"),
    ),
    (
        "wait_for negative timeout",
        lambda: run(connected().wait_for("response.done", timeout=-1)),
        ValueError,
        ("timeout=-1",),
    ),
    (
        "wait_for timeout as text",
        lambda: run(connected().wait_for("response.done", timeout="5")),
        ValueError,
        ("timeout='5'",),
    ),
    (
        "wait_for predicate not callable",
        lambda: run(connected().wait_for("response.done", predicate=5)),
        TypeError,
        ("predicate=5", "function of the event"),
    ),
    ("wait_for a type that is not text", lambda: run(connected().wait_for(5)), TypeError, ("event type string", "5")),
    (
        "wait_for with sideband before connecting",
        lambda: run(rt.Realtime(provider=Local(), sideband=True).wait_for("response.done")),
        RuntimeError,
        ("wait_for()", "no call yet", "Press Connect"),
    ),
    # -- approvals -------------------------------------------------------------------------------
    (
        "approve with nothing waiting",
        lambda: connected().approve(),
        ValueError,
        ("No call waits for approval", "needs_approval=True"),
    ),
    ("deny with nothing waiting", lambda: connected().deny(), ValueError, ("No call waits for approval",)),
    ("approve an unknown call", lambda: connected().approve("call_9"), ValueError, ("'call_9'", "Waiting: none")),
    ("approve a number", lambda: connected().approve(5), TypeError, ("call_id=5", "'call_...'")),
    (
        "deny with a reason that is not text",
        lambda: connected().deny("call_1", reason=5),
        TypeError,
        ("reason=5", "a string"),
    ),
    # -- analysis ----------------------------------------------------------------------------------
    ("transcript of a list", lambda: analysis.transcript([]), TypeError, ("transcript()", "rt.EventLog", "list")),
    ("turns of None", lambda: analysis.turns(None), TypeError, ("turns()", "NoneType")),
    ("usage of a file name", lambda: analysis.usage("log.jsonl"), TypeError, ("EventLog.load(path)",)),
    ("usage total as text", lambda: analysis.usage(EventLog(), total="no"), TypeError, ("total='no'", "True")),
    (
        "cost of an empty log",
        lambda: analysis.cost(EventLog()),
        ValueError,
        ("names no model", "cost(model='gpt-realtime')"),
    ),
    ("cost with a model number", lambda: analysis.cost(EventLog(), model=5), TypeError, ("model=5", "'gpt-realtime'")),
    (
        "cost of an unpriced model",
        lambda: analysis.cost(EventLog(), model="x"),
        KeyError,
        ("No price for model 'x'", "gpt-realtime-mini"),
    ),
    (
        "cost with bad prices",
        lambda: analysis.cost(log_of(), model="gpt-realtime", prices={"gpt-realtime": 5}),
        TypeError,
        ("prices=", "Prices("),
    ),
    ("prices for a number", lambda: analysis.prices_for(5), TypeError, ("model=5",)),
]


@pytest.mark.parametrize(("name", "action", "error", "says"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(name, action, error, says):
    with pytest.raises(error) as info:
        action()
    message = str(info.value)
    for words in says:
        assert words in message, f"{name}: {message!r} does not mention {words!r}"
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__, f"{name}: chained internal error"


def test_refused_sdp_gives_the_servers_message(emulator):
    provider = OpenAI(api_key=emulator.api_key, base_url=emulator.base_url)
    with pytest.raises(ConnectError) as info:
        run(provider.connect("this is not an SDP offer", SessionConfig()))
    assert "HTTP 400" in str(info.value)
    assert "Invalid SDP offer" in str(info.value)


def test_wrong_key_says_to_check_the_key(emulator):
    provider = OpenAI(api_key="sk-wrong", base_url=emulator.base_url)
    with pytest.raises(ConnectError, match=r"HTTP 401: .*Check the API key"):
        run(provider.connect("v=0", SessionConfig()))


def test_there_are_at_least_150_cases():
    assert len(CASES) >= 150
    assert len({c[0] for c in CASES}) == len(CASES), "every case has its own name"


def test_the_event_types_are_the_sdks():
    from openai.types.realtime.realtime_server_event import RealtimeServerEvent

    union = typing.get_args(RealtimeServerEvent)
    if typing.get_origin(union[0]) is typing.Union:  # Annotated[Union[...], discriminator]
        union = typing.get_args(union[0])
    sdk = {name for model in union for name in typing.get_args(model.model_fields["type"].annotation)}
    assert sdk == set(protocol.SERVER_EVENTS)


def test_instructions_at_the_limit_reach_the_emulator(emulator, rtc_client):
    # The limit is below the emulator's 1 MiB body limit: the largest allowed session connects.
    config = SessionConfig(instructions="x" * MAX_INSTRUCTIONS_BYTES)
    answer = run(OpenAI(api_key=emulator.api_key, base_url=emulator.base_url).connect(rtc_client.offer(), config))
    assert isinstance(answer, CallAnswer)
    rtc_client.accept(answer.sdp)
    assert len(rtc_client.wait_for("session.created")["session"]["instructions"]) == MAX_INSTRUCTIONS_BYTES


def test_analysis_reads_foreign_events_as_far_as_they_go():
    # A response.done without a response, and a session without a model: no internal error.
    log = log_of({"type": "response.done"}, {"type": "session.created", "session": "x"})
    assert analysis.usage(log)["response_id"].tolist() == [None, "total"]
    assert analysis.turns(log).empty
    assert analysis.transcript(log).empty


@pytest.mark.parametrize(
    ("type_", "says"),
    [("respones.done", "did you mean 'response.done'"), ("hello", "'*'")],
)
def test_an_unknown_event_type_is_warned_about_and_still_registered(type_, says):
    widget = connected()
    heard: list[dict] = []
    with pytest.warns(UserWarning, match=says):
        widget.on(type_, heard.append)
    widget._ingest({"type": type_, "event_id": "event_1"}, "server")
    assert heard == [{"type": type_, "event_id": "event_1"}]


def test_a_large_session_given_at_connect_is_fine():
    """The session given at connect goes over HTTPS, not the data channel: no message limit."""
    widget = rt.Realtime(provider=Local(), tools=[tool_def(name=f"t{i}", description="d" * 30_000) for i in range(10)])
    assert len(widget.config.tools) == 10
