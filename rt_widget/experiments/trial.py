"""One trial: a headless call playing one input, tried again while it fails in a way that may pass.

:func:`run_trial` is all a backend runs, in a thread of this process or in a Ray worker. It
returns everything the driver writes down (the result row, the events, the model's audio), so
a worker needs no access to the experiment's folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..analysis import UnknownModelError
from ..call import Call
from ..peer import Clip
from ..providers import Provider
from .plan import Trial
from .retry import ReplyTimeoutError, Retry, retryable
from .target import Target

HANGUP_TIMEOUT_S = 10.0
STOP_POLL_S = 0.2
LIVE_FRAGMENT = "session.output_transcript.delta"
LIVE_QUIET_S = 1.5
"""A GPT-Live reply is over once the model has been quiet this long (Live has no event for it)."""


class StoppedError(RuntimeError):
    """The experiment was stopped (Ctrl+C) while this trial ran; it is not retried."""


@dataclass(frozen=True)
class Options:
    """How every trial of an experiment runs."""

    retry: Retry = field(default_factory=Retry)
    reply_timeout_s: float = 30.0
    """How long the model may take to answer an input (and to finish speaking it)."""
    connect_timeout_s: float = 20.0
    price_model: str | None = None
    """The model to price with, when the session's model has no price (an Azure deployment)."""


@dataclass
class Outcome:
    """What one trial gave: its row, and the events and audio of its last attempt."""

    row: dict[str, Any]
    records: list[dict[str, Any]]
    audio: npt.NDArray[np.int16]
    audio_rate: int


def run_trial(
    trial: Trial, provider: Provider | Target, options: Options, stop: threading.Event | None = None
) -> Outcome:
    """Run ``trial`` until it succeeds, fails for good, or runs out of retries; never raises.

    Parameters
    ----------
    trial:
        What to run.
    provider:
        Where calls go: a provider, or a :class:`Target` to build one from (on a Ray worker).
    options:
        Retries, timeouts and pricing.
    stop:
        Once set, the call in progress hangs up and no retry follows (Ctrl+C in the driver).

    Returns
    -------
    Outcome
        ``row["status"]`` is ``"ok"`` or ``"failed"`` (then ``row["error"]`` says why).
    """
    started = time.time()
    attempt, error = 0, None
    call: Call | None = None
    try:
        where = provider.build() if isinstance(provider, Target) else provider
    except Exception as exc:  # a worker without the provider's settings: recorded, not retried
        return failed(trial, exc, options)
    while True:
        attempt += 1
        call, error = None, None
        try:
            call = Call(provider=where, connect_timeout_s=options.connect_timeout_s, **trial.settings)
            asyncio.run(_unless_stopped(_play(call, trial, options.reply_timeout_s), stop))
        except Exception as exc:
            error = exc
        if error is None or not retryable(error) or attempt > options.retry.retries:
            return _outcome(trial, call, attempt, error, started, options)
        delay = options.retry.delay(attempt, error)
        if stop is None:
            time.sleep(delay)
        elif stop.wait(delay):  # stopped while waiting to try again
            return _outcome(trial, call, attempt, StoppedError("The experiment was stopped."), started, options)


async def _unless_stopped(work: Coroutine[Any, Any, None], stop: threading.Event | None) -> None:
    """Await ``work``, cancelling it (its call then hangs up) once ``stop`` is set."""
    task = asyncio.ensure_future(work)
    while stop is not None and not task.done():
        if stop.is_set():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise StoppedError("The experiment was stopped while this trial ran.")
        await asyncio.wait({task}, timeout=STOP_POLL_S)
    await task


async def _play(call: Call, trial: Trial, reply_timeout_s: float) -> None:
    """Connect, play each clip of the input and wait for its reply, then hang up."""
    try:
        await call.connect()
        for clip in trial.input.clips:
            await _turn(call, clip, trial, reply_timeout_s)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(call.hangup(), HANGUP_TIMEOUT_S)


async def _turn(call: Call, clip: Clip, trial: Trial, seconds: float) -> None:
    """Play ``clip`` and return once the model has answered it (and finished speaking)."""
    if trial.live:
        await _live_turn(call, clip, seconds)
        return
    reply = asyncio.ensure_future(call.wait_for("response.done", seconds, predicate=_answers))
    await asyncio.sleep(0)  # the waiter is in place before any audio goes out
    try:
        await call.play(clip)
        if trial.manual_turns:  # no turn detection: the input ends when we say so
            call.send({"type": "input_audio_buffer.commit"})
            call.send({"type": "response.create"})
        done = await reply
    except TimeoutError as exc:
        raise ReplyTimeoutError(f"No reply to {clip.label}: {exc}") from None
    finally:
        reply.cancel()
    if trial.speaks and done["response"].get("status") == "completed":
        await _audio_end(call, str(done["response"].get("id")), seconds)


