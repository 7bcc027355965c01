"""From GPT-Live events to tables: transcript, turns and latency, usage and cost.

GPT-Live has no conversation items, no turn events and no token usage for its voice model:
the user's and the model's words arrive as timestamped fragments
(``session.input_transcript.delta`` and ``session.output_transcript.delta``, ``start_ms`` and
``end_ms`` on the session's audio clock, no done event), and the session is billed per second
(``session.usage.updated`` and ``session.closed``), with the backend's tokens reported inside
``response.event``. The functions here mirror :mod:`rt_widget.analysis` (the Realtime
analyses) over those events: they take an :class:`~rt_widget.EventLog` (or a recording) and
return pandas DataFrames, with the Realtime column names where a column means the same.

Two clocks appear. ``*_ms`` columns are the session's audio clock (milliseconds from the start
of the session, as the server stamps fragments). ``start``, ``end`` and the other plain time
columns are Unix seconds: when the browser received the event (the kernel's arrival time for
events the browser never saw).

An empty log gives empty tables (there is nothing to price, so :func:`cost` asks for a model).
A log whose server events are all Realtime ones is refused with a ``ValueError`` that points
to :mod:`rt_widget.analysis`. Events without the fields an analysis reads (a truncated or
foreign log) are skipped, never an internal error.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd

from .._checks import finite
from ..analysis import UnknownModelError, check_log
from ..events import EventLog
from ..recording.store import Recording
from .config import SERVER_EVENTS

__all__ = [
    "LIVE_PRICES",
    "LIVE_PRICES_AS_OF",
    "LivePrices",
    "TokenPrices",
    "backend_usage",
    "cost",
    "is_live",
    "transcript",
    "turns",
    "usage",
]

LIVE_EVENTS = frozenset(SERVER_EVENTS) - {"session.updated", "error"}
"""Server event types only GPT-Live sends (Realtime sends ``session.updated`` and ``error`` too)."""

_FRAGMENTS = {"session.input_transcript.delta": "user", "session.output_transcript.delta": "assistant"}
_SESSION_EVENTS = ("session.started", "session.updated", "session.closed")
_REALTIME = {"backend_usage": "usage"}  # the Realtime analysis to use instead, where its name differs
_BACKEND_DONE = ("response.completed", "response.failed", "response.incomplete")

PAUSE_MS = 2000
"""Silence (ms on the audio clock) after which a speaker's next fragment starts a new turn. It
is the SDK transcript grouper's ``assistant_silence_ms``."""


# -- prices ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LivePrices:
    """USD per minute of GPT-Live session time, billed per second.

    ``standby`` is the rate while inference is paused (idle timeout on WebRTC); ``None`` when
    no rate is published, and then paused time is left unpriced (NaN), never guessed.
    """

    active: float
    standby: float | None = None


@dataclass(frozen=True)
class TokenPrices:
    """USD per 1M tokens of a backend model (Responses or Decisions); cached input is a subset of input."""

    input: float
    cached: float
    output: float


LIVE_PRICES_AS_OF = "2026-11-20"
"""The date of the prices in :data:`LIVE_PRICES`. OpenAI's model pages (the source) are undated
snapshots; this is the earliest dated report of the same figures (reference/gpt-live-protocol.md
section 7)."""

# developers.openai.com/api/docs/models/gpt-live-1 and .../gpt-live-1.1 (pricing anchor
# .../docs/pricing#live-session-duration). gpt-live-1's page shows one rate, no standby rate.
# Not here: backend Responses/Decisions tokens (billed at that model's own rates: pass
# cost(backend_prices=...)) and the 15 s WebRTC initialisation charge of a session created but
# never used (it is credited against the reported duration once the session runs).
LIVE_PRICES: dict[str, LivePrices] = {
    "gpt-live-1": LivePrices(active=0.05),
    "gpt-live-1.1": LivePrices(active=0.05, standby=0.02),
}


# -- reading the log -----------------------------------------------------------------------------


class _Event(NamedTuple):
    pos: int  # position in the log: ties on the audio clock keep arrival order
    direction: str
    type: str
    event: dict[str, Any]
    t: float


