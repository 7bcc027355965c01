"""What a GPT-Live session costs: prices, :func:`usage`, :func:`backend_usage` and :func:`cost`.

GPT-Live reports no token usage for its voice model: the session is billed per second
(``session.usage.updated`` and ``session.closed``), with the backend's tokens reported inside
``response.event``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._checks import finite
from ..analysis import UnknownModelError
from ..events import EventLog
from ..recording.store import Recording
from .reading import Event, as_dict, events, ms

_SESSION_EVENTS = ("session.started", "session.updated", "session.closed")
_BACKEND_DONE = ("response.completed", "response.failed", "response.incomplete")


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


def _sessions(rows: list[Event]) -> list[_Session]:
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
            resource = as_dict(r.event.get("session"))
            sid = resource.get("id") if isinstance(resource.get("id"), str) else None
            current = sessions.setdefault(sid, _Session(sid))
            if isinstance(resource.get("model"), str):
                current.model = resource["model"]
            backend = as_dict(as_dict(as_dict(resource.get("delegation")).get("responses")))
            if isinstance(backend.get("model"), str):
                current.backend_model = backend["model"]
        if r.type in ("session.usage.updated", "session.closed"):
            current = current or sessions.setdefault(None, _Session(None))
            _take_usage(current, as_dict(r.event.get("usage")), final=r.type == "session.closed")
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
    active, paused = ms(usage.get("active_seconds")), ms(usage.get("paused_seconds"))
    session.active = None if active is None else float(active)
    session.paused = None if paused is None else float(paused)


def _backend_entry(r: Event) -> dict[str, Any] | None:
    """A backend response's (or decision's) token usage, or ``None`` for other nested events."""
    nested = as_dict(r.event.get("event"))
    delegation_id = r.event.get("delegation_id") if isinstance(r.event.get("delegation_id"), str) else None
    if r.type == "response.event" and nested.get("type") in _BACKEND_DONE:
        response = as_dict(nested.get("response"))
        u, api, status = as_dict(response.get("usage")), "responses", response.get("status")
        response_id = response.get("id") if isinstance(response.get("id"), str) else None
        model, key = response.get("model"), response_id or r.event.get("event_id")
    elif r.type == "decision.event" and nested.get("type") == "decision.completed":
        decision = as_dict(nested.get("decision"))
        u, api, status, response_id = as_dict(decision.get("usage")), "decisions", "completed", None
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
        "cached_tokens": _count(as_dict(u.get("input_tokens_details")).get("cached_tokens")),
        "output_tokens": _count(u.get("output_tokens")),
        "reasoning_tokens": _count(as_dict(u.get("output_tokens_details")).get("reasoning_tokens")),
        "total_tokens": _count(u.get("total_tokens")),
    }


def _count(value: Any) -> int:
    """A token count from a usage object (0 when it is missing or not a whole number)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


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
    frame = _usage(_sessions(events(log, "usage")))
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
        for s in _sessions(events(log, "backend_usage"))
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
    sessions = _sessions(events(log, "cost"))
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
