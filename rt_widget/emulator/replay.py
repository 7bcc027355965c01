"""Answering calls with a recording: its server events on their original timing, its model voice.

``Emulator(replay="run1")`` answers every call this way (see :func:`load_replay` for what is
replayed and :class:`ReplayPlayer` for how), so a UI, a tool or an analysis can be tested on a
real session, and a class can hear a real model's session offline.

Timing. Time 0 of a replayed call is the moment its data channel opens. The recording's first
server event is sent then, and every later one at its ``t_browser`` offset from that first
event; the model track is played on the call's audio track at its offset from the same event
(silence before it, between its stretches and after it). A log whose events have no
``t_browser`` (a recording made without a browser) is timed by ``t_kernel`` instead. The model
track was recorded as the browser played it, after its jitter buffer; a client replaying it
adds its own playout delay on top (tens of milliseconds in a browser, 80 ms in aiortc).

Once everything is sent the call stays open, sending silence, until it is hung up. Client
events are ignored (logged at debug level); the session config of the offer and the
emulator's model are not used. Faults apply as to any call, except ``slow_response_s``
(nothing is generated).

Ids. The call id is the new call's own (the ``Location`` header), as always. The recorded
session id (``session.id`` in ``session.created``/``session.updated``) is replaced by a fresh
``sess_`` id per call, so two replayed calls are two sessions; every other id (events, items,
responses) is sent as recorded: they only need to be unique within a call, and keeping them
lets a test compare what it received with the recording.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import tts
from .ids import new_id
from .speaker import FRAME, RATE, Speaker, Utterance

if TYPE_CHECKING:
    from ..recording import Recording, Track

logger = logging.getLogger("rt_widget.emulator")

RESYNC_S = 0.05
"""A model-track anchor this far from where continuous playback puts it starts a new stretch
there: a gap in the track (silence is replayed), or the sound card's clock drift caught up."""
LEAD_S = FRAME / RATE / 2
"""How far into the timeline the audio starts when the channel opens (see :class:`ReplayPlayer`)."""
AHEAD_S = 1.0
"""Audio kept queued on the speaker ahead of the playhead: enough to ride out a busy loop."""
_POLL_S = 0.1
_YIELD_EVERY = 100  # events due at once sent back to back before letting other calls run


@dataclass(frozen=True, eq=False)
class Stretch:
    """A run of the model track, placed on the replay's timeline."""

    start: int
    """First sample's position on the timeline (samples at the track's rate from time 0)."""
    samples: npt.NDArray[np.int16]


@dataclass(frozen=True, eq=False)
class Replay:
    """A recording prepared for replay (see :func:`load_replay`).

    Attributes
    ----------
    source:
        Where it came from, for messages: the folder, or ``"the recording"``.
    events:
        ``(offset_s, event)`` of each recorded server event, in recorded order, offsets
        non-decreasing from 0.
    stretches:
        The model track's audio placed on the timeline, in order (a later one overrides an
        earlier one where they overlap).
    rate:
        The model track's sample rate.
    """

    source: str
    events: tuple[tuple[float, dict[str, Any]], ...]
    stretches: tuple[Stretch, ...]
    rate: int

    @functools.cached_property
    def _spans(self) -> npt.NDArray[np.int64]:
        """Shape ``(n, 2)``: each stretch's first and one-past-last timeline position."""
        spans = [(s.start, s.start + len(s.samples)) for s in self.stretches]
        return np.asarray(spans, np.int64).reshape(-1, 2)

    def _overlapping(self, start: int, count: int) -> npt.NDArray[np.intp]:
        """Indices of the stretches with audio in ``count`` timeline samples from ``start``, in order."""
        spans = self._spans
        return np.flatnonzero((spans[:, 0] < start + count) & (spans[:, 1] > start))

    @property
    def audio_end(self) -> int:
        """Timeline position (samples) just after the last recorded sample."""
        return int(self._spans[:, 1].max()) if len(self.stretches) else 0

    @property
    def duration_s(self) -> float:
        """Seconds from time 0 to the last event or the end of the audio, whichever is later."""
        return max(self.events[-1][0], self.audio_end / self.rate)

    def window(self, start: int, count: int) -> npt.NDArray[np.int16]:
        """``count`` timeline samples from ``start``: the track where it has audio, zeros elsewhere."""
        out = np.zeros(count, np.int16)
        for index in self._overlapping(start, count):
            stretch = self.stretches[index]
            lo, hi = max(start, stretch.start), min(start + count, stretch.start + len(stretch.samples))
            out[lo - start : hi - start] = stretch.samples[lo - stretch.start : hi - stretch.start]
        return out

    def audible(self, start: int, count: int) -> bool:
        """Whether any stretch has audio in ``count`` timeline samples from ``start``."""
        return len(self._overlapping(start, count)) > 0

    def events_for_call(self) -> list[tuple[float, dict[str, Any]]]:
        """The events for one new call: the recorded session ids replaced by fresh ones."""
        fresh: dict[str, str] = {}
        out = []
        for offset, event in self.events:
            session = event.get("session")
            if isinstance(session, dict) and isinstance(session.get("id"), str):
                new = fresh.setdefault(session["id"], new_id("sess"))
                event = {**event, "session": {**session, "id": new}}
            out.append((offset, event))
        return out

    def __repr__(self) -> str:
        return f"<Replay of {self.source}: {len(self.events)} server events, {self.duration_s:.1f} s>"