def is_live(log: EventLog | Recording) -> bool:
    """Whether ``log`` holds GPT-Live events.

    It does when any server event has a type only GPT-Live sends (:data:`LIVE_EVENTS`:
    ``session.started``, transcript fragments, ``session.usage.updated``, ...). Client events
    do not count: what was sent says nothing about which API answered.

    Raises
    ------
    TypeError
        If ``log`` is not an :class:`~rt_widget.EventLog` or a recording.
    """
    log = check_log(log, "is_live")
    return any(d == "server" and t in LIVE_EVENTS for d, t in log.rows("direction", "type"))


def _events(log: EventLog | Recording, where: str) -> list[_Event]:
    """The log's events with dict payloads, or a ``ValueError`` for a log with no Live events."""
    log = check_log(log, where)
    rows: list[_Event] = []
    foreign: list[str] = []
    live = False
    for i, (direction, type_, event, t_browser, t_kernel) in enumerate(
        log.rows("direction", "type", "event", "t_browser", "t_kernel")
    ):
        if not isinstance(type_, str) or not isinstance(event, dict):
            continue  # a foreign log may hold anything: read what fits
        if direction == "server":
            live = live or type_ in LIVE_EVENTS
            if type_ not in LIVE_EVENTS and type_ not in foreign and len(foreign) < 4:
                foreign.append(type_)
        t = float(t_browser if t_browser is not None else t_kernel or 0.0)
        rows.append(_Event(i, direction, type_, event, t))
    if foreign and not live:
        instead = _REALTIME.get(where, where)
        raise ValueError(
            f"{where}() reads GPT-Live events and this log has none (its server events are "
            f"{', '.join(foreign)}, ...). For a Realtime log use rt_widget.analysis.{instead}(log); "
            "rt_widget.gptlive.analysis.is_live(log) tells the two apart."
        )
    return rows


def _ms(value: Any) -> int | None:
    """A timeline position in ms, or a count of seconds (a number, never a bool), else ``None``."""
    number = finite(value)
    return None if number is None or number < 0 else int(number)


