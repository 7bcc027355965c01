"""Whatever a page sends the kernel (a buggy front end, a stale bundle), nothing breaks.

Messages over the comm or the link reach ``Realtime._on_message``. Generated messages of every
known kind with fields of every JSON type must be dropped or used, never raise, and the widget
must go on logging a good batch afterwards.
"""

from __future__ import annotations

import logging
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rt_widget as rt
from rt_widget.providers import Local

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
KINDS = st.sampled_from(["view", "events", "call", "approval", "stats", "audio", "bogus", None, 5])
FIELDS = st.sampled_from(
    ["stream", "events", "call_id", "approved", "t", "stats", "id", "segment", "index", "rate", "samples", "buffers"]
)
MESSAGES = st.one_of(
    JSON,  # not even an object
    st.builds(lambda kind, fields: {"kind": kind, **fields}, KINDS, st.dictionaries(FIELDS, JSON, max_size=4)),
)


def good_batch(widget: rt.Realtime, stream: str) -> None:
    event = {"seq": 0, "direction": "server", "t": 1.7e12, "call_id": None, "event": {"type": "session.created"}}
    widget._on_message({"kind": "events", "stream": stream, "events": [event]})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=MESSAGES)
def test_any_page_message_is_used_or_dropped_never_raised(message: Any, caplog) -> None:
    widget = rt.Realtime(provider=Local())
    widget._page.reply = lambda msg, page: None  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING):
        widget._on_message(message)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    good_batch(widget, "fresh-stream")
    assert widget.events.types[-1] == "session.created"
    widget.close()


def server_event(seq: int, event: dict[str, Any]) -> dict[str, Any]:
    return {"seq": seq, "direction": "server", "t": 1.7e12 + seq, "call_id": "rtc_1", "event": event}


ODD_EVENTS = [
    {"type": "response.created", "response": None},
    {"type": "response.created", "response": [1, 2]},
    {"type": "response.done", "response": None},
    {"type": "response.done", "response": {"id": ["not", "a", "string"], "output": [None, 5, {"type": None}]}},
    {"type": "response.done", "response": {"id": "resp_1", "output": "x", "usage": "lots"}},
    {"type": "response.output_item.done", "item": None},
    {"type": "response.function_call_arguments.done", "call_id": ["x"], "name": None, "response_id": {}},
]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    odd=st.sampled_from(ODD_EVENTS)
    | st.builds(
        lambda t, f: {"type": t, **f},
        st.text(max_size=30),
        st.dictionaries(
            st.sampled_from(["response", "item", "call_id", "name", "response_id", "output"]), JSON, max_size=3
        ),
    )
)
def test_a_server_event_of_any_shape_is_logged_with_the_rest_of_its_batch(odd: dict[str, Any]) -> None:
    widget = rt.Realtime(provider=Local(), budget_usd=1.0)
    batch = [server_event(0, odd), server_event(1, {"type": "session.created", "event_id": "event_b"})]
    widget._on_message({"kind": "events", "stream": "s", "events": batch})
    assert len(widget.events) == 2
    assert widget.events.types[-1] == "session.created"
    widget.close()
