"""From events to tables: transcript, turns and latency, token usage and cost.

Every function takes an :class:`~rt_widget.EventLog` (live or loaded) and returns a pandas
DataFrame. Times are Unix seconds: the browser's receive time where there is one, else the
kernel's arrival time. An empty log gives empty tables; events without the fields an analysis
reads (a foreign or truncated log) are read as far as they go, never as an internal error.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd

from .events import EventLog
from .recording.store import Recording

PRICES_AS_OF = "2026-08-21"


@dataclass(frozen=True)
class Prices:
    """USD per 1M tokens."""

    text_in: float
    text_cached: float
    text_out: float
    audio_in: float
    audio_cached: float
    audio_out: float
    image_in: float = 0.0
    image_cached: float = 0.0


_REALTIME = Prices(4.00, 0.40, 16.00, 32.00, 0.40, 64.00, 5.00, 0.50)
_MINI = Prices(0.60, 0.06, 2.40, 10.00, 0.30, 20.00, 0.80, 0.08)
# OpenAI's published prices on PRICES_AS_OF (reference/realtime-protocol.md section 8). Pass your
# own table to cost(prices=...) when they change; Azure uses the same global prices.
PRICES: dict[str, Prices] = {
    "gpt-realtime": _REALTIME,
    "gpt-realtime-2025-08-28": _REALTIME,
    "gpt-realtime-1.5": _REALTIME,
    "gpt-realtime-2": Prices(4.00, 0.40, 24.00, 32.00, 0.40, 64.00, 5.00, 0.50),
    "gpt-realtime-2.1": Prices(4.00, 0.40, 24.00, 32.00, 0.40, 64.00, 5.00, 0.50),
    "gpt-realtime-mini": _MINI,
    "gpt-realtime-mini-2025-10-06": _MINI,
    "gpt-realtime-mini-2025-12-15": _MINI,
    "gpt-realtime-2.1-mini": _MINI,
    "gpt-4o-realtime-preview": Prices(5.00, 2.50, 20.00, 40.00, 2.50, 80.00),
    "gpt-4o-mini-realtime-preview": Prices(0.60, 0.30, 2.40, 10.00, 0.30, 20.00),
}

USAGE_COLUMNS = [
    "input_text",
    "input_audio",
    "input_image",
    "cached_text",
    "cached_audio",
    "cached_image",
    "output_text",
    "output_audio",
    "input_tokens",
    "output_tokens",
    "total_tokens",
]
_USD = ["usd_text_in", "usd_audio_in", "usd_image_in", "usd_text_out", "usd_audio_out"]


class UnknownModelError(KeyError):
    """No price is known for a model; the message lists the known ones and what to pass."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


def check_log(log: Any, where: str) -> EventLog:
    """The event log of ``log`` (an :class:`~rt_widget.EventLog`, or a recording's).

    Anything else is a ``TypeError`` naming ``where``.
    """
    if isinstance(log, Recording):
        return log.events
    if not isinstance(log, EventLog):
        hint = " (a file: load it with rt.EventLog.load(path) or rt.load(folder) first)" if isinstance(log, str) else ""
        raise TypeError(
            f"{where}() takes an rt.EventLog, such as s.events, or a recording{hint}; got {type(log).__name__}."
        )
    return log


def _response(event: dict[str, Any]) -> dict[str, Any]:
    """The ``response`` of a ``response.done`` (empty when a foreign log has none)."""
    response = event.get("response")
    return response if isinstance(response, dict) else {}


class _Row(NamedTuple):
    type: str
    event: dict[str, Any]
    item_id: str | None
    response_id: str | None
    previous_item_id: str | None
    call_id: str | None
    t: float


def _server(log: EventLog) -> list[_Row]:
    """The server events, light: the fields the analyses read, and one time per event.

    Of each run of deltas only the first is kept (the timelines need when output began); the
    matching ``.done`` event carries the full text.
    """
    names = ("direction", "type", "event", "item_id", "response_id", "previous_item_id", "call_id")
    rows = []
    seen_deltas: set[tuple[str, str | None]] = set()
    for direction, type_, event, item, response, previous, call, t_browser, t_kernel in log.rows(
        *names, "t_browser", "t_kernel"
    ):
        if direction != "server" or not isinstance(type_, str) or not isinstance(event, dict):
            continue  # a foreign log may hold anything: read what fits
        if type_.endswith(".delta"):
            key = (type_, response or item)
            if key in seen_deltas:
                continue
            seen_deltas.add(key)
        t = float(t_browser if t_browser is not None else t_kernel or 0.0)
        rows.append(_Row(type_, event, item, response, previous, call, t))
    return rows