def _count(value: Any) -> int:
    """A token count from a usage object (0 when it is missing or not a whole number)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pause(pause_ms: Any, where: str) -> float:
    if isinstance(pause_ms, bool) or not isinstance(pause_ms, int | float) or not 0 < pause_ms < math.inf:
        raise ValueError(
            f"{where}(pause_ms={pause_ms!r}) is not valid: give the silence in milliseconds after which "
            f"a speaker's next words start a new turn, a positive number such as {PAUSE_MS}."
        )
    return float(pause_ms)


# -- transcript ------------------------------------------------------------------------------------


@dataclass
class _Turn:
    role: str
    kind: str
    text: str
    start_ms: int
    end_ms: int
    start: float
    end: float
    index: int  # the log position of its first event
    item_id: str | None
    fragments: int = 0
    delegation_id: str | None = None
    interrupted: bool = False


@dataclass
class _Fragment:
    role: str
    text: str
    start_ms: int
    end_ms: int
    t: float
    index: int
    event_id: str | None


TRANSCRIPT_COLUMNS = [
    "item_id",
    "role",
    "kind",
    "text",
    "start",
    "end",
    "interrupted",
    "start_ms",
    "end_ms",
    "fragments",
    "delegation_id",
]


def transcript(log: EventLog | Recording, *, pause_ms: float = PAUSE_MS) -> pd.DataFrame:
    """One row per turn of speech (and per backend function call), in order on the audio clock.

    GPT-Live sends words as fragments with no turn boundaries; they are grouped here:

    - each speaker's fragments are taken in delivery order (the order the SDK says to join
      them in) and the two speakers' streams are interleaved by ``start_ms``, so a user
      fragment that arrives late still lands where it was spoken;
    - a turn is one speaker's run of fragments. It ends when its speaker is silent for
      ``pause_ms``, or when the other speaker is heard after its end and before its speaker's
      next words. Speech that only overlaps it (a barge-in while it goes on, an "mhm" inside
      it) does not end it; a backchannel in a pause does, and is a turn of its own (the SDK's
      transcript grouper filters those; this does not).

    Columns as in :func:`rt_widget.analysis.transcript`: ``item_id`` (the ``event_id`` of the
    turn's first fragment; for a function call the item's ``id``, else its ``call_id``),
    ``role`` (user, assistant, tool), ``kind`` (message, function_call, function_call_output),
    ``text`` (fragments joined; a call as ``name(arguments)``), ``start`` and ``end`` (Unix
    seconds: receipt of the turn's first and last fragment), ``interrupted`` (the other
    speaker started a turn while this one was still speaking: Live has no cancel event, so
    overlap is the only sign). Live's own: ``start_ms`` and ``end_ms`` (audio clock: first
    fragment's start, last fragment's end; for a function call and its output, the
    delegation's ``offset_ms``), ``fragments`` (how many), ``delegation_id`` (for calls).
    Fragments are deduplicated by ``event_id`` (a sideband and the data channel may both log
    them).

    Parameters
    ----------
    log:
        An :class:`~rt_widget.EventLog` with GPT-Live events, or a recording.
    pause_ms:
        Silence (ms) after which a speaker's next words start a new turn.

    Raises
    ------
    TypeError
        If ``log`` is not an event log or a recording.
    ValueError
        If the log holds Realtime events and no GPT-Live ones, or ``pause_ms`` is not a
        positive number.
    """
    rows = _events(log, "transcript")
    return _frame(_transcript(rows, _pause(pause_ms, "transcript")))


def _frame(turns: list[_Turn]) -> pd.DataFrame:
    table = [
        {
            "item_id": t.item_id,
            "role": t.role,
            "kind": t.kind,
            "text": t.text.strip() if t.kind == "message" else t.text,
            "start": t.start,
            "end": t.end,
            "interrupted": t.interrupted,
            "start_ms": t.start_ms,
            "end_ms": t.end_ms,
            "fragments": t.fragments,
            "delegation_id": t.delegation_id,
        }
        for t in turns
    ]
    return pd.DataFrame(table, columns=TRANSCRIPT_COLUMNS)


def _transcript(rows: list[_Event], pause_ms: float) -> list[_Turn]:
    turns = _speech(_fragments(rows), pause_ms) + _calls(rows)
    turns.sort(key=lambda t: (t.start_ms, t.index))
    return turns


def _fragments(rows: list[_Event]) -> list[_Fragment]:
    """Transcript fragments, deduplicated, each speaker's in delivery order, merged on the clock."""
    seen: set[str] = set()
    by_role: dict[str, list[_Fragment]] = {"user": [], "assistant": []}
    for r in rows:
        role = _FRAGMENTS.get(r.type) if r.direction == "server" else None
        if role is None:
            continue
        event_id, text = r.event.get("event_id"), r.event.get("delta")
        start, end = _ms(r.event.get("start_ms")), _ms(r.event.get("end_ms"))
        if not isinstance(text, str) or not text or start is None or end is None:
            continue
        if isinstance(event_id, str):
            if event_id in seen:
                continue
            seen.add(event_id)
        by_role[role].append(
            _Fragment(role, text, start, max(start, end), r.t, r.pos, event_id if isinstance(event_id, str) else None)
        )
    # heapq.merge keeps each input's order, so a speaker's words are never reordered.
    return list(heapq.merge(by_role["user"], by_role["assistant"], key=lambda f: (f.start_ms, f.index)))


