"""The scripted model follows a few simple instructions, so configs that differ give different replies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import rt_widget as rt
from rt_widget import Emulator
from rt_widget.emulator.model import Context, FunctionCall, follow_instructions, scripted_model
from rt_widget.emulator.session import DEFAULT_INSTRUCTIONS
from rt_widget.providers import Local

GREETING = "Hello! I am the local emulator. How can I help you today?"
GREETING_NAME = "I am the rt widget emulator, a stand in for a realtime model."  # one sentence already
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def reply_to(text: str, instructions: str, tools: list[dict[str, Any]] | None = None) -> Any:
    return scripted_model(Context([user(text)], instructions, tools or []))


@pytest.mark.parametrize(
    "instructions",
    [
        'Start every reply with "Ahoy".',
        "start each answer with 'Ahoy'",
        "You are a pirate. BEGIN YOUR RESPONSES WITH \u201cAhoy\u201d, always.",
        'Begin all your replies with "Ahoy"',
    ],
)
def test_a_quoted_start_comes_first(instructions):
    assert reply_to("hello", instructions) == f"Ahoy! {GREETING}"


def test_a_start_that_ends_in_punctuation_is_kept_as_written():
    assert follow_instructions("Hi.", 'Start every reply with "Well, "') == "Well, Hi."
    assert follow_instructions("Hi.", "Start every reply with 'Aye!'") == "Aye! Hi."


@pytest.mark.parametrize(
    "instructions", ["Answer in one sentence.", "reply in a single sentence", "RESPOND IN ONE SENTENCE"]
)
def test_one_sentence_keeps_the_first(instructions):
    assert reply_to("hello", instructions) == "Hello!"
    assert reply_to("what is your name", instructions) == GREETING_NAME


@pytest.mark.parametrize(
    "instructions", ["Answer in capitals.", "write in capital letters", "Reply in upper case", "Shout!"]
)
def test_capitals(instructions):
    assert reply_to("hello", instructions) == GREETING.upper()


def test_forms_combine_and_the_start_stays_as_written():
    instructions = 'Shout. Answer in one sentence. Start every reply with "Ahoy".'
    assert reply_to("hello", instructions) == "Ahoy! HELLO!"


@pytest.mark.parametrize(
    "instructions",
    ["", DEFAULT_INSTRUCTIONS, "Be brief.", "Start with the weather.", "Speak about capitals of Europe."],
)
def test_other_instructions_change_nothing(instructions):
    assert reply_to("hello", instructions) == GREETING


def test_tool_calls_are_left_alone_and_what_the_tool_said_follows_them():
    call = reply_to("call get_weather in Paris", "Shout. Start every reply with 'Ahoy'.", [WEATHER_TOOL])
    assert call == FunctionCall("get_weather", {"city": "Paris"})
    items = [
        user("call get_weather in Paris"),
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"type": "function_call_output", "call_id": "c1", "output": '{"sky": "sunny"}'},
    ]
    said = scripted_model(Context(items, "Shout. Start every reply with 'Ahoy'.", [WEATHER_TOOL]))
    assert said == "Ahoy! THE GET_WEATHER TOOL SAYS: SKY SUNNY."


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def test_the_emulator_follows_instructions_sent_in_a_session_update(emu):
    with rt.Call(provider=Local(emu), output_modalities=["text"], turn_detection=None) as call:
        call.say("hello")
        before = call.wait("response.done", timeout=15)
        call.update(instructions='Start every reply with "Ahoy". Answer in one sentence.')
        call.wait("session.updated", timeout=15)
        call.say("hello")
        after = call.wait("response.done", timeout=15)
        call.send({"type": "response.create", "response": {"instructions": "Shout."}})  # this response only
        shouted = call.wait("response.done", timeout=15)
    texts = [r["response"]["output"][0]["content"][0]["text"] for r in (before, after, shouted)]
    assert texts == [GREETING, "Ahoy! Hello!", GREETING.upper()]
