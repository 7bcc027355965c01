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
KINDS = st.sampled_from(["view", "events", "call", "approval", "stats", "bogus", None, 5])
FIELDS = st.sampled_from(["stream", "events", "call_id", "approved", "t", "stats", "id"])
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
    widget._reply = lambda msg, page: None  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING):
        widget._on_message(message)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    good_batch(widget, "fresh-stream")
    assert widget.events.types[-1] == "session.created"
    widget.close()