def _speech(fragments: list[_Fragment], pause_ms: float) -> list[_Turn]:
    turns: list[_Turn] = []
    current: dict[str, _Turn] = {}
    heard_until = {"user": -1, "assistant": -1}  # the end of each speaker's latest words so far
    for f in fragments:
        turn = current.get(f.role)
        other = "assistant" if f.role == "user" else "user"
        # A new turn after a pause, or when the other speaker was heard after this turn ended
        # (fragments come in start order, so theirs started before this one).
        if (
            turn is None
            or f.start_ms - turn.end_ms >= pause_ms
            or (f.start_ms > turn.end_ms and heard_until[other] > turn.end_ms)
        ):
            turn = _Turn(f.role, "message", "", f.start_ms, f.end_ms, f.t, f.t, f.index, f.event_id)
            turns.append(turn)
            current[f.role] = turn
        turn.text += f.text
        turn.end_ms = max(turn.end_ms, f.end_ms)
        turn.start, turn.end = min(turn.start, f.t), max(turn.end, f.t)
        turn.fragments += 1
        heard_until[f.role] = max(heard_until[f.role], f.end_ms)
    # Turns were opened in start_ms order: the ones that start inside a turn follow it.
    for i, turn in enumerate(turns):
        j = i + 1
        while j < len(turns) and turns[j].start_ms < turn.end_ms:
            turn.interrupted = turn.interrupted or (turns[j].role != turn.role and turns[j].start_ms > turn.start_ms)
            j += 1
    return turns


def _calls(rows: list[_Event]) -> list[_Turn]:
    """Backend function calls (``response.event`` > ``response.output_item.done``) and their outputs."""
    offsets = _delegations(rows)
    calls: dict[str, _Turn] = {}
    outputs: list[_Turn] = []
    last_ms = 0  # where the conversation was when a call with no known delegation arrived
    for r in rows:
        if r.direction == "server" and r.type in _FRAGMENTS:
            last_ms = max(last_ms, _ms(r.event.get("end_ms")) or 0)
        elif r.direction == "server" and r.type == "response.event":
            nested = _dict(r.event.get("event"))
            item = _dict(nested.get("item"))
            call_id = item.get("call_id")
            if nested.get("type") != "response.output_item.done" or item.get("type") != "function_call":
                continue
            if not isinstance(call_id, str) or call_id in calls:
                continue
            delegation_id = r.event.get("delegation_id")
            delegation_id = delegation_id if isinstance(delegation_id, str) else None
            at = offsets.get(delegation_id, last_ms) if delegation_id is not None else last_ms
            text = f"{item.get('name')}({item.get('arguments') or ''})"
            item_id = item.get("id") if isinstance(item.get("id"), str) else call_id
            call = _Turn("assistant", "function_call", text, at, at, r.t, r.t, r.pos, item_id)
            call.delegation_id = delegation_id
            calls[call_id] = call
        elif r.direction == "client" and r.type == "response.item.create":
            item = _dict(r.event.get("item"))
            called = calls.get(item["call_id"]) if isinstance(item.get("call_id"), str) else None
            if item.get("type") != "function_call_output" or called is None:
                continue
            text = _output_text(item.get("output"))
            item_id = item.get("id") if isinstance(item.get("id"), str) else None
            at = called.start_ms
            output = _Turn("tool", "function_call_output", text, at, at, r.t, r.t, r.pos, item_id)
            output.delegation_id = called.delegation_id
            outputs.append(output)
    return [*calls.values(), *outputs]


def _output_text(output: Any) -> str:
    """A function call's output: a string, or the text of its content parts."""
    if isinstance(output, list):
        return " ".join(str(part.get("text")) for part in output if isinstance(part, dict) and "text" in part)
    return "" if output is None else str(output)


# -- turns -----------------------------------------------------------------------------------------

TURN_COLUMNS = [
    "item_id",
    "speech_started",
    "speech_stopped",
    "first_audio",
    "audio_stopped",
    "user_text",
    "reply_text",
    "delegations",
    "tool_calls",
    "interrupted",
    "latency_s",
    "speech_started_ms",
    "speech_stopped_ms",
    "first_audio_ms",
    "audio_stopped_ms",
]