# -- transcript ------------------------------------------------------------------------------


def transcript(log: EventLog | Recording) -> pd.DataFrame:
    """One row per conversation item, in conversation order (``previous_item_id``), not arrival.

    Columns: ``item_id``, ``role`` (user, assistant, system or tool), ``kind`` (message,
    function_call, function_call_output), ``text`` (typed text, the user's transcription or
    the model's transcript; a call as ``name(arguments)``), ``start``, ``end``,
    ``interrupted``.
    """
    log = check_log(log, "transcript")
    return _transcript(_server(log))


CARRIED_PREFIX = "rtwc_"
"""Ids of the messages a renewed call was given to carry the conversation on (not counted again)."""


def _transcript(rows: list[_Row]) -> pd.DataFrame:
    order = _Order()
    items: dict[str, dict[str, Any]] = {}
    starts: dict[str | None, str | None] = {}  # per call, the item its conversation follows

    def place(item_id: str, previous: str | None, call_id: str | None) -> None:
        order.place(item_id, previous, starts.setdefault(call_id, order.last))

    for r in rows:
        event, kind, t = r.event, r.type, r.t
        item_id = r.item_id
        if not item_id or kind.endswith(".delta"):  # the matching .done carries the text and the end time
            continue
        if item_id.startswith(CARRIED_PREFIX):
            continue  # a renewed call's copy of what is already here
        entry = items.get(item_id)
        if entry is None:
            entry = items[item_id] = {"start": t, "end": t, "text": "", "interrupted": False}
        elif t > entry["end"]:
            entry["end"] = t
        if kind in ("conversation.item.added", "conversation.item.done", "conversation.item.created"):
            item = event.get("item") or {}
            entry.update(_describe(item, entry))
            place(item_id, r.previous_item_id, r.call_id)
        elif kind == "response.output_item.done":  # the final item (beta logs have no item.done)
            entry.update(_describe(event.get("item") or {}, entry))
        elif kind == "input_audio_buffer.committed":
            entry.setdefault("role", "user")
            place(item_id, r.previous_item_id, r.call_id)
        elif kind == "conversation.item.input_audio_transcription.completed":
            entry["text"] = event.get("transcript") or entry["text"]
        elif kind in ("response.output_audio_transcript.done", "response.output_text.done"):
            entry["text"] = event.get("transcript") or event.get("text") or entry["text"]
        elif kind == "conversation.item.truncated":
            entry["interrupted"] = True
        elif kind == "conversation.item.deleted":
            order.remove(item_id)
    for r in rows:
        if r.type == "response.done" and _response(r.event).get("status") == "cancelled":
            for item in _response(r.event).get("output") or []:
                if item.get("id") in items:
                    items[item["id"]]["interrupted"] = True
    table = [
        {
            "item_id": item_id,
            "role": items[item_id].get("role", "user"),
            "kind": items[item_id].get("kind", "message"),
            "text": items[item_id]["text"],
            "start": items[item_id]["start"],
            "end": items[item_id]["end"],
            "interrupted": items[item_id]["interrupted"],
        }
        for item_id in order
    ]
    return pd.DataFrame(table, columns=["item_id", "role", "kind", "text", "start", "end", "interrupted"])


