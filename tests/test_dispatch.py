"""The tool dispatcher against a scripted event stream: what it sends, and when."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import json
import threading
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rt_widget.dispatch import MAX_OUTPUT_CHARS, Dispatcher, tool_output
from rt_widget.tools import Tool


class Wire:
    """Collects what the dispatcher sends; waits for it (tools run on other threads)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.pending: list[list[dict[str, Any]]] = []
        self._changed = threading.Condition()

    def send(self, event: dict[str, Any]) -> None:
        with self._changed:
            self.sent.append(event)
            self._changed.notify_all()

    def show(self, pending: list[dict[str, Any]]) -> None:
        self.pending.append(pending)

    def wait(self, count: int, timeout: float = 5) -> list[dict[str, Any]]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.sent) >= count, timeout), self.sent
            return list(self.sent)

    def types(self) -> list[str]:
        return [e["type"] for e in self.sent]

    def outputs(self) -> dict[str, Any]:
        return {e["item"]["call_id"]: e["item"]["output"] for e in self.sent if e["type"] == "conversation.item.create"}


def created(response_id: str = "resp_1") -> dict[str, Any]:
    return {"type": "response.created", "response": {"id": response_id, "status": "in_progress"}}


def arguments_done(call_id: str, name: str, arguments: Any, response_id: str = "resp_1") -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {
        "type": "response.function_call_arguments.done",
        "response_id": response_id,
        "item_id": f"item_{call_id}",
        "output_index": 0,
        "call_id": call_id,
        "name": name,
        "arguments": text,
    }


def done(response_id: str = "resp_1", status: str = "completed", output: list[Any] | None = None) -> dict[str, Any]:
    return {"type": "response.done", "response": {"id": response_id, "status": status, "output": output or []}}


def make(*tools: Any) -> tuple[Dispatcher, Wire]:
    wire = Wire()
    dispatcher = Dispatcher(wire.send, wire.show)
    dispatcher.replace(tools)
    return dispatcher, wire


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


@dataclasses.dataclass
class Place:
    city: str
    country: str = "NO"


def weather(place: Place, unit: Unit = Unit.C, days: float = 1) -> dict[str, Any]:
    """Weather for a place."""
    return {"city": place.city, "unit": unit.value, "days": days, "days_type": type(days).__name__}


def test_a_call_runs_and_the_model_is_asked_to_go_on_after_its_response_is_done():
    dispatcher, wire = make(weather)
    dispatcher.observe(created())
    arguments = {"place": {"city": "Oslo"}, "unit": "fahrenheit", "days": 2}
    dispatcher.observe(arguments_done("call_1", "weather", arguments))
    wire.wait(1)
    time.sleep(0.05)
    assert wire.types() == ["conversation.item.create"]  # the response is still active
    output = json.loads(wire.outputs()["call_1"])
    assert output == {"city": "Oslo", "unit": "fahrenheit", "days": 2.0, "days_type": "float"}
    dispatcher.observe(done())
    assert wire.wait(2)[-1] == {"type": "response.create"}
    [call] = dispatcher.calls
    assert (call.status, call.name, call.response_id) == ("ok", "weather", "resp_1")
    assert call.seconds is not None
    assert call.seconds >= 0


def test_a_response_done_before_the_function_finishes_waits_for_it():
    gate = threading.Event()

    def slow() -> str:
        """Waits for the gate."""
        gate.wait(5)
        return "finally"

    dispatcher, wire = make(slow)
    dispatcher.observe(created())
    dispatcher.observe(arguments_done("call_1", "slow", {}))
    dispatcher.observe(done())
    time.sleep(0.05)
    assert wire.sent == []
    gate.set()
    assert [e["type"] for e in wire.wait(2)] == ["conversation.item.create", "response.create"]
    assert wire.outputs() == {"call_1": "finally"}


def test_several_calls_in_one_response_get_one_response_create_after_all_outputs():
    def add(a: int, b: int) -> int:
        """Adds."""
        return a + b

    async def later(seconds: float) -> str:
        """Sleeps without blocking anyone."""
        await asyncio.sleep(seconds)
        return "awake"

    dispatcher, wire = make(add, later)
    dispatcher.observe(created())
    dispatcher.observe(arguments_done("call_a", "later", {"seconds": 0.2}))
    dispatcher.observe(arguments_done("call_b", "add", {"a": 2, "b": 3}))
    dispatcher.observe(done())
    wire.wait(3)
    time.sleep(0.05)
    assert wire.types() == ["conversation.item.create", "conversation.item.create", "response.create"]
    assert wire.outputs() == {"call_b": "5", "call_a": "awake"}