def turns(log: EventLog | Recording, *, pause_ms: float = PAUSE_MS) -> pd.DataFrame:
    """One row per user turn of :func:`transcript`, with its timeline and latency.

    GPT-Live sends no speech-started/stopped, response or audio-buffer events, so the timeline
    comes from the fragments' audio-clock times (``*_ms``, milliseconds from session start):

    - ``speech_started_ms``, ``speech_stopped_ms``: the user turn's first fragment's
      ``start_ms`` and last fragment's ``end_ms`` (when the user's speech ended);
    - the reply is the model's speech turns that begin from the user turn's start up to the
      next user turn's start (a model turn already under way when the user began belongs to
      the turn before); ``first_audio_ms`` is the ``start_ms`` of its first fragment (when
      its audio began on the session timeline), ``audio_stopped_ms`` the ``end_ms`` of its
      last;
    - ``latency_s`` is ``(first_audio_ms - speech_stopped_ms) / 1000``, on the server's clock,
      so network and transcript delays are not in it. It is negative when the model began
      while the user was still speaking (GPT-Live is full duplex), and empty without a reply.

    ``speech_started``, ``speech_stopped``, ``first_audio`` and ``audio_stopped`` are the same
    moments as Unix seconds of receipt (first and last fragment), as in
    :func:`rt_widget.analysis.turns`; fragments can trail the audio, so these include that
    delay. ``delegations`` counts ``session.delegation.created`` whose ``offset_ms`` falls in
    the turn's window, ``tool_calls`` their function calls, ``interrupted`` whether the user
    spoke over the reply. ``user_text`` and ``reply_text`` are the joined words.

    Parameters
    ----------
    log:
        An :class:`~rt_widget.EventLog` with GPT-Live events, or a recording.
    pause_ms:
        As for :func:`transcript`.

    Raises
    ------
    TypeError
        If ``log`` is not an event log or a recording.
    ValueError
        As for :func:`transcript`.
    """
    rows = _events(log, "turns")
    spoken = _speech(_fragments(rows), _pause(pause_ms, "turns"))
    users = [t for t in spoken if t.role == "user"]
    replies = [t for t in spoken if t.role == "assistant"]
    delegations = _delegations(rows)
    calls = [c for c in _calls(rows) if c.kind == "function_call"]
    table = []
    for i, user in enumerate(users):
        until = users[i + 1].start_ms if i + 1 < len(users) else math.inf
        reply = [a for a in replies if user.start_ms <= a.start_ms < until]
        ids = {d for d, offset in delegations.items() if user.start_ms <= offset < until}
        first, last = (reply[0], reply[-1]) if reply else (None, None)
        table.append(
            {
                "item_id": user.item_id,
                "speech_started": user.start,
                "speech_stopped": user.end,
                "first_audio": first.start if first else None,
                "audio_stopped": last.end if last else None,
                "user_text": user.text.strip(),
                "reply_text": " ".join(a.text.strip() for a in reply),
                "delegations": len(ids),
                "tool_calls": sum(1 for c in calls if c.delegation_id in ids),
                "interrupted": any(a.interrupted for a in reply),
                "latency_s": (first.start_ms - user.end_ms) / 1000 if first else None,
                "speech_started_ms": user.start_ms,
                "speech_stopped_ms": user.end_ms,
                "first_audio_ms": first.start_ms if first else None,
                "audio_stopped_ms": last.end_ms if last else None,
            }
        )
    return pd.DataFrame(table, columns=TURN_COLUMNS)


def _delegations(rows: list[_Event]) -> dict[str, int]:
    """Each delegation's ``offset_ms``, by id."""
    found: dict[str, int] = {}
    for r in rows:
        if r.direction == "server" and r.type == "session.delegation.created":
            delegation, offset = _dict(r.event.get("delegation")), _ms(r.event.get("offset_ms"))
            if isinstance(delegation.get("id"), str) and offset is not None:
                found.setdefault(delegation["id"], offset)
    return found


# -- usage -------------------------------------------------------------------------------------------


@dataclass
class _Session:
    id: str | None
    model: str | None = None
    backend_model: str | None = None
    seconds: float = 0.0
    active: float | None = None
    paused: float | None = None
    final: bool = False
    backend: list[dict[str, Any]] = field(default_factory=list)


USAGE_COLUMNS = [
    "session_id",
    "model",
    "final",
    "seconds",
    "active_seconds",
    "paused_seconds",
    "active_minutes",
    "standby_minutes",
    "backend_calls",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "reasoning_tokens",
    "total_tokens",
]
_TOKENS = ["input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens", "total_tokens"]
_COUNTS = [*_TOKENS, "backend_calls"]
BACKEND_COLUMNS = ["session_id", "delegation_id", "api", "response_id", "model", "status", *_TOKENS]