def load_replay(source: Any) -> Replay:
    """Prepare a recording for replay: its server events with their offsets, its model track.

    Parameters
    ----------
    source:
        A recording folder (as written by ``Recording.save``), a loaded
        :class:`~rt_widget.recording.Recording`, or a :class:`Replay` (returned as it is).

    Returns
    -------
    Replay
        The server events (direction ``"server"``) in recorded order, each with its offset
        from the first one, and the model track's stretches placed on the same timeline. Audio
        recorded before the first server event cannot be played (time 0 is when the call's
        data channel opens) and is dropped.

    Raises
    ------
    ValueError
        There is no folder at ``source``, it is not a recording, or the recording has no
        server events; the message names the folder.
    TypeError
        ``source`` is none of the above.
    """
    if isinstance(source, Replay):
        return source
    from ..recording import Recording, load  # here: the emulator alone does not need pandas

    if isinstance(source, Recording):
        recording, where = source, str(source.path) if source.path else "the recording"
    elif isinstance(source, str | os.PathLike):
        where = str(Path(source))
        recording = _load(load, where)
    else:
        msg = f"replay= takes a recording folder or a Recording (rt.load(path)); got {type(source).__name__}."
        raise TypeError(msg)
    return _prepare(recording, where)


def _load(load: Callable[[str], Recording], where: str) -> Recording:
    try:
        return load(where)
    except FileNotFoundError:
        msg = f"Cannot replay {where}: there is no such folder. Give the folder a recording was saved to."
        raise ValueError(msg) from None
    except ValueError as exc:
        raise ValueError(f"Cannot replay {where}: {exc} Give the folder a recording was saved to.") from None
    except OSError as exc:
        raise ValueError(f"Cannot replay {where}: it cannot be read ({exc.strerror or exc}).") from None


def _prepare(recording: Recording, where: str) -> Replay:
    records = [r for r in recording.events if r["direction"] == "server" and isinstance(r["event"], dict)]
    if not records:
        msg = (
            f"Cannot replay {where}: it has no server events. Replay needs the recording of a call "
            "(rt.Realtime(record=True)), with the service's events in its log."
        )
        raise ValueError(msg)
    # The events' clock: the browser's; a log with no browser times (made without one), the kernel's.
    clock = "t_browser" if any(_time(r["t_browser"]) is not None for r in records) else "t_kernel"
    times = [_time(r[clock]) for r in records]
    origin = next(t for t in times if t is not None)
    events, last = [], 0.0
    for record, t in zip(records, times, strict=True):
        # Untimed events go right after the one before; a clock that stepped back keeps the order.
        last = max(last, t - origin) if t is not None else last
        events.append((last, record["event"]))
    model = recording.model
    return Replay(where, tuple(events), tuple(_stretches(model, origin)), model.rate)


