"""Conversation: a running summary of a session, updated one event at a time.

The session's :class:`~rt_widget.EventLog` keeps everything; this keeps only what a view or an
observer wants to follow as it happens (how many events, the last one, the live transcript of
both sides, the response in progress, the running cost), updated in constant time per event
(the transcript's rows are copied only as a list of references). It holds no widget: the
session owns one and tells its watchers what each event changed.
"""

from __future__ import annotations

import logging
from typing import Any

from . import analysis
from ._checks import clip

log = logging.getLogger(__name__)

CAPTION_CHARS = 500
"""How much of the latest utterance ``caption`` keeps (its end: what is being said now)."""

FIELDS = ("event_count", "last_event", "transcript_rows", "active_response", "cost_usd", "caption")
"""What :meth:`Conversation.update` may report as changed, and :meth:`Conversation.snapshot` holds."""

_ITEM_EVENTS = frozenset(
    {
        "conversation.item.added",
        "conversation.item.created",
        "conversation.item.done",
        "response.output_item.added",
        "response.output_item.done",
    }
)
_DELTAS = frozenset(
    {
        "conversation.item.input_audio_transcription.delta",
        "response.output_audio_transcript.delta",
        "response.output_text.delta",
    }
)
_FINALS = frozenset(
    {
        "conversation.item.input_audio_transcription.completed",
        "response.output_audio_transcript.done",
        "response.output_text.done",
    }
)


class Conversation:
    """What a session's events add up to so far, kept up to date event by event.

    Parameters
    ----------
    price_model:
        The model ``cost_usd`` is priced with (see :func:`rt_widget.analysis.response_usd`);
        with no price for it, ``cost_usd`` is ``None``.
    """

    def __init__(self, price_model: str) -> None:
        self._price_model = price_model
        self._priced = _has_price(price_model)
        self._rows: dict[str, dict[str, Any]] = {}  # item id -> row, in order of appearance
        self._values: dict[str, Any] = {
            "event_count": 0,
            "last_event": {},
            "transcript_rows": [],
            "active_response": "",
            "cost_usd": 0.0 if self._priced else None,
            "caption": {"role": "", "text": ""},
        }

    def snapshot(self) -> dict[str, Any]:
        """Every field's current value (the values are not changed later: each change is a new one)."""
        return dict(self._values)

    def update(self, event: dict[str, Any], direction: str, call_id: str | None) -> dict[str, Any]:
        """Take one logged event into account; return the fields it changed, with their new values.

        Every event changes ``event_count`` and ``last_event``; server events may change the
        others. Each value returned is a new object, so one kept by an observer stays as it was.
        """
        count = self._values["event_count"] + 1
        changes: dict[str, Any] = {"event_count": count, "last_event": _summary(count - 1, event, direction, call_id)}
        if direction == "server":
            try:
                self._server_event(event, changes)
            except Exception:  # a foreign shape (a part that is not an object): counted, read no further
                log.debug("an event of type %r could not be summarised", event.get("type"), exc_info=True)
        self._values.update(changes)
        return changes

    # -- server events ---------------------------------------------------------------------------

    def _server_event(self, event: dict[str, Any], changes: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "session.created":
            self._set(changes, "active_response", "")  # a new call: nothing of the old one runs
        elif kind == "response.created":
            self._set(changes, "active_response", _text(_object(event.get("response")).get("id")))
        elif kind == "response.done":
            response = _object(event.get("response"))
            if _text(response.get("id")) == self._values["active_response"] or not response.get("id"):
                self._set(changes, "active_response", "")
            if self._priced:
                spent = analysis.response_usd(response, self._price_model)
                self._set(changes, "cost_usd", self._values["cost_usd"] + spent)
            if response.get("status") == "cancelled":
                for item in map(_object, _list(response.get("output"))):
                    self._edit(changes, _text(item.get("id")), interrupted=True)
        elif kind in _ITEM_EVENTS:
            item = _object(event.get("item"))
            item_id = _text(item.get("id"))
            self._describe(changes, item_id, item)
        elif kind == "input_audio_buffer.committed":
            self._edit(changes, _text(event.get("item_id")), role="user")
        elif kind in _DELTAS:
            item_id = _text(event.get("item_id"))
            row = self._rows.get(item_id)
            text = row["text"] if row is not None else ""
            role = "user" if kind.startswith("conversation.") else "assistant"
            self._edit(changes, item_id, role=role, text=text + _text(event.get("delta")), kind="message")
        elif kind in _FINALS:
            text = event.get("transcript") or event.get("text")
            role = "user" if kind.startswith("conversation.") else "assistant"
            if isinstance(text, str) and text:
                self._edit(changes, _text(event.get("item_id")), role=role, text=text, kind="message")
        elif kind == "conversation.item.truncated":
            self._edit(changes, _text(event.get("item_id")), interrupted=True)
        elif kind == "conversation.item.deleted":
            self._delete(changes, _text(event.get("item_id")))

    def _describe(self, changes: dict[str, Any], item_id: str, item: dict[str, Any]) -> None:
        """An item arrived or finished: its role, kind and (when it has any) text, as analysis reads them."""
        if item_id:
            described = analysis._describe(item, self._rows.get(item_id, {}))  # read as s.transcript() does
            self._edit(changes, item_id, **described)

    def _edit(self, changes: dict[str, Any], item_id: str, **fields: Any) -> None:
        """Change (or add) one transcript row: a new row object, so earlier snapshots stay as they were."""
        if not item_id or item_id.startswith(analysis.CARRIED_PREFIX):
            return  # no item, or a renewed call's copy of what is already there
        old = self._rows.get(item_id)
        base = old or {"item_id": item_id, "role": "user", "kind": "message", "text": "", "interrupted": False}
        row = {**base, **{k: v for k, v in fields.items() if k in base}}
        if row == old:
            return
        self._rows[item_id] = row
        changes["transcript_rows"] = list(self._rows.values())
        if row["kind"] == "message" and row["text"]:
            text = row["text"]
            tail = text if len(text) <= CAPTION_CHARS else "…" + text[-(CAPTION_CHARS - 1) :]
            self._set(changes, "caption", {"role": row["role"], "text": tail})

    def _delete(self, changes: dict[str, Any], item_id: str) -> None:
        if self._rows.pop(item_id, None) is not None:
            changes["transcript_rows"] = list(self._rows.values())

    def _set(self, changes: dict[str, Any], name: str, value: Any) -> None:
        if value != self._values[name]:
            changes[name] = value


def _summary(index: int, event: dict[str, Any], direction: str, call_id: str | None) -> dict[str, Any]:
    """What ``last_event`` shows of an event: its place in the log, type, direction and ids, never its payload.

    The place makes each summary differ from the one before (two deltas in a row look alike otherwise).
    """
    item = _object(event.get("item"))
    response = _object(event.get("response"))
    return {
        "index": index,
        "type": clip(_text(event.get("type")), 100),
        "direction": direction,
        "call_id": call_id or "",
        "item_id": _text(event.get("item_id")) or _text(item.get("id")),
        "response_id": _text(event.get("response_id")) or _text(response.get("id")),
    }


def _has_price(model: str) -> bool:
    try:
        analysis.prices_for(model)
    except analysis.UnknownModelError:
        return False
    return True


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