def _sessions(rows: list[_Event]) -> list[_Session]:
    """Each session's usage, in the order they started.

    Usage events carry no session id: each belongs to the session last named by a
    ``session.started``/``updated``/``closed`` (a sideband's replayed ``session.started`` names
    the same session and starts nothing new).
    """
    sessions: dict[str | None, _Session] = {}
    current: _Session | None = None
    backend_seen: set[str] = set()
    for r in rows:
        if r.direction != "server":
            continue
        if r.type in _SESSION_EVENTS:
            resource = _dict(r.event.get("session"))
            sid = resource.get("id") if isinstance(resource.get("id"), str) else None
            current = sessions.setdefault(sid, _Session(sid))
            if isinstance(resource.get("model"), str):
                current.model = resource["model"]
            backend = _dict(_dict(_dict(resource.get("delegation")).get("responses")))
            if isinstance(backend.get("model"), str):
                current.backend_model = backend["model"]
        if r.type in ("session.usage.updated", "session.closed"):
            current = current or sessions.setdefault(None, _Session(None))
            _take_usage(current, _dict(r.event.get("usage")), final=r.type == "session.closed")
        elif r.type in ("response.event", "decision.event"):
            entry = _backend_entry(r)
            if entry is not None and entry["key"] not in backend_seen:
                backend_seen.add(entry.pop("key"))
                current = current or sessions.setdefault(None, _Session(None))
                current.backend.append(entry)
    return list(sessions.values())


def _take_usage(session: _Session, usage: dict[str, Any], *, final: bool) -> None:
    """Keep the latest snapshot: the final one, else the largest (they are cumulative)."""
    seconds = finite(usage.get("seconds"))
    if seconds is None:
        return
    if session.final and not final:
        return  # a late copy of an earlier snapshot
    if not final and seconds < session.seconds:
        return
    session.seconds, session.final = seconds, session.final or final
    active, paused = _ms(usage.get("active_seconds")), _ms(usage.get("paused_seconds"))
    session.active = None if active is None else float(active)
    session.paused = None if paused is None else float(paused)


def _backend_entry(r: _Event) -> dict[str, Any] | None:
    """A backend response's (or decision's) token usage, or ``None`` for other nested events."""
    nested = _dict(r.event.get("event"))
    delegation_id = r.event.get("delegation_id") if isinstance(r.event.get("delegation_id"), str) else None
    if r.type == "response.event" and nested.get("type") in _BACKEND_DONE:
        response = _dict(nested.get("response"))
        u, api, status = _dict(response.get("usage")), "responses", response.get("status")
        response_id = response.get("id") if isinstance(response.get("id"), str) else None
        model, key = response.get("model"), response_id or r.event.get("event_id")
    elif r.type == "decision.event" and nested.get("type") == "decision.completed":
        decision = _dict(nested.get("decision"))
        u, api, status, response_id = _dict(decision.get("usage")), "decisions", "completed", None
        model, key = decision.get("model"), r.event.get("event_id")
    else:
        return None
    if not isinstance(key, str):
        return None
    return {
        "key": f"{api}:{key}",
        "delegation_id": delegation_id,
        "api": api,
        "response_id": response_id,
        "model": model if isinstance(model, str) else None,
        "status": status if isinstance(status, str) else None,
        "input_tokens": _count(u.get("input_tokens")),
        "cached_tokens": _count(_dict(u.get("input_tokens_details")).get("cached_tokens")),
        "output_tokens": _count(u.get("output_tokens")),
        "reasoning_tokens": _count(_dict(u.get("output_tokens_details")).get("reasoning_tokens")),
        "total_tokens": _count(u.get("total_tokens")),
    }


def _seconds(session: _Session) -> tuple[float, float]:
    """Active and paused seconds; without the breakdown every second is active."""
    paused = session.paused or 0.0
    active = session.active if session.active is not None else max(session.seconds - paused, 0.0)
    return active, paused