class _Order:
    """Conversation order as a doubly linked list: O(1) inserts after any item."""

    def __init__(self) -> None:
        self._next: dict[str | None, str | None] = {None: None}  # None is the head sentinel
        self._prev: dict[str, str | None] = {}
        self._last: str | None = None

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._prev

    @property
    def last(self) -> str | None:
        """The last item so far (``None`` when there is none)."""
        return self._last

    def place(self, item_id: str, previous: str | None, start: str | None = None) -> None:
        """Put ``item_id`` after ``previous``; ``None`` means at the start of its call (GA semantics).

        A call's conversation starts after ``start``, the last item of the calls before it.
        """
        if item_id in self._prev:
            return
        after = start if previous is None else previous if previous in self._prev else self._last
        following = self._next[after]
        self._next[after], self._next[item_id] = item_id, following
        self._prev[item_id] = after
        if following is None:
            self._last = item_id
        else:
            self._prev[following] = item_id

    def remove(self, item_id: str) -> None:
        """Take ``item_id`` out (``conversation.item.deleted``)."""
        if item_id not in self._prev:
            return
        before, after = self._prev.pop(item_id), self._next.pop(item_id)
        self._next[before] = after
        if after is None:
            self._last = before
        else:
            self._prev[after] = before

    def __iter__(self) -> Iterator[str]:
        current = self._next[None]
        while current is not None:
            yield current
            current = self._next[current]


