"""Hostile client events, generated over the whole event catalog, never deafen a call.

Each generated message is bad by construction (a field of the wrong JSON kind, an unknown or a
missing field, a number out of range, an unknown type, or a message that does not decode). Each
must produce an ``error`` event naming what was wrong, leave no response without its
``response.done``, and leave the session answering a good turn in full. Most cases go straight
to an :class:`Engine`; a sample goes over a real call, on the data channel and on the sideband.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from rt_widget import Emulator
from rt_widget.protocol import CLIENT_EVENTS
from tests.conformance import assert_server_event
from tests.harness import Harness, run
from tests.rtc_client import RtcClient

TOOL = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
USER_ITEM = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}
VALID: dict[str, dict[str, Any]] = {
    "session.update": {"session": {"type": "realtime", "instructions": "Be brief.", "tools": [TOOL]}},
    "input_audio_buffer.append": {"audio": base64.b64encode(bytes(480)).decode()},
    "input_audio_buffer.commit": {},
    "input_audio_buffer.clear": {},
    "conversation.item.create": {"item": USER_ITEM, "previous_item_id": None},
    "conversation.item.retrieve": {"item_id": "item_x"},
    "conversation.item.truncate": {"item_id": "item_x", "content_index": 0, "audio_end_ms": 10},
    "conversation.item.delete": {"item_id": "item_x"},
    "response.create": {
        "response": {
            "conversation": "auto",
            "instructions": "Be brief.",
            "output_modalities": ["text"],
            "max_output_tokens": 100,
            "metadata": {"purpose": "fuzz"},
            "tools": [TOOL],
            "tool_choice": "auto",
            "audio": {"output": {"voice": "alloy"}},
            "input": [USER_ITEM],
        }
    },
    "response.cancel": {"response_id": "resp_x"},
    "output_audio_buffer.clear": {},
}
"""A valid event of every client type (the mutations below make each one invalid)."""

Path = tuple[str | int, ...]
# Fields and the JSON kinds they accept ("?" = null accepted too).
KINDS: dict[str, dict[Path, str]] = {
    "session.update": {("session",): "object", ("session", "instructions"): "string", ("session", "tools"): "array"},
    "input_audio_buffer.append": {("audio",): "string"},
    "conversation.item.create": {
        ("item",): "object",
        ("item", "type"): "string",
        ("item", "role"): "string",
        ("item", "content"): "array",
        ("item", "content", 0): "object",
        ("item", "content", 0, "text"): "string",
        ("previous_item_id",): "string?",
    },
    "conversation.item.retrieve": {("item_id",): "string"},
    "conversation.item.truncate": {
        ("item_id",): "string",
        ("content_index",): "integer",
        ("audio_end_ms",): "integer",
    },
    "conversation.item.delete": {("item_id",): "string"},
    "response.create": {
        ("response",): "object?",
        ("response", "conversation"): "string?",
        ("response", "instructions"): "string?",
        ("response", "output_modalities"): "array?",
        ("response", "max_output_tokens"): "integer string?",
        ("response", "metadata"): "object?",
        ("response", "metadata", "purpose"): "string",
        ("response", "tools"): "array?",
        ("response", "tools", 0): "object",
        ("response", "tools", 0, "name"): "string",
        ("response", "tools", 0, "parameters"): "object",
        ("response", "tool_choice"): "string object?",
        ("response", "audio"): "object?",
        ("response", "audio", "output"): "object?",
        ("response", "audio", "output", "voice"): "string object?",
        ("response", "input"): "array?",
        ("response", "input", 0): "object",
        ("response", "input", 0, "content"): "array",
    },
    "response.cancel": {("response_id",): "string?"},
}
REQUIRED: dict[str, list[Path]] = {
    "session.update": [("session",), ("session", "type")],
    "input_audio_buffer.append": [("audio",)],
    "conversation.item.create": [("item",), ("item", "type"), ("item", "role"), ("item", "content")],
    "conversation.item.retrieve": [("item_id",)],
    "conversation.item.truncate": [("item_id",), ("content_index",), ("audio_end_ms",)],
    "conversation.item.delete": [("item_id",)],
    "response.create": [("response", "tools", 0, "name"), ("response", "input", 0, "type")],
}
OBJECTS: dict[str, list[Path]] = {  # objects whose keys are checked (not metadata, not a tool's schema)
    "session.update": [(), ("session",)],
    "conversation.item.create": [(), ("item",), ("item", "content", 0)],
    "response.create": [(), ("response",), ("response", "audio"), ("response", "tools", 0), ("response", "input", 0)],
}
RANGES: list[tuple[str, Path, Any, str, str]] = [  # type, path, value, code, param
    ("conversation.item.truncate", ("audio_end_ms",), -1, "integer_below_min_value", "audio_end_ms"),
    ("conversation.item.truncate", ("audio_end_ms",), 10**40, "integer_above_max_value", "audio_end_ms"),
    ("conversation.item.truncate", ("content_index",), -5, "integer_below_min_value", "content_index"),
    ("response.create", ("response", "max_output_tokens"), 0, "integer_below_min_value", "response.max_output_tokens"),
    (
        "response.create",
        ("response", "max_output_tokens"),
        4097,
        "integer_above_max_value",
        "response.max_output_tokens",
    ),
    (
        "response.create",
        ("response", "metadata", "purpose"),
        "x" * 513,
        "string_above_max_length",
        "response.metadata.purpose",
    ),
    ("conversation.item.create", ("item", "role"), "robot", "invalid_value", "item.role"),
    ("conversation.item.create", ("item", "id"), "x" * 33, "string_above_max_length", "item.id"),
    (
        "response.create",
        ("response", "output_modalities"),
        ["audio", "text"],
        "invalid_value",
        "response.output_modalities",
    ),
    ("response.create", ("response", "conversation"), "conv_other", "invalid_value", "response.conversation"),
    (
        "response.create",
        ("response", "tool_choice"),
        {"type": "function", "name": "nope"},
        "invalid_value",
        "response.tool_choice.name",
    ),
    ("response.create", ("response", "tools", 0, "name"), "has space", "invalid_value", "response.tools[0].name"),
    ("session.update", ("session", "type"), "transcription", "invalid_value", "session.type"),
    (
        "session.update",
        ("session", "tool_choice"),
        {"type": "function", "name": "nope"},
        "invalid_value",
        "session.tool_choice.name",
    ),
    ("input_audio_buffer.append", ("audio",), "not base64!", "invalid_value", "audio"),
]


@dataclass(frozen=True)
class Hostile:
    """One bad client message and what its error must say."""

    message: str | bytes
    code: str | None = None  # None: any invalid_request_error code
    param: str | None = None
    binary: bool = False

    def __repr__(self) -> str:
        shown = self.message if len(self.message) < 300 else self.message[:300]
        return f"Hostile({shown!r}, code={self.code!r}, param={self.param!r})"


def param_of(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def event_of(type_: str) -> dict[str, Any]:
    return {"type": type_, "event_id": "evt_fuzz", **copy.deepcopy(VALID[type_])}


def put(event: dict[str, Any], path: Path, value: Any) -> None:
    target: Any = event
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def delete(event: dict[str, Any], path: Path) -> None:
    target: Any = event
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]


def nested(depth: int) -> Any:
    value: Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


JSON_SCALARS = {
    "null": st.none(),
    "boolean": st.booleans(),
    "integer": st.integers(-(10**90), 10**90),
    "number": st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    "string": st.text(max_size=20) | st.just("x" * 100_000),
    "array": st.lists(st.integers() | st.text(max_size=5), max_size=3) | st.integers(1, 40).map(lambda d: [nested(d)]),
    "object": st.dictionaries(st.text(max_size=5), st.integers() | st.none(), max_size=3),
}


def wrong_value(accepted: str) -> st.SearchStrategy[Any]:
    kinds = set(accepted.rstrip("?").split())
    others = [k for k in JSON_SCALARS if k not in kinds and not (k == "null" and accepted.endswith("?"))]
    return st.one_of([JSON_SCALARS[k] for k in others])


@st.composite
def wrong_kinds(draw: st.DrawFn) -> Hostile:
    type_ = draw(st.sampled_from(sorted(KINDS)))
    path = draw(st.sampled_from(sorted(KINDS[type_], key=str)))
    event = event_of(type_)
    put(event, path, draw(wrong_value(KINDS[type_][path])))
    return Hostile(json.dumps(event), "invalid_type", param_of(path))


@st.composite
def bad_event_ids(draw: st.DrawFn) -> Hostile:
    event = event_of(draw(st.sampled_from(sorted(VALID))))
    event["event_id"] = draw(wrong_value("string?"))
    return Hostile(json.dumps(event), "invalid_type", "event_id")


@st.composite
def unknown_fields(draw: st.DrawFn) -> Hostile:
    type_ = draw(st.sampled_from(sorted(OBJECTS)))
    path = draw(st.sampled_from(OBJECTS[type_]))
    key = "zz_" + draw(st.text(alphabet="abcdefghij_", max_size=8))
    event = event_of(type_)
    put(event, (*path, key), draw(st.integers() | st.text(max_size=4) | st.none()))
    return Hostile(json.dumps(event), "unknown_parameter", param_of((*path, key)))


@st.composite
def missing_fields(draw: st.DrawFn) -> Hostile:
    type_ = draw(st.sampled_from(sorted(REQUIRED)))
    path = draw(st.sampled_from(REQUIRED[type_]))
    event = event_of(type_)
    delete(event, path)
    return Hostile(json.dumps(event), "missing_required_parameter", param_of(path))


@st.composite
def out_of_range(draw: st.DrawFn) -> Hostile:
    type_, path, value, code, param = draw(st.sampled_from(RANGES))
    event = event_of(type_)
    put(event, path, value)
    return Hostile(json.dumps(event), code, param)


unknown_types = (
    st.text(max_size=30).filter(lambda t: t not in CLIENT_EVENTS).map(lambda t: {"type": t})
    | st.sampled_from([{"type": 5}, {"type": None}, {"type": ["response.create"]}, {"type": "session.updated"}])
).map(lambda e: Hostile(json.dumps(e), "invalid_value", "type"))


@st.composite
def undecodable(draw: st.DrawFn) -> Hostile:
    good = json.dumps(event_of(draw(st.sampled_from(sorted(VALID)))))
    choice = draw(st.integers(0, 8))
    if choice == 0:  # deep nesting, in a field or on its own
        depth = draw(st.integers(65, 5000))
        inner = "[" * depth + "]" * depth
        return Hostile(draw(st.sampled_from([inner, good[:-1] + ', "x": ' + inner + "}"])), "invalid_json")
    if choice == 1:
        digits = draw(st.integers(101, 6000))
        return Hostile(good[:-1] + ', "n": ' + "7" * digits + "}", "invalid_json")
    if choice == 2:
        literal = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e999"]))
        return Hostile(good[:-1] + f', "n": {literal}}}', "invalid_json")
    if choice == 3:  # not UTF-8
        junk = draw(st.binary(min_size=1, max_size=20).map(lambda b: b"\xff" + b))
        return Hostile(good.encode()[:10] + junk + good.encode()[10:], "invalid_json", binary=True)
    if choice == 4:  # cut short
        return Hostile(good[: draw(st.integers(0, len(good) - 1))], "invalid_json")
    if choice == 5:
        escape = draw(st.sampled_from(["\\ud83d", "\\udc00", "\\udfff x"]))
        return Hostile(good[:-1] + f', "s": "{escape}"}}', "invalid_json")
    if choice == 6:  # JSON, but not an object
        value = draw(st.sampled_from(["[]", "5", '"response.create"', "null", "true", '[{"type": "response.create"}]']))
        return Hostile(value, "invalid_event")
    if choice == 7:
        return Hostile(draw(st.text(max_size=40).filter(lambda t: not t.strip().startswith(("{", "[")))))
    return Hostile(good.encode("utf-16"), "invalid_json", binary=True)


HOSTILE = (
    wrong_kinds()
    | bad_event_ids()
    | unknown_fields()
    | missing_fields()
    | out_of_range()
    | unknown_types
    | undecodable()
)


def check_error(error: dict[str, Any], hostile: Hostile) -> None:
    assert error["type"] == "invalid_request_error", error
    if hostile.code is not None:
        assert error["code"] == hostile.code, error
    if hostile.param is not None:
        assert error["param"] == hostile.param, error
    assert len(error["message"]) < 400, error  # never a whole hostile value echoed back


# -- straight to an engine ----------------------------------------------------------------


@settings(max_examples=220, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile=HOSTILE)
def test_every_hostile_event_gets_an_error_and_the_engine_keeps_serving(hostile):
    async def body():
        h = Harness()
        await h.engine.receive(hostile.message)
        errors = [e["error"] for e in h.events if e["type"] == "error"]
        assert len(errors) == 1, (hostile, h.types())
        check_error(errors[0], hostile)
        await h.settle()
        assert h.types().count("response.created") == h.types().count("response.done")

        before = len(h.events)
        await h.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
        await h.send({"type": "conversation.item.create", "item": USER_ITEM})
        await h.send({"type": "response.create"})
        await h.settle()
        after = h.events[before:]
        assert [e["type"] for e in after if e["type"] == "error"] == []
        done = h.last("response.done")["response"]
        assert done["status"] == "completed"
        assert done["output"][0]["content"][0]["text"]

    run(body)


def test_every_valid_base_event_is_accepted():
    """The mutations start from valid events, so their errors come from the mutation."""

    async def body():
        h = Harness()
        for type_ in VALID:
            if type_ in ("conversation.item.retrieve", "conversation.item.truncate", "conversation.item.delete"):
                continue  # they name an item that does not exist
            if type_ in ("response.cancel", "input_audio_buffer.commit"):
                continue  # nothing to cancel or commit
            await h.send(event_of(type_))
            await h.settle()
        assert "error" not in h.types(), [e for e in h.events if e["type"] == "error"]

    run(body)


# -- over a real call: the data channel and the sideband ------------------------------------


class RealCall:
    """A real WebRTC call to a real emulator, plus a sideband WebSocket joined to it."""

    def __init__(self, emu: Emulator) -> None:
        self.client = RtcClient()
        files = {
            "sdp": (None, self.client.offer(), "application/sdp"),
            "session": (None, json.dumps({"type": "realtime", "output_modalities": ["text"]}), "application/json"),
        }
        auth = {"Authorization": f"Bearer {emu.api_key}"}
        answer = httpx.post(f"{emu.base_url}/realtime/calls", files=files, headers=auth, timeout=30)
        assert answer.status_code == 201, answer.text
        self.client.accept(answer.text)
        self.client.wait_for("session.created")
        call_id = answer.headers["location"].rsplit("/", 1)[-1]
        url = emu.base_url.replace("http://", "ws://") + f"/realtime?call_id={call_id}"
        self.sideband = connect(url, additional_headers=auth, max_size=None)
        self.sideband_events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.pings = 0

    def _read(self) -> None:
        try:
            for message in self.sideband:
                self.sideband_events.append(json.loads(message))
        except Exception:  # closed at the end of the test
            return

    def send_raw(self, message: str | bytes, *, sideband: bool) -> None:
        if sideband:
            self.sideband.send(message)
        else:
            self.client.send_raw(message)

    def round_trip(self, message: str | bytes, *, sideband: bool) -> list[dict[str, Any]]:
        """Send ``message`` then a ping on the same path; the server events in between."""
        start = len(self.client.events)
        self.send_raw(message, sideband=sideband)
        self.pings += 1
        self.send_raw(json.dumps({"type": "input_audio_buffer.clear"}), sideband=sideband)
        deadline = time.monotonic() + 10
        while sum(e["type"] == "input_audio_buffer.cleared" for e in self.client.events) < self.pings:
            assert time.monotonic() < deadline, [e["type"] for e in self.client.events[start:]]
            time.sleep(0.01)
        return self.client.events[start:]

    def close(self) -> None:
        self.sideband.close()
        self.client.close()


@pytest.fixture(scope="module")
def real_call() -> Iterator[RealCall]:
    with Emulator() as emu:
        call = RealCall(emu)
        yield call
        call.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(hostile=HOSTILE.filter(lambda h: len(h.message) < 60_000), sideband=st.booleans())
def test_hostile_events_over_a_real_call_get_errors(real_call, hostile, sideband, capfd, caplog):
    between = real_call.round_trip(hostile.message, sideband=sideband)
    errors = [e for e in between if e["type"] == "error"]
    assert len(errors) == 1, (hostile, [e["type"] for e in between])
    assert_server_event(errors[0])
    check_error(errors[0]["error"], hostile)
    assert "Traceback" not in capfd.readouterr().err
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR", "CRITICAL") or r.exc_info]


@pytest.mark.parametrize("sideband", [True, False], ids=["sideband", "data channel"])
def test_a_binary_message_gets_an_error_on_either_path(real_call, sideband):
    between = real_call.round_trip(b'{"type": "response.create"\xff}', sideband=sideband)
    errors = [e["error"] for e in between if e["type"] == "error"]
    assert len(errors) == 1
    assert errors[0]["code"] == "invalid_json"
    assert "not UTF-8" in errors[0]["message"]


def test_after_the_hostile_events_the_real_call_answers_in_full(real_call, capfd, caplog):
    # Runs after the property test above (file order): the same call, still serving.
    events = real_call.client.events
    assert real_call.pings >= 40  # the property test ran on this call first
    start = len(events)
    real_call.send_raw(json.dumps({"type": "conversation.item.create", "item": USER_ITEM}), sideband=False)
    real_call.send_raw(json.dumps({"type": "response.create"}), sideband=False)
    deadline = time.monotonic() + 10
    while not any(e["type"] == "response.done" for e in events[start:]):
        assert time.monotonic() < deadline, [e["type"] for e in events[start:]]
        time.sleep(0.02)
    done = next(e for e in events[start:] if e["type"] == "response.done")
    assert done["response"]["status"] == "completed"
    text = next(e for e in events[start:] if e["type"] == "response.output_text.done")["text"]
    assert "Hello" in text
    created = sum(e["type"] == "response.created" for e in events)
    assert created == sum(e["type"] == "response.done" for e in events)
    deadline = time.monotonic() + 5
    while not any(e["type"] == "response.done" for e in real_call.sideband_events) and time.monotonic() < deadline:
        time.sleep(0.02)
    sideband_errors = sum(e["type"] == "error" for e in real_call.sideband_events)
    assert sideband_errors == sum(e["type"] == "error" for e in events) > 0  # the sideband saw every error too
    assert "Traceback" not in capfd.readouterr().err
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR", "CRITICAL") or r.exc_info]