def usage(log: EventLog | Recording, *, total: bool = True) -> pd.DataFrame:
    """Billable time and backend tokens per session, plus a ``total`` row.

    Time comes from ``session.closed``'s ``usage`` (``final`` is then true), else from the
    latest ``session.usage.updated`` (snapshots are cumulative: never summed).
    ``active_seconds`` and ``paused_seconds`` are the service's breakdown; a session that
    reports only ``seconds`` has every second counted as active. ``active_minutes`` and
    ``standby_minutes`` are the same divided by 60 (billing is per second, not rounded up).
    Backend tokens are summed over the session's backend calls (:func:`backend_usage`):
    ``backend_calls`` counts them; ``cached_tokens`` are part of ``input_tokens`` and
    ``reasoning_tokens`` part of ``output_tokens``.

    Raises
    ------
    TypeError
        If ``log`` is not an event log or a recording, or ``total`` is not a bool.
    ValueError
        If the log holds Realtime events and no GPT-Live ones.
    """
    if not isinstance(total, bool):
        raise TypeError(f"usage(total={total!r}) is not valid: use True (add a total row) or False.")
    frame = _usage(_sessions(_events(log, "usage")))
    if total:
        sums = frame[USAGE_COLUMNS[3:]].sum().to_dict()
        frame = pd.concat([frame, pd.DataFrame([{"session_id": "total", **sums}])], ignore_index=True)
        frame[_COUNTS] = frame[_COUNTS].astype(int)
    return frame


def _usage(sessions: list[_Session]) -> pd.DataFrame:
    table = []
    for s in sessions:
        active, paused = _seconds(s)
        tokens = {name: sum(b[name] for b in s.backend) for name in _TOKENS}
        table.append(
            {
                "session_id": s.id,
                "model": s.model,
                "final": s.final,
                "seconds": s.seconds,
                "active_seconds": active,
                "paused_seconds": paused,
                "active_minutes": active / 60,
                "standby_minutes": paused / 60,
                "backend_calls": len(s.backend),
                **tokens,
            }
        )
    frame = pd.DataFrame(table, columns=USAGE_COLUMNS)
    frame[_COUNTS] = frame[_COUNTS].astype(int)
    frame[USAGE_COLUMNS[3:8]] = frame[USAGE_COLUMNS[3:8]].astype(float)
    return frame


def backend_usage(log: EventLog | Recording) -> pd.DataFrame:
    """One row per backend call with its tokens: each Responses response and each Decision.

    Responses usage is read from the terminal event nested in ``response.event``
    (``response.completed``, ``.failed`` or ``.incomplete``: ``response.usage``), Decisions
    usage from ``decision.event`` (``event.decision.usage``); each is counted once, however
    many streams logged it. ``model`` is the one the response names, else the session's
    backend model (``delegation.responses.model``).

    Raises
    ------
    TypeError
        If ``log`` is not an event log or a recording.
    ValueError
        If the log holds Realtime events and no GPT-Live ones.
    """
    table = [
        {**b, "session_id": s.id, "model": b["model"] or (s.backend_model if b["api"] == "responses" else None)}
        for s in _sessions(_events(log, "backend_usage"))
        for b in s.backend
    ]
    frame = pd.DataFrame(table, columns=BACKEND_COLUMNS)
    frame[_TOKENS] = frame[_TOKENS].astype(int)
    return frame


# -- cost --------------------------------------------------------------------------------------------

COST_COLUMNS = [
    "session_id",
    "model",
    "active_seconds",
    "paused_seconds",
    "usd_active",
    "usd_standby",
    "usd",
    "usd_backend",
    "usd_total",
]


class UnknownLiveModelError(UnknownModelError):
    """No GPT-Live price is known for a model; the message lists the known ones and what to pass."""


def _price(model: str, table: Any, kind: type[Any], where: str) -> Any:
    """The row of ``table`` for ``model``; a dated snapshot (``model-2026-...``) falls back to its family."""
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(p, kind) for k, p in table.items()):
        raise TypeError(f"{where} takes a dict of model name to {kind.__name__}(...), like LIVE_PRICES.")
    for name in sorted(table, key=len, reverse=True):
        if model == name or model.startswith(name + "-"):
            return table[name]
    known = ", ".join(sorted(table)) or "none"
    raise UnknownLiveModelError(f"No price for model {model!r} in {where} (known: {known}). Add it to {where}.")