def _describe(item: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    kind = item.get("type", "message")
    out: dict[str, Any] = {"kind": kind}
    if kind == "function_call":
        out.update(role="assistant", text=f"{item.get('name')}({item.get('arguments') or ''})")
    elif kind == "function_call_output":
        out.update(role="tool", text=str(item.get("output", "")))
    else:
        out["role"] = item.get("role", entry.get("role", "user"))
        words = [
            part.get("text") or part.get("transcript")
            for part in item.get("content") or []
            if part.get("text") or part.get("transcript")
        ]
        if words:
            out["text"] = " ".join(words)
    if item.get("status") == "incomplete":
        out["interrupted"] = True
    return out


# -- turns -----------------------------------------------------------------------------------

# The events whose first occurrence (per item or response) makes a turn's timeline.
_TIMELINE = frozenset(
    {
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.input_audio_transcription.completed",
        "output_audio_buffer.started",
        "output_audio_buffer.stopped",
        "output_audio_buffer.cleared",
        "response.output_audio_transcript.delta",
        "response.output_text.delta",
    }
)

_OUTPUT = frozenset(
    {"response.output_audio_transcript.delta", "response.output_text.delta", "output_audio_buffer.started"}
)

TURN_COLUMNS = [
    "item_id",
    "speech_started",
    "speech_stopped",
    "committed",
    "transcribed",
    "response_created",
    "first_audio",
    "response_done",
    "audio_stopped",
    "user_text",
    "tool_calls",
    "responses",
    "status",
    "latency_s",
    "response_latency_s",
]


def turns(log: EventLog | Recording) -> pd.DataFrame:
    """One row per user turn, with its timeline and the derived latencies.

    Given a recording with audio, the figures its tracks show are added (see
    :func:`rt_widget.recording.audio_analysis.audio_turns`): ``speech_ended``, ``first_heard``,
    ``silence_s``, ``overlap_s``, ``heard_s``, and where the service's VAD placed the speech,
    ``vad_start`` and ``vad_end``.

    ``latency_s`` is end of user speech (``speech_stopped``; for typed turns, the item's
    creation) to the first model audio (``output_audio_buffer.started``, or the first output
    delta in text sessions). ``status`` is the last response's (completed, cancelled, failed,
    incomplete). ``tool_calls`` counts function calls made while answering the turn.
    """
    recording = log if isinstance(log, Recording) else None
    log = check_log(log, "turns")
    rows = _server(log)
    items = _transcript(rows)
    users = items[items["role"] == "user"]
    first: dict[tuple[str, str], float] = {}
    created: list[tuple[float, str]] = []  # (time, response id), in time order
    done: dict[str, _Row] = {}
    for r in rows:
        if r.type in _TIMELINE:
            # Output is looked up by its response; input by its item.
            key = (r.type, (r.response_id if r.type in _OUTPUT else r.item_id) or r.item_id or r.response_id or "")
            if key not in first:
                first[key] = r.t
        if r.type == "response.created" and r.response_id:
            created.append((r.t, r.response_id))
        elif r.type == "response.done" and r.response_id:
            done[r.response_id] = r
    created.sort()
    created_times = [t for t, _ in created]
    user_rows: list[dict[str, Any]] = [{str(k): v for k, v in u.items()} for u in users.to_dict("records")]
    table = []
    for i, user in enumerate(user_rows):
        item_id, user_start = str(user["item_id"]), float(user["start"])
        start = first.get(("input_audio_buffer.committed", item_id), user_start)
        stop = float(user_rows[i + 1]["start"]) if i + 1 < len(user_rows) else float("inf")
        window = created[bisect.bisect_left(created_times, start) : bisect.bisect_left(created_times, stop)]
        ids = [rid for _, rid in window]
        # The first audio of the turn: a tool call's response has none, its follow-up does.
        first_audio = next((t for t in (_first_output(first, rid) for rid in ids) if t is not None), None)
        spoke_until = first.get(("input_audio_buffer.speech_stopped", item_id))
        end_of_input = spoke_until if spoke_until is not None else user_start
        last_done = done.get(ids[-1]) if ids else None
        calls = sum(
            1
            for rid in ids
            for item in (_response(done[rid].event).get("output") or [] if rid in done else [])
            if item.get("type") == "function_call"
        )
        table.append(
            {
                "item_id": item_id,
                "speech_started": first.get(("input_audio_buffer.speech_started", item_id)),
                "speech_stopped": spoke_until,
                "committed": first.get(("input_audio_buffer.committed", item_id)),
                "transcribed": first.get(("conversation.item.input_audio_transcription.completed", item_id)),
                "response_created": window[0][0] if window else None,
                "first_audio": first_audio,
                "response_done": last_done.t if last_done else None,
                "audio_stopped": _audio_end(first, ids),
                "user_text": user["text"],
                "tool_calls": calls,
                "responses": len(ids),
                "status": _response(last_done.event).get("status") if last_done else None,
                "latency_s": first_audio - end_of_input if first_audio is not None else None,
                "response_latency_s": window[0][0] - end_of_input if window else None,
            }
        )
    frame = pd.DataFrame(table, columns=TURN_COLUMNS)
    if recording is not None and (len(recording.mic.samples) or len(recording.model.samples)):
        from .recording.audio_analysis import audio_turns  # it builds on this function

        heard = audio_turns(recording).drop(columns="item_id")
        frame = pd.concat([frame, heard.set_axis(frame.index)], axis=1)
    return frame


def _first_output(first: dict[tuple[str, str], float], response_id: str | None) -> float | None:
    if response_id is None:
        return None
    for kind in ("output_audio_buffer.started", "response.output_audio_transcript.delta", "response.output_text.delta"):
        if (kind, response_id) in first:
            return first[(kind, response_id)]
    return None


def _audio_end(first: dict[tuple[str, str], float], response_ids: list[str]) -> float | None:
    ends = [
        first[(kind, rid)]
        for rid in response_ids
        for kind in ("output_audio_buffer.stopped", "output_audio_buffer.cleared")
        if (kind, rid) in first
    ]
    return max(ends) if ends else None


# -- usage and cost ----------------------------------------------------------------------------


def usage(log: EventLog | Recording, *, total: bool = True) -> pd.DataFrame:
    """Tokens by modality for each response (from ``response.done``), plus a ``total`` row."""
    log = check_log(log, "usage")
    if not isinstance(total, bool):
        raise TypeError(f"usage(total={total!r}) is not valid: use True (add a total row) or False.")
    rows = [_usage_row(_response(r.event), r.call_id) for r in _server(log) if r.type == "response.done"]
    frame = _usage_frame(rows)
    if total:
        totals = {"response_id": "total", "call_id": None, "status": None, **frame[USAGE_COLUMNS].sum().to_dict()}
        frame = pd.concat([frame, pd.DataFrame([totals])], ignore_index=True)
    return frame


def _usage_row(response: dict[str, Any], call_id: str | None) -> dict[str, Any]:
    u = response.get("usage") or {}
    inp = u.get("input_token_details") or {}
    cached = inp.get("cached_tokens_details") or {}
    out = u.get("output_token_details") or {}
    return {
        "response_id": response.get("id"),
        "call_id": call_id,
        "status": response.get("status"),
        "input_text": inp.get("text_tokens", 0),
        "input_audio": inp.get("audio_tokens", 0),
        "input_image": inp.get("image_tokens", 0),
        "cached_text": cached.get("text_tokens", 0),
        "cached_audio": cached.get("audio_tokens", 0),
        "cached_image": cached.get("image_tokens", 0),
        "output_text": out.get("text_tokens", 0),
        "output_audio": out.get("audio_tokens", 0),
        "input_tokens": u.get("input_tokens", 0),
        "output_tokens": u.get("output_tokens", 0),
        "total_tokens": u.get("total_tokens", 0),
    }


def _usage_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["response_id", "call_id", "status", *USAGE_COLUMNS])
    frame[USAGE_COLUMNS] = frame[USAGE_COLUMNS].fillna(0).astype(int)
    return frame


