"""GPT-Live session configuration: conformance with the openai SDK's Live types, bad input, updates.

The SDK's param TypedDicts are the request shapes. They accept unknown keys by default and
validate ``Iterable`` fields lazily, so :func:`assert_create_body` wraps them in a model that
forbids extra keys (a setting every nested TypedDict inherits), consumes the lazy iterators,
and checks nothing was dropped or coerced on the way.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

import pytest
from openai.types.live.built_in_voice import BuiltInVoice
from openai.types.live.client_event_param import ClientEventParam
from openai.types.live.connect_client_event import ConnectClientEvent
from openai.types.live.connect_server_event import ConnectServerEvent
from openai.types.live.live_create_params import LiveCreateParams
from openai.types.live.media_session_config_param import MediaSessionConfigParam
from openai.types.live.responses_delegation_config_param import ResponsesDelegationConfigParam, Tool, ToolMcp
from pydantic import BaseModel, ConfigDict, TypeAdapter

from rt_widget import tools as rt_tools
from rt_widget.config import ConfigError
from rt_widget.gptlive import config as live
from rt_widget.gptlive import delegation as backend
from rt_widget.gptlive.config import ClientDelegation, DecisionsDelegation, LiveConfig, ResponsesDelegation
from tests.conformance import unknown_fields

SECRET = "sk-live-test-0123456789"


class _CreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: LiveCreateParams


class _ClientEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: ClientEventParam


_CONNECT_CLIENT = TypeAdapter(ConnectClientEvent)


def _consume(value: Any) -> Any:
    """``value`` with pydantic's lazy iterators run (validating their items) and made lists."""
    if isinstance(value, dict):
        return {k: _consume(v) for k, v in value.items()}
    if isinstance(value, list | tuple | Iterator):
        return [_consume(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return [_plain(v) for v in value] if isinstance(value, list | tuple) else value


def assert_create_body(session: dict[str, Any]) -> None:
    """``{session, transport}`` is a ``POST /v1/live/sessions`` body the SDK types exactly."""
    body = {"session": session, "transport": {"type": "webrtc", "sdp": "v=0\r\n"}}
    parsed = _consume(_CreateBody.model_validate({"body": body}).body)
    assert parsed == _plain(body)  # nothing dropped by a union branch, nothing coerced


def assert_client_event(event: dict[str, Any]) -> None:
    """``event`` is a Live client event: as the SDK's param TypedDict and its pydantic model."""
    assert _consume(_ClientEvent.model_validate({"event": event}).event) == _plain(event)
    model = _CONNECT_CLIENT.validate_python(event)
    assert type(model).__name__ == "SessionUpdateEvent"
    assert not unknown_fields(model, event["type"]), unknown_fields(model, event["type"])


def weather(city: str, unit: str = "celsius") -> str:
    """The weather in a city.

    Parameters
    ----------
    city:
        The city's name.
    unit:
        celsius or fahrenheit.
    """
    return f"21 {unit} in {city}"


def book(day: str) -> str:
    """Book a table."""
    return day


MCP = {"type": "mcp", "server_label": "crm", "server_url": "https://mcp.example", "authorization": SECRET}
QUESTIONS = [
    {"type": "predicate", "instructions": "Does the caller ask for a person?", "name": "escalate"},
    {"type": "choice", "instructions": "Which department?", "choices": [{"value": "sales"}, {"value": True}]},
    {
        "type": "score",
        "instructions": [
            {"type": "input_text", "text": "How upset is the caller?"},
            {"type": "input_image", "image_url": "https://example.com/x.png", "detail": "low"},
            {"type": "input_json", "data": [{"scale": 3}]},
        ],
        "levels": [{"label": "calm", "description": "no distress"}, {"label": "angry"}],
    },
]
TRIGGER = {"type": "decisions", "event_type": "session.input_transcript.delta", "decisions": {"questions": QUESTIONS}}
OUT_TRIGGER = {**TRIGGER, "event_type": "session.output_transcript.delta"}
RESPONSES = ResponsesDelegation(
    model="gpt-5.5",
    instructions="Use the tools; answer in one sentence.",
    tools=(weather, rt_tools.Tool(book, needs_approval=True), {"type": "web_search"}, MCP),
    tool_choice="auto",
    reasoning="low",
    max_output_tokens=2048,
    parallel_tool_calls=True,
    service_tier="priority",
    text={"verbosity": "low"},
    acknowledgement_delay_ms=300,
)

VALID: dict[str, dict[str, Any]] = {
    "defaults": {},
    "model, voice, text": {"model": "gpt-live-1.1", "voice": "cedar", "instructions": "Be warm.", "store": True},
    "future model, custom voice": {"model": "gpt-live-2-preview", "voice": {"id": "voice_abc123"}},
    "input short and long": {
        "input": [
            {"role": "developer", "content": "The caller is Ada."},
            {"role": "user", "content": [{"text": "Hi"}]},
            {"role": "assistant", "content": "Hello Ada!"},
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_1",
                "status": "completed",
                "content": [{"type": "text", "text": "How can I help?"}],
            },
        ]
    },
    "client delegation": {"delegation": "client", "safety_identifier": "user-42"},
    "client delegation, delay": {"delegation": ClientDelegation(acknowledgement_delay_ms=250)},
    "responses delegation": {"delegation": RESPONSES},
    "responses as the API's dict": {
        "delegation": {
            "type": "responses",
            "acknowledgement_delay_ms": 0,
            "responses": {
                "model": "gpt-5.5",
                "tools": [
                    {"type": "function", "name": "lookup", "description": "Find.", "parameters": None, "strict": True},
                    {"type": "shell", "environment": {"type": "container_auto", "memory_limit": "4g"}},
                    {"type": "file_search"},
                ],
                "tool_choice": {"type": "function", "name": "lookup"},
                "reasoning": {"effort": "minimal", "summary": "auto"},
            },
        }
    },
    "allowed_tools choice": {
        "delegation": ResponsesDelegation(
            model="gpt-5.5",
            tools=[weather, MCP, {"type": "code_interpreter"}],
            tool_choice={
                "type": "allowed_tools",
                "mode": "required",
                "tools": [
                    {"type": "function", "name": "weather"},
                    {"type": "mcp", "server_label": "crm", "name": "find_customer"},
                    {"type": "code_interpreter"},
                ],
            },
        )
    },
    "decisions delegation": {"delegation": DecisionsDelegation(model="gpt-decision-1", questions=QUESTIONS)},
    "triggers": {"triggers": [TRIGGER, OUT_TRIGGER]},
    "idle pause": {"idle_timeout_s": 60, "wake_policy": "speech"},
    "idle pause, threshold": {"idle_timeout_s": 5, "wake_policy": {"type": "speech", "vad_threshold": 0.7}},
    "data channel lists": {
        "data_channel": {
            "allowed_client_events": ["session.input_audio.mute", "session.input_audio.unmute", "session.close"],
            "allowed_server_events": [
                "session.started",
                "session.output_transcript.delta",
                {"type": "response.event", "response_event": "response.output_item.done"},
            ],
        }
    },
    "data channel all / none": {"data_channel": {"allowed_client_events": [], "allowed_server_events": "all"}},
    "everything": {
        "model": "gpt-live-1",
        "instructions": "You are a concierge.",
        "voice": "marin",
        "input": [{"role": "user", "content": "Hello"}],
        "delegation": RESPONSES,
        "triggers": [TRIGGER],
        "idle_timeout_s": 120,
        "wake_policy": "speech",
        "data_channel": {"allowed_client_events": "all"},
        "store": False,
        "safety_identifier": "hash-of-user",
    },
}


# -- (a) conformance -------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", VALID.values(), ids=VALID.keys())
def test_session_is_what_the_sdk_types(kwargs: dict[str, Any]) -> None:
    session = LiveConfig.from_kwargs(**kwargs).to_session()
    assert_create_body(session)
    assert session["model"] == kwargs.get("model", "gpt-live-1")


def test_the_conformance_check_can_fail() -> None:
    good = LiveConfig.from_kwargs(**VALID["everything"]).to_session()
    assert_create_body(good)
    for broken in (
        {**good, "voice": "marin"},  # voice belongs in audio.output
        {**good, "input": [{"role": "user", "content": [{"text": "x", "kind": "y"}]}]},
        {
            **good,
            "delegation": {"type": "responses", "responses": {"model": "m", "tools": [{"type": "web_search", "x": 1}]}},
        },
        {**good, "client": {"data_channel": {"allowed_client_events": ["a", 3]}}},
        {**good, "idle_timeout_s": "soon"},
    ):
        with pytest.raises(ValueError, match="validation error"):
            assert_create_body(broken)


def test_to_session_shapes_and_tools() -> None:
    config = LiveConfig.from_kwargs(voice="ash", delegation=RESPONSES, data_channel={"allowed_server_events": []})
    session = config.to_session()
    assert session["audio"] == {"output": {"voice": "ash"}}
    assert session["client"] == {"data_channel": {"allowed_server_events": []}}
    wire = session["delegation"]
    assert wire["type"] == "responses"
    assert wire["acknowledgement_delay_ms"] == 300
    assert wire["responses"]["reasoning"] == {"effort": "low"}
    names = [t.get("name", t["type"]) for t in wire["responses"]["tools"]]
    assert names == ["weather", "book", "web_search", "mcp"]
    schema = wire["responses"]["tools"][0]["parameters"]
    assert schema["required"] == ["city"]
    assert schema["properties"]["city"]["description"] == "The city's name."
    assert [t.name for t in config.delegation.python_tools] == ["weather", "book"]  # type: ignore[union-attr]
    assert config.delegation.python_tools[1].needs_approval  # type: ignore[union-attr]
    session["delegation"]["responses"]["tools"].clear()  # the config keeps what it checked
    assert len(config.to_session()["delegation"]["responses"]["tools"]) == 4


@pytest.mark.parametrize(
    "changes",
    [
        {"delegation": ResponsesDelegation(model="gpt-5.5-mini", tools=[book], tool_choice="required")},
        {"delegation": {"type": "responses", "responses": {"model": "gpt-5.5", "tools": [MCP]}}},
        {"triggers": []},
        {"triggers": [OUT_TRIGGER]},
        {"delegation": RESPONSES, "triggers": [TRIGGER]},
    ],
)
def test_update_event_is_a_live_client_event(changes: dict[str, Any]) -> None:
    config = LiveConfig.from_kwargs(delegation=ResponsesDelegation(model="gpt-5.5"), triggers=[TRIGGER])
    event = config.update_event(**changes)
    assert_client_event(event)
    assert event["type"] == "session.update"
    assert set(event["session"]) == set(changes)


def test_update_event_for_client_and_decisions_delegation() -> None:
    client = LiveConfig()
    event = client.update_event(delegation=ClientDelegation(acknowledgement_delay_ms=800))
    assert event == {
        "type": "session.update",
        "session": {"delegation": {"type": "client", "acknowledgement_delay_ms": 800}},
    }
    assert_client_event(event)
    decisions = LiveConfig(delegation=DecisionsDelegation(model="gpt-decision-1", questions=QUESTIONS[:1]))
    event = decisions.update_event(delegation=DecisionsDelegation(model="gpt-decision-1", questions=QUESTIONS))
    assert event["session"]["delegation"]["decisions"]["questions"] == QUESTIONS
    assert_client_event(event)


def test_names_and_values_match_the_sdk() -> None:
    """The module's lists are the SDK's, so a new SDK that changes one fails here first."""

    def literal_types(union: Any) -> set[str]:
        members = typing.get_args(typing.get_args(union)[0])
        return {typing.get_args(m.model_fields["type"].annotation)[0] for m in members}

    assert set(live.VOICES) == set(typing.get_args(BuiltInVoice))
    assert set(live.CLIENT_EVENTS) == literal_types(ConnectClientEvent)
    assert set(live.SERVER_EVENTS) == literal_types(ConnectServerEvent)
    hints = typing.get_type_hints(ResponsesDelegationConfigParam)
    assert set(backend.RESPONSES_SETTINGS) | {"model"} == set(hints)

    def values(hint: Any) -> set[Any]:
        return {v for a in typing.get_args(hint) for v in (typing.get_args(a) or [a])} - {type(None)}

    assert set(backend.SERVICE_TIERS) == values(hints["service_tier"])
    reasoning = typing.get_type_hints(typing.get_args(hints["reasoning"])[0])
    assert set(backend.EFFORTS) == values(reasoning["effort"])
    assert set(backend.SUMMARIES) == values(reasoning["summary"])
    tools = {typing.get_args(typing.get_type_hints(t)["type"])[0]: t for t in typing.get_args(Tool)}
    assert {k for k, t in tools.items() if set(typing.get_type_hints(t)) == {"type"}} == set(backend.HOSTED_TOOLS)
    assert set(typing.get_type_hints(ToolMcp)) == {"type", "server_label", *backend._MCP_KEYS}
    fields = {"model", "instructions", "input", "delegation", "triggers", "idle_timeout_s", "wake_policy", "store"}
    fields |= {"safety_identifier", "audio", "client"}  # voice is audio.output.voice; data_channel is client's
    assert set(typing.get_type_hints(MediaSessionConfigParam)) == fields


# -- (b) bad input ---------------------------------------------------------------------------------


def _responses(**settings: Any) -> dict[str, Any]:
    return {"delegation": {"type": "responses", "responses": {"model": "gpt-5.5", **settings}}}


def _decisions(questions: Any) -> dict[str, Any]:
    return {"delegation": {"type": "decisions", "decisions": {"model": "gpt-decision-1", "questions": questions}}}


def _lambda_tool() -> dict[str, Any]:
    return _responses(tools=[lambda city: city])


BAD: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("realtime model", {"model": "gpt-realtime"}, ("model='gpt-realtime'", "'gpt-live-1'", "rt.Realtime")),
    ("transcription model", {"model": "gpt-live-transcribe"}, ("model=", "transcription model")),
    ("model not text", {"model": None}, ("model=None", "'gpt-live-1.1'")),
    ("voice typo", {"voice": "marine"}, ("voice='marine'", "did you mean 'marin'")),
    ("custom voice empty", {"voice": {"id": ""}}, ("voice=", "{'id': 'voice_...'}")),
    ("custom voice key", {"voice": {"name": "mine"}}, ("voice=", "custom voice")),
    ("instructions not text", {"instructions": 42}, ("instructions=42", "string")),
    ("instructions too long", {"instructions": "word " * 20_000}, ("instructions", "16,384 tokens", "Shorten")),
    ("input not a list", {"input": "hello"}, ("input must be a", "list", "'role': 'user'")),
    ("input system role", {"input": [{"role": "system", "content": "x"}]}, ("input[0].role", "'developer'")),
    ("input two parts", {"input": [{"role": "user", "content": ["a", "b"]}]}, ("input[0].content", "exactly one")),
    (
        "input user output_text",
        {"input": [{"role": "user", "content": [{"type": "output_text", "text": "x"}]}]},
        ("input[0].content[0].type", "'input_text'"),
    ),
    ("input unknown key", {"input": [{"role": "user", "text": "hi"}]}, ("input[0]", "'text'", "it takes role")),
    ("input status", {"input": [{"role": "user", "content": "x", "status": "done"}]}, ("input[0].status", "completed")),
    ("input too long", {"input": [{"role": "user", "content": "x"}] * 129}, ("input has 129", "at most 128")),
    ("delegation name only", {"delegation": "responses"}, ("delegation='responses'", "ResponsesDelegation(model=")),
    ("delegation type", {"delegation": {"type": "backend"}}, ("delegation.type='backend'", "'client'")),
    ("delegation missing settings", {"delegation": {"type": "responses"}}, ("delegation needs 'responses'",)),
    (
        "responses unknown key",
        _responses(temperature=0.2),
        ("delegation.responses has no setting 'temperature'", "tool_choice"),
    ),
    ("backend voice model", {"delegation": {"type": "responses", "responses": {"model": "gpt-live-1"}}}, ("gpt-5.5",)),
    ("lambda tool", _lambda_tool(), ("delegation.responses.tools[0]", "lambda", "def")),
    ("tool name", _responses(tools=[{"type": "function", "name": "bad name"}]), ("tools[0].name", "letters")),
    (
        "tool strict",
        _responses(tools=[{"type": "function", "name": "f", "strict": "yes"}]),
        ("tools[0].strict", "True or False"),
    ),
    (
        "hosted tool settings",
        _responses(tools=[{"type": "web_search", "search_context_size": "low"}]),
        ("tools[0]", "takes no settings", "'search_context_size'"),
    ),
    (
        "unknown tool type",
        _responses(tools=[{"type": "retrieval"}]),
        ("tools[0].type='retrieval'", "function, mcp, shell"),
    ),
    ("tools not a list", _responses(tools={"type": "function", "name": "f"}), ("tools must be a", "list", "dict")),
    ("tool not a dict", _responses(tools=["web_search"]), ("tools[0]='web_search'", "Python function")),
    (
        "same tool twice",
        _responses(tools=[weather, {"type": "function", "name": "weather"}]),
        ("two tools", "'weather'"),
    ),
    (
        "tool_choice unknown function",
        _responses(tools=[weather], tool_choice={"type": "function", "name": "forecast"}),
        ("tool_choice.name='forecast'", "'weather'"),
    ),
    ("tool_choice word", _responses(tool_choice="always"), ("tool_choice='always'", "'required'")),
    (
        "allowed_tools empty",
        _responses(tool_choice={"type": "allowed_tools", "tools": []}),
        ("tool_choice.tools must be a non-empty list",),
    ),
    ("reasoning effort", _responses(reasoning={"effort": "max"}), ("reasoning.effort='max'", "'xhigh'")),
    ("reasoning shorthand", _responses(reasoning="extreme"), ("reasoning.effort='extreme'", "'medium'")),
    ("reasoning key", _responses(reasoning={"efort": "low"}), ("reasoning has no setting 'efort'", "'effort'")),
    ("service tier", _responses(service_tier="standard"), ("service_tier='standard'", "'flex'")),
    ("verbosity", _responses(text={"verbosity": "loud"}), ("text.verbosity='loud'", "'high'")),
    ("empty verbosity", _responses(text={"verbosity": ""}), ("text.verbosity=''", "'low'")),
    ("max_output_tokens", _responses(max_output_tokens=8), ("max_output_tokens=8", "from 16")),
    ("parallel_tool_calls", _responses(parallel_tool_calls="yes"), ("parallel_tool_calls='yes'", "True or False")),
    (
        "acknowledgement delay",
        {"delegation": {"type": "client", "acknowledgement_delay_ms": -1}},
        ("acknowledgement_delay_ms=-1", "integer from 0"),
    ),
    ("no questions", _decisions([]), ("decisions.questions must be a non-empty list", "predicate")),
    (
        "question type",
        _decisions([{"type": "multiple_choice", "instructions": "x"}]),
        ("questions[0].type='multiple_choice'", "'score'"),
    ),
    (
        "choice value",
        _decisions([{"type": "choice", "instructions": "x", "choices": [{"value": 3}]}]),
        ("choices[0].value=3", "bool"),
    ),
    ("score levels", _decisions([{"type": "score", "instructions": "x"}]), ("questions[0] needs 'levels'",)),
    (
        "instruction part",
        _decisions([{"type": "predicate", "instructions": [{"type": "input_audio", "audio": "..."}]}]),
        ("instructions[0].type='input_audio'", "'input_json'"),
    ),
    (
        "image detail",
        _decisions(
            [{"type": "predicate", "instructions": [{"type": "input_image", "image_url": "u", "detail": "max"}]}]
        ),
        ("instructions[0].detail='max'", "'original'"),
    ),
    ("two triggers, one event", {"triggers": [TRIGGER, TRIGGER]}, ("triggers has two", "merge")),
    (
        "trigger event",
        {"triggers": [{**TRIGGER, "event_type": "session.input_audio.append"}]},
        ("triggers[0].event_type", "'session.output_transcript.delta'"),
    ),
    ("triggers not a list", {"triggers": TRIGGER}, ("triggers must be a", "list")),
    ("idle without wake", {"idle_timeout_s": 30}, ("idle_timeout_s=30", "wake_policy='speech'")),
    ("idle zero", {"idle_timeout_s": 0, "wake_policy": "speech"}, ("idle_timeout_s=0", "integer from 1")),
    ("idle bool", {"idle_timeout_s": True, "wake_policy": "speech"}, ("idle_timeout_s=True", "integer")),
    ("wake policy word", {"wake_policy": "vad"}, ("wake_policy='vad'", "'speech'")),
    (
        "wake threshold",
        {"wake_policy": {"type": "speech", "vad_threshold": 1.5}},
        ("wake_policy.vad_threshold=1.5", "from 0 to 1"),
    ),
    (
        "client event typo",
        {"data_channel": {"allowed_client_events": ["session.updat"]}},
        ("allowed_client_events[0]='session.updat'", "did you mean 'session.update'"),
    ),
    (
        "response.event without selector",
        {"data_channel": {"allowed_server_events": ["response.event"]}},
        ("allowed_server_events[0].response_event", "'response.output_item.done'"),
    ),
    (
        "selector where none applies",
        {"data_channel": {"allowed_server_events": [{"type": "info", "response_event": "response.created"}]}},
        ("allowed_server_events[0]", "only to type 'response.event'"),
    ),
    (
        "data channel key typo",
        {"data_channel": {"allow_client_events": "all"}},
        ("data_channel has no setting 'allow_client_events'", "did you mean 'allowed_client_events'"),
    ),
    ("data channel word", {"data_channel": "none"}, ("data_channel='none'", "allowed_client_events")),
    ("store", {"store": "yes"}, ("store='yes'", "True or False")),
    ("safety identifier", {"safety_identifier": ""}, ("safety_identifier=''", "non-empty string")),
    ("unknown setting", {"instruction": "Be brief."}, ("'instruction'", "did you mean 'instructions'")),
    ("Realtime tools", {"tools": [weather]}, ("tools is a Realtime setting", "ResponsesDelegation(model=")),
    ("Realtime VAD", {"turn_detection": "server_vad"}, ("turn_detection is a Realtime setting", "server-driven")),
    (
        "not JSON",
        _responses(tools=[{"type": "function", "name": "f", "parameters": {"type": "object", "x": float("nan")}}]),
        ("cannot be sent as JSON", "finite numbers"),
    ),
]