def cost(
    log: EventLog | Recording,
    *,
    model: str | None = None,
    prices: dict[str, LivePrices] | None = None,
    backend_prices: dict[str, TokenPrices] | None = None,
) -> pd.DataFrame:
    """USD per session (and a ``total`` row): session time, and backend tokens when priced.

    ``usd_active`` is active seconds at the model's active rate per minute, ``usd_standby``
    paused seconds at its standby rate (NaN when the table has no standby rate and the session
    was paused), ``usd`` their sum: what GPT-Live bills for session time. Backend tokens are
    billed by Responses or Decisions at the backend model's rates, which :data:`LIVE_PRICES`
    does not hold: ``usd_backend`` is NaN for a session with backend calls unless
    ``backend_prices`` prices their models (cached input at the cached rate, reasoning as
    output), and ``usd_total`` is ``usd + usd_backend``. Unknown amounts stay NaN in the
    total row too.

    Parameters
    ----------
    log:
        An :class:`~rt_widget.EventLog` with GPT-Live events, or a recording.
    model:
        The Live model to price every session at; by default each session's own (from
        ``session.started``). On Azure, give the model behind your deployment.
    prices:
        Model name to :class:`LivePrices`; :data:`LIVE_PRICES` (as of
        :data:`LIVE_PRICES_AS_OF`) by default.
    backend_prices:
        Backend model name (``"gpt-5.5"``) to :class:`TokenPrices`.

    Raises
    ------
    TypeError
        For a log that is not an event log, a model that is not a name, or price tables of
        the wrong shape.
    ValueError
        If the log holds Realtime events and no GPT-Live ones, or names no model and none is
        given.
    UnknownLiveModelError
        If a table has no price for a model in the log.
    """
    if model is not None and (not isinstance(model, str) or not model):
        raise TypeError(f"cost(model={model!r}) is not valid: use a GPT-Live model name such as 'gpt-live-1'.")
    table = LIVE_PRICES if prices is None else prices
    sessions = _sessions(_events(log, "cost"))
    if not any(model or s.model for s in sessions):
        raise ValueError("The log names no GPT-Live model (no session.started); pass cost(model='gpt-live-1').")
    rows = []
    for s in sessions:
        name = model or s.model
        if name is None:
            raise ValueError(
                f"Session {s.id or '(unnamed)'} has usage but no session.started naming its model; "
                "pass cost(model='gpt-live-1')."
            )
        p: LivePrices = _price(name, table, LivePrices, "cost(prices=...)")
        active, paused = _seconds(s)
        usd_standby = paused * p.standby / 60 if p.standby is not None else (math.nan if paused else 0.0)
        usd_active = active * p.active / 60
        usd_backend = _backend_usd(s, backend_prices)
        rows.append(
            {
                "session_id": s.id,
                "model": name,
                "active_seconds": active,
                "paused_seconds": paused,
                "usd_active": usd_active,
                "usd_standby": usd_standby,
                "usd": usd_active + usd_standby,
                "usd_backend": usd_backend,
                "usd_total": usd_active + usd_standby + usd_backend,
            }
        )
    frame = pd.DataFrame(rows, columns=COST_COLUMNS)
    sums = {name: frame[name].sum(skipna=False) for name in COST_COLUMNS[2:]}
    return pd.concat([frame, pd.DataFrame([{"session_id": "total", **sums}])], ignore_index=True)


def _backend_usd(session: _Session, table: dict[str, TokenPrices] | None) -> float:
    if not session.backend:
        return 0.0
    if table is None:
        return math.nan
    usd = 0.0
    for b in session.backend:
        name = b["model"] or (session.backend_model if b["api"] == "responses" else None)
        if name is None:
            return math.nan  # a backend call that names no model cannot be priced
        p: TokenPrices = _price(name, table, TokenPrices, "cost(backend_prices=...)")
        fresh = b["input_tokens"] - b["cached_tokens"]
        usd += (fresh * p.input + b["cached_tokens"] * p.cached + b["output_tokens"] * p.output) / 1_000_000
    return usd