def session_model(log: EventLog) -> str | None:
    """The model named by the last ``session.created``/``session.updated`` event."""
    model = None
    for r in _server(log):
        if r.type in ("session.created", "session.updated"):
            session = r.event.get("session")
            model = (session.get("model") if isinstance(session, dict) else None) or model
    return model


def prices_for(model: str, table: dict[str, Prices] | None = None) -> Prices:
    """The price row for ``model``; dated snapshots fall back to their family."""
    if not isinstance(model, str) or not model:
        raise TypeError(f"model={model!r} is not valid: use a model name such as 'gpt-realtime'.")
    table = PRICES if table is None else table
    if not isinstance(table, dict) or not all(isinstance(p, Prices) for p in table.values()):
        raise TypeError("prices= takes a dict of model name to rt_widget.analysis.Prices(...), like analysis.PRICES.")
    for name in sorted(table, key=len, reverse=True):
        if model == name or model.startswith(name + "-"):
            return table[name]
    known = ", ".join(sorted(table))
    raise UnknownModelError(f"No price for model {model!r}. Known: {known}. Pass cost(model=...) or cost(prices=...).")


def cost(
    log: EventLog | Recording, *, model: str | None = None, prices: dict[str, Prices] | None = None
) -> pd.DataFrame:
    """USD per response (and a ``total`` row), from usage and the price table.

    Cached input tokens are a subset of input tokens and are billed at the cached rate. The
    model comes from the session events unless given (on Azure, give the model behind your
    deployment). Prices are as of :data:`PRICES_AS_OF`; pass ``prices=`` to override.
    """
    log = check_log(log, "cost")
    if model is not None and (not isinstance(model, str) or not model):
        raise TypeError(f"cost(model={model!r}) is not valid: use a model name such as 'gpt-realtime'.")
    name = model if model is not None else session_model(log)
    if not name:
        raise ValueError("The log names no model (no session.created); pass cost(model='gpt-realtime').")
    frame = _priced(usage(log, total=False), prices_for(name, prices))
    frame["model"] = name
    totals = {"response_id": "total", "model": name, **frame[[*USAGE_COLUMNS, *_USD, "usd"]].sum().to_dict()}
    frame = pd.concat([frame, pd.DataFrame([totals])], ignore_index=True)
    frame[USAGE_COLUMNS] = frame[USAGE_COLUMNS].astype(int)
    return frame


def response_usd(response: dict[str, Any], model: str, prices: dict[str, Prices] | None = None) -> float:
    """USD of one response (the ``response`` of a ``response.done``), priced as :func:`cost` does."""
    return float(_priced(_usage_frame([_usage_row(response, None)]), prices_for(model, prices))["usd"].iloc[0])


def _priced(frame: pd.DataFrame, p: Prices) -> pd.DataFrame:
    """``frame`` (usage rows) with USD columns per modality and their sum, ``usd``."""
    per_million = 1_000_000
    frame["usd_text_in"] = (
        (frame["input_text"] - frame["cached_text"]) * p.text_in + frame["cached_text"] * p.text_cached
    ) / per_million
    frame["usd_audio_in"] = (
        (frame["input_audio"] - frame["cached_audio"]) * p.audio_in + frame["cached_audio"] * p.audio_cached
    ) / per_million
    frame["usd_image_in"] = (
        (frame["input_image"] - frame["cached_image"]) * p.image_in + frame["cached_image"] * p.image_cached
    ) / per_million
    frame["usd_text_out"] = frame["output_text"] * p.text_out / per_million
    frame["usd_audio_out"] = frame["output_audio"] * p.audio_out / per_million
    frame["usd"] = frame[_USD].sum(axis=1)
    return frame