def test_an_exception_goes_to_the_model_as_an_error_and_the_conversation_continues():
    def broken(x: int) -> float:
        """Divides by zero."""
        return x / 0

    dispatcher, wire = make(broken)
    dispatcher.observe(created())
    dispatcher.observe(arguments_done("call_1", "broken", {"x": 1}))
    dispatcher.observe(done())
    wire.wait(2)
    assert json.loads(wire.outputs()["call_1"]) == {"error": "ZeroDivisionError: division by zero"}
    assert wire.types()[-1] == "response.create"
    assert dispatcher.calls[0].status == "error"


def test_a_timeout_is_reported_to_the_model():
    async def forever() -> None:
        """Never returns."""
        await asyncio.sleep(60)

    dispatcher, wire = make(Tool(forever, timeout=0.1))
    dispatcher.observe(created())
    dispatcher.observe(arguments_done("call_1", "forever", {}))
    dispatcher.observe(done())
    wire.wait(2)
    assert json.loads(wire.outputs()["call_1"]) == {"error": "forever did not finish within 0.1 s."}
    assert dispatcher.calls[0].status == "timeout"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("{not json", "Expecting property name"),
        ("[1, 2]", "must be a JSON object"),
        ({"place": {"city": "Oslo"}, "colour": "red"}, "unexpected keyword argument 'colour'"),
        ({}, "missing a required argument: 'place'"),
        ({"place": {"city": "Oslo"}, "unit": "kelvin"}, "'kelvin' is not a valid Unit"),
    ],
)
def test_arguments_that_do_not_fit_are_sent_back_as_an_error(arguments: Any, message: str):
    dispatcher, wire = make(weather)
    dispatcher.observe(created())
    dispatcher.observe(arguments_done("call_1", "weather", arguments))
    error = json.loads(wire.wait(1)[0]["item"]["output"])["error"]
    assert message in error


def test_a_cancelled_response_gets_its_outputs_but_no_new_response():
    dispatcher, wire = make(weather)
    dispatcher.observe(created())
    dispatcher.observe(arguments_done("call_1", "weather", {"place": {"city": "Oslo"}}))
    dispatcher.observe(done(status="cancelled"))
    wire.wait(1)
    time.sleep(0.1)
    assert wire.types() == ["conversation.item.create"]


def test_the_new_response_waits_while_another_response_is_active():
    dispatcher, wire = make(weather)
    dispatcher.observe(created("resp_1"))
    dispatcher.observe(arguments_done("call_1", "weather", {"place": {"city": "Oslo"}}))
    wire.wait(1)
    dispatcher.observe(done("resp_1"))
    wire.wait(2)
    dispatcher.observe(created("resp_2"))  # the answer to our response.create
    dispatcher.observe(done("resp_2"))
    time.sleep(0.05)
    assert wire.types() == ["conversation.item.create", "response.create"]  # no second one

    # A user turn's response is active when a late result comes: response.create waits for it.
    gate = threading.Event()

    def slow() -> str:
        """Waits for the gate."""
        gate.wait(5)
        return "late"

    dispatcher.replace([slow])
    dispatcher.observe(created("resp_3"))
    dispatcher.observe(arguments_done("call_3", "slow", {}, "resp_3"))
    dispatcher.observe(done("resp_3"))
    dispatcher.observe(created("resp_4"))  # the user spoke meanwhile
    gate.set()
    wire.wait(3)
    time.sleep(0.05)
    assert wire.types()[2:] == ["conversation.item.create"]
    dispatcher.observe(done("resp_4"))
    assert wire.wait(4)[-1] == {"type": "response.create"}


def test_a_call_seen_only_in_response_done_still_runs():
    dispatcher, wire = make(weather)
    item = {
        "type": "function_call",
        "id": "item_1",
        "call_id": "call_1",
        "name": "weather",
        "arguments": json.dumps({"place": {"city": "Tromsø"}}),
        "status": "completed",
    }
    dispatcher.observe(created())
    dispatcher.observe(done(output=[item]))
    dispatcher.observe({"type": "response.output_item.done", "response_id": "resp_1", "item": item})  # a late copy
    wire.wait(2)
    time.sleep(0.05)
    assert wire.types() == ["conversation.item.create", "response.create"]
    assert json.loads(wire.outputs()["call_1"])["city"] == "Tromsø"


