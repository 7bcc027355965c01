"""The emulator's protocol engine: GA event orders, validation errors, conformance.

Every event the engine emits in these tests is validated against the openai SDK's types.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from rt_widget.emulator.model import FunctionCall
from rt_widget.emulator.speaker import Speaker
from tests.aio import run as run_coroutine
from tests.harness import Harness, drain, run


def user_text(text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
    }


TEXT_ONLY = {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}


def test_session_update_echoes_the_full_effective_session():
    async def body():
        h = Harness()
        await h.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "instructions": "Be brief.",
                    "audio": {"output": {"voice": "marin"}, "input": {"turn_detection": None}},
                },
            }
        )
        session = h.last("session.updated")["session"]
        assert session["instructions"] == "Be brief."
        assert session["audio"]["output"]["voice"] == "marin"
        assert session["audio"]["input"]["turn_detection"] is None
        assert session["audio"]["output"]["speed"] == 1.0
        assert session["id"].startswith("sess_")

    run(body)


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        ({}, "missing_required_parameter", "session.type"),
        ({"type": "bogus"}, "invalid_value", "session.type"),
        ({"type": "transcription"}, "invalid_value", "session.type"),
        ({"type": "realtime", "modalities": ["text"]}, "unknown_parameter", "session.modalities"),
        ({"type": "realtime", "audio": {"output": {"voice": "bob"}}}, "invalid_value", "session.audio.output.voice"),
        ({"type": "realtime", "output_modalities": ["audio", "text"]}, "invalid_value", "session.output_modalities"),
        ({"type": "realtime", "model": "gpt-realtime-mini"}, "invalid_value", "session.model"),
        (
            {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 3}}}},
            "decimal_above_max_value",
            "session.audio.input.turn_detection.threshold",
        ),
    ],
)
def test_session_update_errors_name_the_field(session, code, param):
    async def body():
        h = Harness()
        await h.engine.receive(json.dumps({"type": "session.update", "event_id": "evt_client_1", "session": session}))
        error = h.last("error")["error"]
        assert (error["code"], error["param"], error["event_id"]) == (code, param, "evt_client_1")
        assert error["type"] == "invalid_request_error"
        assert "session.updated" not in h.types()

    run(body)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ('{"event_id": "x"}', "invalid_event"),
        ('{"type": "response.explode"}', "invalid_value"),
        ("[1, 2]", "invalid_event"),
        ('{"type": "conversation.item.retrieve"}', "missing_required_parameter"),
        ('{"type": "conversation.item.delete", "item_id": "item_nope"}', "item_not_found"),
        ('{"type": "input_audio_buffer.append", "audio": "***"}', "invalid_value"),
    ],
)
def test_malformed_events_get_error_events_and_the_session_continues(raw, code):
    async def body():
        h = Harness()
        await h.engine.receive(raw)
        assert h.last("error")["error"]["code"] == code
        await h.send(TEXT_ONLY)
        assert h.types()[-1] == "session.updated"

    run(body)


def test_text_turn_follows_the_ga_sequence():
    async def body():
        h = Harness()
        await h.send(TEXT_ONLY)
        await h.send(user_text("Hello there"))
        await h.send({"type": "response.create"})
        await h.settle()

        types = h.types()
        assert types[:3] == ["session.updated", "conversation.item.added", "conversation.item.done"]
        deltas = [t for t in types if t == "response.output_text.delta"]
        rest = [t for t in types[3:] if t != "response.output_text.delta"]
        assert rest == [
            "response.created",
            "response.output_item.added",
            "conversation.item.added",
            "response.content_part.added",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
            "rate_limits.updated",
        ]
        text = "".join(e["delta"] for e in h.events if e["type"] == "response.output_text.delta")
        assert len(deltas) > 1
        assert text == h.last("response.output_text.done")["text"]
        assert "Hello" in text
        user_id = h.events[1]["item"]["id"]
        assistant_added = h.events[types.index("conversation.item.added", 3)]
        assert assistant_added["previous_item_id"] == user_id
        done = h.last("response.done")["response"]
        assert done["status"] == "completed"
        assert done["output"][0]["content"] == [{"type": "output_text", "text": text}]
        usage = done["usage"]
        details = usage["input_token_details"]
        assert usage["input_tokens"] == details["text_tokens"] + details["audio_tokens"] + details["image_tokens"]
        assert usage["output_tokens"] == sum(usage["output_token_details"].values())
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
        assert details["cached_tokens"] <= usage["input_tokens"]

    run(body)


def test_usage_is_deterministic():
    async def usage_of_a_run():
        h = Harness()
        long_instructions = "You are a patient tutor who explains things step by step. " * 6
        await h.send({"type": "session.update", "session": {**TEXT_ONLY["session"], "instructions": long_instructions}})
        for text in ("hello", "tell me a joke"):
            await h.send(user_text(text))
            await h.send({"type": "response.create"})
            await h.settle()
        return [e["response"]["usage"] for e in h.events if e["type"] == "response.done"]

    first, second = run_coroutine(usage_of_a_run()), run_coroutine(usage_of_a_run())
    assert first == second
    assert first[1]["input_tokens"] > first[0]["input_tokens"]  # the context grows
    assert first[1]["input_token_details"]["cached_tokens"] > 0  # and its prefix is cached


def test_overlapping_response_and_cancel_errors():
    async def body():
        h = Harness(model=lambda ctx: "one two three four five six seven eight nine ten " * 20)
        await h.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
        await h.send({"type": "response.cancel"})
        assert h.last("error")["error"]["code"] == "response_cancel_not_active"
        await h.send({"type": "response.create"})
        await h.send({"type": "response.create"})
        assert h.last("error")["error"]["code"] == "conversation_already_has_active_response"
        await h.send({"type": "response.cancel"})
        done = h.last("response.done")["response"]
        assert done["status"] == "cancelled"
        assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
        assert done["output"][0]["status"] == "incomplete"

    run(body)


def test_a_slow_model_thinks_before_its_first_output_and_can_be_cancelled_meanwhile():
    async def body():
        thinking = [0.2]
        h = Harness(thinking_s=lambda: thinking[0])
        await h.send(TEXT_ONLY)
        await h.send(user_text("hello"))
        started = asyncio.get_running_loop().time()
        await h.send({"type": "response.create"})
        await asyncio.sleep(0.1)
        assert h.types()[-1] == "response.created"  # still thinking: no output yet
        await h.settle()
        first = next(e for e in h.events if e["type"] == "response.output_item.added")
        assert first is not None
        assert asyncio.get_running_loop().time() - started >= 0.2
        assert h.last("response.done")["response"]["status"] == "completed"

        thinking[0] = 30.0  # read at each response: a cancel must not wait for it
        await h.send({"type": "response.create"})
        await asyncio.sleep(0.05)
        await asyncio.wait_for(h.send({"type": "response.cancel"}), 2)
        done = h.last("response.done")["response"]
        assert done["status"] == "cancelled"
        assert done["output"] == []

    run(body)


def test_items_can_be_inserted_retrieved_and_deleted():
    async def body():
        h = Harness()
        await h.send(user_text("first"))
        first = h.last("conversation.item.done")["item"]["id"]
        await h.send({**user_text("at the root"), "previous_item_id": "root"})
        root_added = h.last("conversation.item.added")
        assert root_added["previous_item_id"] is None
        assert [i["id"] for i in h.engine.items][1] == first

        await h.send({"type": "conversation.item.retrieve", "item_id": first})
        assert h.last("conversation.item.retrieved")["item"]["content"][0]["text"] == "first"
        await h.send({"type": "conversation.item.delete", "item_id": first})
        assert h.last("conversation.item.deleted")["item_id"] == first
        await h.send({**user_text("x"), "previous_item_id": "item_missing"})
        assert h.last("error")["error"]["param"] == "previous_item_id"

    run(body)


def test_manual_audio_turn_commit_and_errors():
    async def body():
        h = Harness()
        await h.send({"type": "input_audio_buffer.commit"})
        assert h.last("error")["error"]["code"] == "input_audio_buffer_commit_empty"
        half_second = base64.b64encode(bytes(24_000)).decode()  # 0.5 s of 16-bit 24 kHz
        await h.send({"type": "input_audio_buffer.append", "audio": half_second})
        await h.send({"type": "input_audio_buffer.commit"})
        assert h.types()[-3:] == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
        assert h.last("conversation.item.done")["item"]["content"] == [{"type": "input_audio", "transcript": None}]
        await h.send({"type": "input_audio_buffer.clear"})
        assert h.types()[-1] == "input_audio_buffer.cleared"

    run(body)


def test_function_call_then_output_then_answer():
    async def body():
        h = Harness()
        tool = {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
        await h.send(
            {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"], "tools": [tool]}}
        )
        await h.send(user_text("Please call get_weather city=Paris"))
        await h.send({"type": "response.create"})
        await h.settle()
        done = h.last("response.function_call_arguments.done")
        assert done["name"] == "get_weather"
        assert json.loads(done["arguments"]) == {"city": "Paris"}
        streamed = "".join(e["delta"] for e in h.events if e["type"] == "response.function_call_arguments.delta")
        assert streamed == done["arguments"]
        call = h.last("response.done")["response"]["output"][0]
        assert call["type"] == "function_call"
        assert call["call_id"] == done["call_id"]

        output = {"type": "function_call_output", "call_id": done["call_id"], "output": '{"temperature": "21 C"}'}
        await h.send({"type": "conversation.item.create", "item": output})
        await h.send({"type": "response.create"})
        await h.settle()
        assert "temperature 21 C" in h.last("response.output_text.done")["text"]

    run(body)


def test_audio_turn_speaks_paces_transcript_and_locks_the_voice():
    async def body():
        speaker = Speaker()
        h = Harness(speaker=speaker, model=lambda ctx: "Hello there, friend.")
        puller = drain(speaker)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await h.send(user_text("hi"))
        await h.send({"type": "response.create"})
        await h.settle()
        elapsed = loop.time() - start
        while "output_audio_buffer.stopped" not in h.types():
            await asyncio.sleep(0.02)
        puller.cancel()

        types = [t for t in h.types() if t != "response.output_audio_transcript.delta"]
        assert types[2:] == [
            "response.created",
            "response.output_item.added",
            "conversation.item.added",
            "response.content_part.added",
            "output_audio_buffer.started",
            "response.output_audio.done",
            "response.output_audio_transcript.done",
            "response.content_part.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
            "rate_limits.updated",
            "output_audio_buffer.stopped",
        ]
        assert speaker.played_samples > 48_000 * 0.5  # real speech, not a blip
        assert elapsed >= 0.5  # deltas were paced to the audio, not dumped at once
        usage = h.last("response.done")["response"]["usage"]
        assert usage["output_token_details"]["audio_tokens"] > 0
        item = h.last("response.done")["response"]["output"][0]
        assert item["content"] == [{"type": "output_audio", "transcript": "Hello there, friend."}]

        await h.send(
            {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "cedar"}}}}
        )
        assert h.last("error")["error"]["code"] == "cannot_update_voice"

        await h.send(
            {"type": "conversation.item.truncate", "item_id": item["id"], "content_index": 0, "audio_end_ms": 99_999}
        )
        assert "already shorter than" in h.last("error")["error"]["message"]
        await h.send(
            {"type": "conversation.item.truncate", "item_id": item["id"], "content_index": 0, "audio_end_ms": 300}
        )
        assert h.last("conversation.item.truncated")["audio_end_ms"] == 300

    run(body)


def test_output_audio_buffer_clear_cuts_the_voice():
    async def body():
        speaker = Speaker()
        h = Harness(speaker=speaker, model=lambda ctx: "This is a long reply that keeps going for a while longer.")
        puller = drain(speaker)
        await h.send({"type": "response.create"})
        while "output_audio_buffer.started" not in h.types():
            await asyncio.sleep(0.01)
        await h.send({"type": "response.cancel"})
        await h.send({"type": "output_audio_buffer.clear"})
        puller.cancel()
        assert h.last("response.done")["response"]["status"] == "cancelled"
        assert h.types()[-1] == "output_audio_buffer.cleared"
        assert speaker.queued_s == 0
        assert "output_audio_buffer.stopped" not in h.types()

    run(body)


def test_out_of_band_response_stays_out_of_the_conversation():
    async def body():
        h = Harness()
        await h.send(user_text("hello"))
        await h.send(
            {
                "type": "response.create",
                "response": {"conversation": "none", "output_modalities": ["text"], "metadata": {"purpose": "summary"}},
            }
        )
        await asyncio.sleep(0.2)
        done = h.last("response.done")["response"]
        assert done["conversation_id"] is None
        assert done["metadata"] == {"purpose": "summary"}
        assert len(h.engine.items) == 1

    run(body)


def test_function_call_model_reply_type():
    assert FunctionCall("f").arguments == {}


# -- hardening: no message deafens the call, every response ends ---------------------------


def error_of(h: Harness) -> dict[str, Any]:
    return h.last("error")["error"]


async def still_answers(h: Harness) -> None:
    """The session answers a good turn in full after whatever came before."""
    before = len(h.events)
    await h.send(TEXT_ONLY)
    await h.send(user_text("hello"))
    await h.send({"type": "response.create"})
    await h.settle()
    types = [e["type"] for e in h.events[before:]]
    assert types[0] == "session.updated"
    assert "response.output_text.done" in types
    assert h.last("response.done")["response"]["status"] == "completed"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("[" * 10_000 + "]" * 10_000, "nests too deeply"),
        ('{"type": "session.update", "x": ' + "[" * 100 + "]" * 100 + "}", "nests too deeply"),
        ('{"type": "response.create", "n": ' + "9" * 5_000 + "}", "5,000-digit number"),
        (b'{"type": "response.create", "event_id": "\xff\xfe"}', "not UTF-8"),
        ('{"type": "response.create", "response": {"max_output_tokens": NaN}}', "NaN is not valid JSON"),
        ('{"type": "response.create", "response": {"max_output_tokens": -Infinity}}', "-Infinity is not valid"),
        ('{"type": "response.create", "response": {"max_output_tokens": 1e400}}', "too large"),
        ('{"type": "conversation.item.create", "event_id": "\\ud83d"}', "lone UTF-16 surrogate"),
        (b"\x00\x01\x02", "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_undecodable_messages_get_an_error_and_the_call_keeps_serving(raw, says):
    async def body():
        h = Harness()
        await h.engine.receive(raw)
        error = error_of(h)
        assert error["type"] == "invalid_request_error"
        assert error["code"] == "invalid_json"
        assert says in error["message"]
        assert len(error["message"]) < 300
        await still_answers(h)

    run(body)


def test_an_oversized_event_is_refused_before_it_is_parsed():
    async def body():
        h = Harness()
        huge = json.dumps({"type": "input_audio_buffer.append", "audio": "A" * (16 * 1024 * 1024 + 4)})
        await h.engine.receive(huge)
        assert error_of(h)["code"] == "event_too_large"
        await still_answers(h)

    run(body)


@pytest.mark.parametrize(
    ("fields", "code", "param"),
    [
        ({"audio_end_ms": "x"}, "invalid_type", "audio_end_ms"),
        ({"audio_end_ms": None}, "invalid_type", "audio_end_ms"),
        ({"audio_end_ms": 1.5}, "invalid_type", "audio_end_ms"),
        ({"audio_end_ms": -1}, "integer_below_min_value", "audio_end_ms"),
        ({"audio_end_ms": 10**60}, "integer_above_max_value", "audio_end_ms"),
        ({"content_index": "0"}, "invalid_type", "content_index"),
        ({"content_index": True}, "invalid_type", "content_index"),
        ({"item_id": 5}, "invalid_type", "item_id"),
        ({"extra": 1}, "unknown_parameter", "extra"),
    ],
)
def test_truncate_fields_are_checked_before_the_handler(fields, code, param):
    async def body():
        h = Harness()
        event = {"type": "conversation.item.truncate", "item_id": "item_x", "content_index": 0, "audio_end_ms": 0}
        await h.engine.receive(json.dumps({**event, **fields, "event_id": "evt_t"}))
        error = error_of(h)
        assert (error["code"], error["param"], error["event_id"]) == (code, param, "evt_t")
        await still_answers(h)

    run(body)


def test_truncate_without_content_index_is_a_missing_parameter():
    async def body():
        h = Harness()
        await h.engine.receive(json.dumps({"type": "conversation.item.truncate", "item_id": "i", "audio_end_ms": 0}))
        assert (error_of(h)["code"], error_of(h)["param"]) == ("missing_required_parameter", "content_index")

    run(body)


@pytest.mark.parametrize(
    ("response", "code", "param"),
    [
        ({"tools": [5]}, "invalid_type", "response.tools[0]"),
        ({"tools": "x"}, "invalid_type", "response.tools"),
        ({"tools": [{"type": "function"}]}, "missing_required_parameter", "response.tools[0].name"),
        ({"tools": [{"type": "function", "name": "a b"}]}, "invalid_value", "response.tools[0].name"),
        ({"tools": [{"type": "computer", "name": "a"}]}, "invalid_value", "response.tools[0].type"),
        ({"input": 5}, "invalid_type", "response.input"),
        ({"input": [5]}, "invalid_type", "response.input[0]"),
        ({"input": [{"type": "message", "role": "user"}]}, "missing_required_parameter", "response.input[0].content"),
        ({"input": [{"type": "item_reference", "id": "item_nope"}]}, "item_not_found", "response.input[0].id"),
        ({"audio": "x"}, "invalid_type", "response.audio"),
        ({"audio": {"output": {"voice": "bob"}}}, "invalid_value", "response.audio.output.voice"),
        ({"max_output_tokens": "x"}, "invalid_value", "response.max_output_tokens"),
        ({"max_output_tokens": 0}, "integer_below_min_value", "response.max_output_tokens"),
        ({"max_output_tokens": 2.5}, "invalid_type", "response.max_output_tokens"),
        ({"output_modalities": "text"}, "invalid_type", "response.output_modalities"),
        ({"output_modalities": ["video"]}, "invalid_value", "response.output_modalities"),
        ({"instructions": 5}, "invalid_type", "response.instructions"),
        ({"conversation": "mine"}, "invalid_value", "response.conversation"),
        ({"metadata": {"k": 5}}, "invalid_type", "response.metadata.k"),
        ({"metadata": {str(i): "v" for i in range(17)}}, "object_above_max_properties", "response.metadata"),
        ({"tool_choice": "sometimes"}, "invalid_value", "response.tool_choice"),
        ({"tool_choice": {"type": "function", "name": "nope"}}, "invalid_value", "response.tool_choice.name"),
        ({"modalities": ["text"]}, "unknown_parameter", "response.modalities"),
        ({"temperature": 0.8}, "unknown_parameter", "response.temperature"),
    ],
)
def test_bad_response_parameters_are_refused_before_response_created(response, code, param):
    async def body():
        h = Harness()
        await h.engine.receive(json.dumps({"type": "response.create", "response": response}))
        error = error_of(h)
        assert (error["code"], error["param"]) == (code, param), error["message"]
        assert "response.created" not in h.types()
        await still_answers(h)

    run(body)


def test_null_response_fields_mean_the_session_defaults():
    async def body():
        h = Harness()
        await h.send(TEXT_ONLY)
        await h.send(user_text("hello"))
        await h.engine.receive(
            json.dumps({"type": "response.create", "response": {"instructions": None, "max_output_tokens": None}})
        )
        await h.settle()
        assert h.last("response.done")["response"]["status"] == "completed"

    run(body)


def test_an_internal_failure_in_a_handler_is_a_server_error_and_is_logged(caplog):
    async def body():
        h = Harness()

        async def broken(event):
            raise KeyError("boom")

        h.engine._on_input_audio_buffer_clear = broken
        await h.engine.receive(json.dumps({"type": "input_audio_buffer.clear", "event_id": "evt_1"}))
        error = error_of(h)
        assert (error["type"], error["code"], error["event_id"]) == ("server_error", "server_error", "evt_1")
        assert "KeyError" in error["message"]
        await still_answers(h)

    run(body)
    assert any("input_audio_buffer.clear" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_a_failure_after_response_created_still_ends_the_response():
    async def body():
        h = Harness()

        async def broken(*args):
            raise RuntimeError("the speaker fell over")

        h.engine._stream_content = broken
        await h.send(TEXT_ONLY)
        await h.send(user_text("hello"))
        await h.send({"type": "response.create"})
        await h.settle()
        done = h.last("response.done")["response"]
        assert done["status"] == "failed"
        assert done["status_details"]["error"]["type"] == "server_error"
        assert "RuntimeError" in done["status_details"]["error"]["message"]
        assert h.types().count("response.created") == h.types().count("response.done") == 1
        del h.engine._stream_content
        await still_answers(h)

    run(body)


@pytest.mark.parametrize(
    "event",
    [
        {"type": "response.create", "response": {"audio": {"output": None}}},
        {"type": "response.create", "response": {"audio": None}},
        {"type": "session.update", "session": {"type": "realtime", "audio": {"output": None}}},
        {"type": "session.update", "session": {"type": "realtime", "audio": None}},
    ],
    ids=["response audio.output null", "response audio null", "session audio.output null", "session audio null"],
)
def test_nulls_inside_objects_are_answered_and_the_session_goes_on(event, capfd):
    async def body():
        h = Harness()
        await h.engine.receive(json.dumps(event))
        await h.settle()
        answered = h.types()
        assert answered, "no answer at all"
        assert answered.count("response.created") == answered.count("response.done")
        await still_answers(h)

    run(body)
    assert "Traceback" not in capfd.readouterr().err


def test_a_function_call_item_without_call_id_gets_one():
    async def body():
        h = Harness()
        item = {"type": "function_call", "name": "get_weather", "arguments": "{}"}
        await h.send({"type": "conversation.item.create", "item": item})
        added = h.last("conversation.item.added")["item"]
        assert added["call_id"].startswith("call_")
        assert "error" not in h.types()

    run(body)


def failing_model(context):
    raise ValueError("no idea what to say")


@pytest.mark.parametrize(
    ("model", "says"),
    [
        (failing_model, "The emulator's model raised ValueError: no idea what to say"),
        (lambda context: 5, "returned int"),
        (lambda context: None, "returned NoneType"),
        (lambda context: FunctionCall("launch_rocket"), "does not offer"),
        (lambda context: FunctionCall("get_weather", {"when": object()}), "not JSON"),
        (lambda context: FunctionCall("get_weather", {"x": float("nan")}), "not JSON"),
        (lambda context: FunctionCall("get_weather", "Paris"), "use a dict"),
    ],
)
def test_a_broken_user_model_fails_the_response_clearly(model, says, caplog):
    calls = []

    def counting(context):
        calls.append(1)
        return model(context) if len(calls) == 1 else "fine again"

    async def body():
        h = Harness(model=counting)
        tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
        await h.send({"type": "session.update", "session": {**TEXT_ONLY["session"], "tools": [tool]}})
        await h.send(user_text("hello"))
        await h.send({"type": "response.create"})
        await h.settle()
        done = h.last("response.done")["response"]
        assert done["status"] == "failed"
        assert done["status_details"]["type"] == "failed"
        assert done["status_details"]["error"]["type"] == "server_error"
        assert says in done["status_details"]["error"]["message"]
        assert done["output"] == []
        await h.send({"type": "response.create"})
        await h.settle()
        assert h.last("response.done")["response"]["status"] == "completed"
        assert h.last("response.output_text.done")["text"] == "fine again"

    run(body)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("counting" in w and says in w for w in warnings), warnings


def test_input_audio_append_is_capped_per_event_and_per_buffer():
    async def body():
        h = Harness()
        too_big = "A" * (15 * 1024 * 1024 + 4)
        await h.engine.receive(json.dumps({"type": "input_audio_buffer.append", "audio": too_big}))
        assert (error_of(h)["code"], error_of(h)["param"]) == ("string_above_max_length", "audio")
        assert len(h.engine._input_audio) == 0

        four_minutes = base64.b64encode(bytes(24_000 * 2 * 240)).decode()
        await h.send({"type": "input_audio_buffer.append", "audio": four_minutes})
        errors = h.types().count("error")
        await h.send({"type": "input_audio_buffer.append", "audio": four_minutes})
        assert h.types().count("error") == errors + 1
        assert error_of(h)["code"] == "input_audio_buffer_full"
        assert "Commit it" in error_of(h)["message"]
        assert len(h.engine._input_audio) == 24_000 * 2 * 240  # the refused append added nothing
        await h.send({"type": "input_audio_buffer.clear"})
        await h.send({"type": "input_audio_buffer.append", "audio": four_minutes})
        assert h.types()[-1] == "input_audio_buffer.cleared"  # accepted again, silently

    run(body)


def test_a_non_string_event_id_is_refused_and_not_echoed():
    async def body():
        h = Harness()
        await h.engine.receive(json.dumps({"type": "input_audio_buffer.clear", "event_id": 5}))
        error = error_of(h)
        assert (error["code"], error["param"], error["event_id"]) == ("invalid_type", "event_id", None)

    run(body)


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "message", "role": "user", "content": [{"type": "input_text", "text": 5}]}, "item.content[0].text"),
        ({"type": "message", "role": "user", "content": [{"type": "input_text"}]}, "item.content[0].text"),
        ({"type": "message", "role": "user", "content": "hi"}, "item.content"),
        ({"type": "message", "role": "user", "content": [], "id": "x" * 40}, "item.id"),
        ({"type": "message", "role": "bot", "content": []}, "item.role"),
        ({"type": "function_call_output", "call_id": "c", "output": {"a": 1}}, "item.output"),
        ({"type": "function_call", "name": "f", "arguments": {}, "call_id": "c"}, "item.arguments"),
        ({"type": "message", "role": "user", "content": [], "colour": "red"}, "item.colour"),
        ({"type": "mcp_call"}, "item.type"),
    ],
)
def test_item_fields_are_checked(item, param):
    async def body():
        h = Harness()
        await h.engine.receive(json.dumps({"type": "conversation.item.create", "item": item}))
        assert error_of(h)["param"] == param, error_of(h)["message"]
        assert h.engine.items == []

    run(body)


def test_a_long_bad_value_is_not_echoed_whole():
    async def body():
        h = Harness()
        await h.engine.receive(json.dumps({"type": "response.create", "response": {"conversation": "x" * 100_000}}))
        assert len(error_of(h)["message"]) < 300

    run(body)


def test_the_scripted_model_fills_required_arguments_from_the_words():
    async def body():
        h = Harness()
        tool = {
            "type": "function",
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
                "required": ["city"],
            },
        }
        await h.send({"type": "session.update", "session": {**TEXT_ONLY["session"], "tools": [tool]}})
        await h.send(user_text("Use get weather: what is the weather in Paris?"))
        await h.send({"type": "response.create"})
        await h.settle()
        assert json.loads(h.last("response.function_call_arguments.done")["arguments"]) == {"city": "Paris"}

    run(body)