async def _live_turn(call: Call, clip: Clip, seconds: float) -> None:
    """Play ``clip`` on GPT-Live and return once the model has answered and gone quiet.

    Live sends no event that ends a reply, so the reply is over once the model has spoken
    (a transcript fragment came) and neither a fragment nor a loud frame of its voice has come
    for :data:`LIVE_QUIET_S`.
    """
    latest = 0.0  # when the model last spoke (a fragment came)

    def fragment(_: dict[str, Any]) -> None:
        nonlocal latest
        latest = time.time()

    reply = asyncio.ensure_future(call.wait_for(LIVE_FRAGMENT, seconds))
    await asyncio.sleep(0)  # the waiter is in place before any audio goes out
    call.on(LIVE_FRAGMENT, fragment)
    try:
        await call.play(clip)
        await reply
        latest = max(latest, time.time())  # the reply began (its first words may come before its voice)
        deadline = time.monotonic() + seconds
        while time.time() - max(latest, call.last_heard or 0.0) < LIVE_QUIET_S:
            if time.monotonic() > deadline:
                raise ReplyTimeoutError(f"The model was still speaking {seconds:g} s after it began its reply.")
            await asyncio.sleep(0.1)
    except TimeoutError as exc:
        raise ReplyTimeoutError(f"No reply to {clip.label}: {exc}") from None
    finally:
        reply.cancel()
        call.off(LIVE_FRAGMENT, fragment)


def _answers(event: dict[str, Any]) -> bool:
    """A response that ends the turn: one with a message, or one that did not complete."""
    response = event.get("response") or {}
    if response.get("status") != "completed":
        return True
    return any(item.get("type") == "message" for item in response.get("output") or [])


async def _audio_end(call: Call, response_id: str, seconds: float) -> None:
    """Return once the model's audio for ``response_id`` has finished playing."""

    def ended(event: dict[str, Any]) -> bool:
        return event.get("response_id") == response_id

    stopped = asyncio.ensure_future(call.wait_for("output_audio_buffer.stopped", seconds, predicate=ended))
    await asyncio.sleep(0)  # in place before looking at the log, so the event cannot slip between
    try:
        if not any(ended(e) for e in call.events.of_type("output_audio_buffer.stopped")):
            await stopped
    except TimeoutError as exc:
        raise ReplyTimeoutError(f"The model's audio did not finish: {exc}") from None
    finally:
        stopped.cancel()


# -- the result --------------------------------------------------------------------------------


def failed(trial: Trial, error: BaseException, options: Options) -> Outcome:
    """The outcome of a trial that could not run at all (its worker died, say)."""
    return _outcome(trial, None, 0, error, time.time(), options)


def _outcome(
    trial: Trial, call: Call | None, attempts: int, error: BaseException | None, started: float, options: Options
) -> Outcome:
    row: dict[str, Any] = {
        "trial": trial.id,
        "config": trial.config,
        "settings": trial.settings_json,
        "input": trial.input.name,
        "input_fingerprint": trial.input.fingerprint,
        "repeat": trial.repeat,
        "status": "ok" if error is None else "failed",
        "error": "" if error is None else _describe(error),
        "attempts": attempts,
        "started_at": started,
        "duration_s": time.time() - started,
        "call_id": call.call_id if call is not None else "",
    }
    if call is None:
        return Outcome({**row, **_measures(None, options)}, [], np.zeros(0, np.int16), 24_000)
    audio = call.audio
    samples = audio.samples if trial.speaks else audio.samples[:0]  # a text session hears only silence
    return Outcome({**row, **_measures(call, options)}, list(call.events), samples, audio.rate)


def _measures(call: Call | None, options: Options) -> dict[str, Any]:
    """Latencies, tokens, cost, transcripts and tool calls of ``call`` (empty without one)."""
    if call is None or not len(call.events):
        return {
            "latency_s": [],
            "audio_latency_s": [],
            "input_tokens": 0,
            "output_tokens": 0,
            "total_tokens": 0,
            "cost_usd": math.nan,
            "user_transcript": [],
            "model_transcript": [],
            "tool_calls": "[]",
        }
    turns = call.turns()
    # audio_latency_s comes with the latency-as-heard work on Call.turns(); NaN until a call reports it.
    heard = turns["audio_latency_s"] if "audio_latency_s" in turns else pd.Series([math.nan] * len(turns))
    usage = call.usage().iloc[-1]
    transcript = call.transcript()
    messages = transcript[transcript["kind"] == "message"]
    return {
        "latency_s": _seconds(turns["latency_s"]),
        "audio_latency_s": _seconds(heard),
        "input_tokens": int(usage["input_tokens"]),
        "output_tokens": int(usage["output_tokens"]),
        "total_tokens": int(usage["total_tokens"]),
        "cost_usd": _cost(call, options.price_model),
        "user_transcript": [str(t) for t in messages[messages["role"] == "user"]["text"]],
        "model_transcript": [str(t) for t in messages[messages["role"] == "assistant"]["text"]],
        "tool_calls": call.tool_calls.to_json(orient="records", default_handler=str),
    }


def _seconds(column: pd.Series[Any]) -> list[float]:
    return [math.nan if value is None or pd.isna(value) else float(value) for value in column]


def _cost(call: Call, price_model: str | None) -> float:
    try:
        total = call.cost(model=price_model).iloc[-1]
        return float(total["usd_total" if "usd_total" in total else "usd"])  # GPT-Live's adds its backend's
    except (UnknownModelError, ValueError):  # a model with no price, or a log that names none
        return math.nan


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