def test_calls_of_tools_that_are_not_python_functions_are_left_alone():
    dispatcher, wire = make(weather, {"type": "function", "name": "client_side", "parameters": {}})
    dispatcher.observe(created())
    dispatcher.observe(arguments_done("call_1", "client_side", {}))
    dispatcher.observe(done())
    time.sleep(0.05)
    assert wire.sent == []
    assert dispatcher.calls == []


def test_approval_runs_the_call_and_denial_tells_the_model():
    ran: list[str] = []

    def delete(path: str) -> str:
        """Deletes a file."""
        ran.append(path)
        return "deleted"

    dispatcher, wire = make(Tool(delete, needs_approval=True))
    dispatcher.observe(created())
    dispatcher.observe(arguments_done("call_1", "delete", {"path": "a.txt"}))
    dispatcher.observe(arguments_done("call_2", "delete", {"path": "b.txt"}))
    dispatcher.observe(done())
    assert wire.pending[-1] == [
        {"call_id": "call_1", "name": "delete", "arguments": '{"path": "a.txt"}'},
        {"call_id": "call_2", "name": "delete", "arguments": '{"path": "b.txt"}'},
    ]
    assert wire.sent == []
    assert ran == []
    dispatcher.decide("call_1", approved=True)
    dispatcher.decide("call_2", approved=False, reason="not that one")
    wire.wait(3)
    assert ran == ["a.txt"]
    assert wire.outputs()["call_1"] == "deleted"
    assert json.loads(wire.outputs()["call_2"]) == {"error": "The user denied this call of delete (not that one)."}
    assert wire.types()[-1] == "response.create"
    assert wire.pending[-1] == []
    assert [c.status for c in dispatcher.calls] == ["ok", "denied"]
    with pytest.raises(ValueError, match="No call 'call_2' waits for approval"):
        dispatcher.decide("call_2", approved=True)


def test_a_new_call_lets_unapproved_calls_lapse():
    def delete(path: str) -> str:
        """Deletes a file."""
        return "deleted"

    dispatcher, wire = make(Tool(delete, needs_approval=True))
    dispatcher.observe(created())
    dispatcher.observe(arguments_done("call_1", "delete", {"path": "a.txt"}))
    dispatcher.reset()
    assert wire.pending[-1] == []
    assert dispatcher.calls[0].status == "lapsed"


def test_results_become_json_the_model_can_read():
    frame = pd.DataFrame({"city": ["Oslo", "Bergen"], "temp": [3.5, np.nan], "day": pd.to_datetime(["2026-11-22"] * 2)})
    assert json.loads(tool_output(frame)) == [
        {"city": "Oslo", "temp": 3.5, "day": "2026-11-22T00:00:00.000"},
        {"city": "Bergen", "temp": None, "day": "2026-11-22T00:00:00.000"},
    ]
    assert json.loads(tool_output(frame["temp"])) == {"0": 3.5, "1": None}
    assert json.loads(tool_output({"n": np.int64(3), "x": np.float32(0.5), "a": np.arange(3)})) == {
        "n": 3,
        "x": 0.5,
        "a": [0, 1, 2],
    }
    assert json.loads(tool_output(Place("Oslo"))) == {"city": "Oslo", "country": "NO"}
    assert json.loads(tool_output([Unit.C, datetime.date(2026, 11, 22), {1}])) == ["celsius", "2026-11-22", [1]]
    assert tool_output("plain words") == "plain words"
    assert tool_output(None) == "null"
    assert "could not be turned into JSON" in json.loads(tool_output(object()))["error"]


def test_a_result_too_large_for_the_data_channel_is_refused_with_advice():
    def everything() -> list[int]:
        """Too much."""
        return list(range(MAX_OUTPUT_CHARS))

    dispatcher, wire = make(everything)
    dispatcher.observe(created())
    dispatcher.observe(arguments_done("call_1", "everything", {}))
    error = json.loads(wire.wait(1)[0]["item"]["output"])["error"]
    assert "the limit is 64,000" in error
    assert "Return a summary" in error
