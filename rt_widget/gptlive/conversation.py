"""GPT-Live's words as tables: :func:`transcript` (turns of speech and function calls) and :func:`turns` (latency).

GPT-Live has no conversation items and no turn events: the user's and the model's words arrive
as timestamped fragments (``session.input_transcript.delta`` and
``session.output_transcript.delta``, ``start_ms`` and ``end_ms`` on the session's audio clock, no
done event), grouped here into turns.

Two clocks appear. ``*_ms`` columns are the session's audio clock (milliseconds from the start
of the session, as the server stamps fragments). ``start``, ``end`` and the other plain time
columns are Unix seconds: when the browser received the event (the kernel's arrival time for
events the browser never saw).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..events import EventLog
from ..recording.store import Recording
from .reading import Event, as_dict, events, ms

_FRAGMENTS = {"session.input_transcript.delta": "user", "session.output_transcript.delta": "assistant"}

PAUSE_MS = 2000
"""Silence (ms on the audio clock) after which a speaker's next fragment starts a new turn. It
is the SDK transcript grouper's ``assistant_silence_ms``."""


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
    rows = events(log, "transcript")
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


def _transcript(rows: list[Event], pause_ms: float) -> list[_Turn]:
    turns = _speech(_fragments(rows), pause_ms) + _calls(rows)
    turns.sort(key=lambda t: (t.start_ms, t.index))
    return turns


def _fragments(rows: list[Event]) -> list[_Fragment]:
    """Transcript fragments, deduplicated, each speaker's in delivery order, merged on the clock."""
    seen: set[str] = set()
    by_role: dict[str, list[_Fragment]] = {"user": [], "assistant": []}
    for r in rows:
        role = _FRAGMENTS.get(r.type) if r.direction == "server" else None
        if role is None:
            continue
        event_id, text = r.event.get("event_id"), r.event.get("delta")
        start, end = ms(r.event.get("start_ms")), ms(r.event.get("end_ms"))
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


def _calls(rows: list[Event]) -> list[_Turn]:
    """Backend function calls (``response.event`` > ``response.output_item.done``) and their outputs."""
    offsets = _delegations(rows)
    calls: dict[str, _Turn] = {}
    outputs: list[_Turn] = []
    last_ms = 0  # where the conversation was when a call with no known delegation arrived
    for r in rows:
        if r.direction == "server" and r.type in _FRAGMENTS:
            last_ms = max(last_ms, ms(r.event.get("end_ms")) or 0)
        elif r.direction == "server" and r.type == "response.event":
            nested = as_dict(r.event.get("event"))
            item = as_dict(nested.get("item"))
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
            item = as_dict(r.event.get("item"))
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
    rows = events(log, "turns")
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


def _delegations(rows: list[Event]) -> dict[str, int]:
    """Each delegation's ``offset_ms``, by id."""
    found: dict[str, int] = {}
    for r in rows:
        if r.direction == "server" and r.type == "session.delegation.created":
            delegation, offset = as_dict(r.event.get("delegation")), ms(r.event.get("offset_ms"))
            if isinstance(delegation.get("id"), str) and offset is not None:
                found.setdefault(delegation["id"], offset)
    return found