@pytest.mark.parametrize(("kwargs", "expected"), [(k, e) for _, k, e in BAD], ids=[n for n, _, _ in BAD])
def test_bad_input_is_a_clear_config_error(kwargs: dict[str, Any], expected: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as caught:
        LiveConfig.from_kwargs(**kwargs)
    message = str(caught.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    error = caught.value  # raised by the library itself, or translated `from None`: no inner traceback
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


@pytest.mark.parametrize(
    "tools",
    [
        [{**MCP, "tokn": 1}],
        [{"type": "mcp", "server_label": "crm", "authorization": SECRET}],
        [{"type": "mcp", "server_label": "", "server_url": "https://x", "headers": {"Authorization": SECRET}}],
        [{"type": "mcp", "server_label": "crm", "server_url": "https://x", "authorization": SECRET}, "oops"],
        {**MCP, "type": "mcp"},  # one tool where a list belongs
    ],
)
def test_errors_never_show_an_mcp_token(tools: Any) -> None:
    for kwargs in (_responses(tools=tools), {"delegation": {**_responses(tools=tools)["delegation"], "extra": 1}}):
        with pytest.raises(ConfigError) as caught:
            LiveConfig.from_kwargs(**kwargs)
        assert SECRET not in str(caught.value)
    for delegation in ({"type": "mcp", "responses": {"tools": tools}}, {"type": "responses", "responses": [tools]}):
        with pytest.raises(ConfigError) as caught:
            LiveConfig.from_kwargs(delegation=delegation)
        assert SECRET not in str(caught.value)


def test_python_tool_problems_name_the_field() -> None:
    def no_hints(city):  # type: ignore[no-untyped-def]
        """Untyped."""

    with pytest.raises(
        ConfigError, match=r"delegation\.responses\.tools\[1\]: no_hints: parameter 'city' needs a type"
    ):
        ResponsesDelegation(model="gpt-5.5", tools=[weather, no_hints])


# -- (c) updates -----------------------------------------------------------------------------------

START = {
    "model": "gpt-live-1",
    "instructions": "Be brief.",
    "voice": "marin",
    "input": [{"role": "user", "content": "Hi"}],
}


def test_updated_changes_delegation_and_triggers() -> None:
    config = LiveConfig.from_kwargs(**START, delegation=ResponsesDelegation(model="gpt-5.5"))
    changed = config.updated(delegation=RESPONSES, triggers=[TRIGGER])
    assert changed.delegation == RESPONSES
    assert changed.triggers == (TRIGGER,)
    assert config.triggers is None  # the original is untouched
    assert changed.updated(triggers=[]).triggers == ()
    same = config.updated(model="gpt-live-1", voice="marin", input=[{"role": "user", "content": "Hi"}])
    assert same == config  # restating a fixed setting changes nothing
    client = LiveConfig().updated(delegation=ClientDelegation(acknowledgement_delay_ms=100))
    assert client.delegation == ClientDelegation(100)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"model": "gpt-live-1.1"}, ("model cannot change", "only delegation and triggers can")),
        ({"instructions": "Be chatty."}, ("instructions cannot change", "session.instructions.append")),
        ({"voice": "cedar"}, ("voice cannot change", "only delegation and triggers can")),
        ({"input": []}, ("input cannot change", "only delegation and triggers can")),
        ({"store": True}, ("store cannot change", "only delegation and triggers can")),
        ({"idle_timeout_s": 10, "wake_policy": "speech"}, ("cannot change", "only delegation and triggers can")),
        ({"delegation": "client"}, ("delegation cannot change from 'responses' to 'client'", "new session")),
        ({"delegation": None}, ("delegation=None is not valid", "same type")),
        ({"triggers": None}, ("triggers=None is not valid", "triggers=[]")),
        ({"voice": "marine"}, ("voice cannot change", "only delegation and triggers can")),
        ({"delegation": {"type": "responses", "responses": {}}}, ("delegation.responses needs 'model'",)),
        ({"trigers": []}, ("'trigers'", "did you mean 'triggers'")),
    ],
)
def test_updated_refuses_what_cannot_change(changes: dict[str, Any], expected: tuple[str, ...]) -> None:
    config = LiveConfig.from_kwargs(**START, delegation=ResponsesDelegation(model="gpt-5.5"))
    for method in (config.updated, config.update_event):
        with pytest.raises(ConfigError) as caught:
            method(**changes)
        for part in expected:
            assert part in str(caught.value), f"{part!r} not in {caught.value}"


def test_update_event_needs_a_change_and_fits_a_message() -> None:
    config = LiveConfig(delegation=ResponsesDelegation(model="gpt-5.5"))
    with pytest.raises(ConfigError, match=r"update_event\(\) needs delegation=\.\.\. or triggers"):
        config.update_event()
    huge = ResponsesDelegation(model="gpt-5.5", instructions="x" * 300_000)
    with pytest.raises(ConfigError, match="limit is 245,760"):
        config.update_event(delegation=huge)
    assert len(LiveConfig(delegation=huge).to_session()["delegation"]["responses"]["instructions"]) == 300_000