def _time(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _stretches(track: Track, origin: float) -> list[Stretch]:
    """The track cut where its anchors jump by more than :data:`RESYNC_S`, placed on the timeline."""
    if len(track.samples) == 0 or len(track.anchors) == 0:
        return []
    cuts = [(0, float(track.time_at(0)))]
    for index, t in track.anchors:
        first, first_t = cuts[-1]
        if first < index < len(track.samples) and abs(t - (first_t + (index - first) / track.rate)) > RESYNC_S:
            cuts.append((int(index), float(t)))
    out = []
    ends = [index for index, _ in cuts[1:]] + [len(track.samples)]
    for (first, t), end in zip(cuts, ends, strict=True):
        start = round((t - origin) * track.rate)
        samples = track.samples[first:end]
        if start < 0:  # before time 0: the call's channel was not open yet
            samples, start = samples[-start:], 0
        if len(samples):
            out.append(Stretch(start, samples))
    return out


class ReplayPlayer:
    """Plays a :class:`Replay` on one call: events through ``send``, audio on ``speaker``.

    The audio goes to the speaker a second at a time, kept :data:`AHEAD_S` ahead, back to back
    (silence included), so it stays aligned with the events; a speaker that ran dry (a stalled
    loop) resumes where the timeline is now rather than late. Speech is encoded on a worker
    thread; the first second is encoded as soon as the call's codec is known
    (:meth:`prepare`), so it is queued the moment the channel opens.

    The speaker sends its next 20 ms frame from 0 to 20 ms after the audio is queued, so the
    audio starts :data:`LEAD_S` (half a frame) into the timeline: its error is centred on 0.
    """

    def __init__(self, replay: Replay, send: Callable[[dict[str, Any]], None], speaker: Speaker) -> None:
        self._replay = replay
        self._send = send
        self._speaker = speaker
        self._events = replay.events_for_call()
        self._chunk = replay.rate  # one second: 50 whole 20 ms frames once resampled
        self._lead = round(LEAD_S * replay.rate)
        self._first: asyncio.Task[Utterance] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def prepare(self) -> None:
        """Start encoding the first second of audio (call once the call's codec is settled)."""
        self._first = asyncio.ensure_future(self._utterance(self._lead))

    def start(self) -> None:
        """Time 0: send the events due now, queue the first audio; the rest follows on time."""
        loop = asyncio.get_running_loop()
        opened = loop.time()
        sent = 0
        while sent < len(self._events) and self._events[sent][0] <= 0:
            self._send(self._events[sent][1])
            sent += 1
        position = self._lead
        if self._first is not None and self._first.done() and not self._first.cancelled():
            self._speaker.play(self._first.result())
            position += self._chunk
        self._tasks = [
            asyncio.ensure_future(self._send_events(opened, sent)),
            asyncio.ensure_future(self._play(opened, position)),
        ]

    def close(self) -> None:
        """Stop sending (the call hung up). Idempotent."""
        for task in [*self._tasks, *([self._first] if self._first else [])]:
            task.cancel()

    async def _send_events(self, opened: float, first: int) -> None:
        loop = asyncio.get_running_loop()
        for i, (offset, event) in enumerate(self._events[first:]):
            delay = opened + offset - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif i % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)
            self._send(event)
        logger.debug("Replay of %s: every event sent; the call stays open, silent, until hung up.", self._replay.source)

    async def _play(self, opened: float, position: int) -> None:
        """Keep the speaker fed from ``position`` (timeline samples) to the end of the audio."""
        loop = asyncio.get_running_loop()
        rate, end = self._replay.rate, self._replay.audio_end
        while position < end:
            if self._speaker.queued_s >= AHEAD_S:
                await asyncio.sleep(_POLL_S)
                continue
            if self._speaker.queued_s == 0:  # ran dry (or the first second was not ready): resume now
                position = max(position, self._lead + round((loop.time() - opened) * rate))
            self._speaker.play(await self._utterance(position))
            position += self._chunk

    async def _utterance(self, position: int) -> Utterance:
        """A second of the timeline ready to queue; silence without encoding (the speaker idles the same)."""
        count = min(self._chunk, max(0, self._replay.audio_end - position))
        if not self._replay.audible(position, count):
            frames = max(1, math.ceil(count * RATE / self._replay.rate / FRAME))
            return Utterance([_SILENCE] * frames, None, frames * FRAME / RATE)
        samples = self._replay.window(position, count)
        return await tts.off_the_loop(self._speaker.encode, samples, self._replay.rate)


_SILENCE = np.zeros(FRAME, np.int16)
