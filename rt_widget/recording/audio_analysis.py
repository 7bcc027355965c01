"""Analysis from a recording's audio: where each side spoke, per-turn timing, and an echo check.

The events say when the service *decided* something (speech stopped, audio started); the
tracks say what was really said and heard. Both are on the events' clock, so the figures here
sit beside :func:`rt_widget.analysis.turns` row for row.

Voice is found with an energy gate (see :func:`speech_spans`), not a neural VAD: the voice in
a 60-minute track is found in a fraction of a second (everything here, echo check included,
takes a few seconds for an hour), and the tracks need no speech/non-speech judgement: the
microphone holds the user, the model track the model.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._checks import finite
from ..analysis import turns
from ..events import EventLog
from .store import Recording
from .track import Track

Spans = npt.NDArray[np.float64]
"""Shape ``(n, 2)``: start and end times (events' clock), in order, not overlapping."""

AUDIO_TURN_COLUMNS = [
    *("item_id", "speech_ended", "first_heard", "silence_s", "overlap_s", "heard_s"),
    *("vad_start", "vad_end"),
]

FLOOR_DB = -60.0
"""The gate never opens below this (dBFS): quieter than any speech a microphone picks up."""
CEILING_DB = -30.0
"""Nor is it ever set above this: a noisy microphone's gate still lets quiet speech through."""
MARGIN_DB = 12.0
"""How far above the track's noise floor the adaptive gate sits."""

# Where speech_ended is looked for around the turn's speech_stopped event: the service sends
# it after its silence timeout (0.5 s by default, several seconds with a patient semantic VAD),
# so the real end lies before it; a little after allows for clock jitter.
_END_BEFORE_S = 3.0
DEFAULT_PREFIX_PADDING_MS = 300  # server_vad's, where a session does not say
_END_AFTER_S = 0.25

ECHO_CORRELATION = 0.25
"""Normalised cross-correlation of the model's voice in the mic track above which it is echo."""
# The model track is the voice as it arrived; a listener hears it after the jitter buffer
# (0.1-0.3 s), then the speaker-to-microphone path adds its own tens of milliseconds.
ECHO_MAX_LAG_S = 1.0
QUICK_ONSET_S = 0.6
"""A mic onset this soon after the model's voice starts is the model heard, not the user."""
QUICK_ONSETS = 3
QUICK_SHARE = 0.2
_ECHO_RATE = 8_000  # correlation rate: speech's energy is below 4 kHz, and a third of the work
_MIN_STRETCH_S = 0.3  # shorter bursts of model voice hold too little to correlate

ECHO_ADVICE = (
    "Use headphones, or turn on near-field noise reduction with "
    'rt.Realtime(noise_reduction="near_field"), or lower the speaker volume.'
)


def check_recording(recording: Any, where: str) -> Recording:
    """``recording`` if it is a :class:`Recording`; else a ``TypeError`` naming ``where`` and the fix."""
    if isinstance(recording, Recording):
        return recording
    if isinstance(recording, EventLog):
        hint = "an event log has no audio: record the call with rt.Realtime(record=True) and pass the recording"
    elif isinstance(recording, str) or hasattr(recording, "__fspath__"):
        hint = "a saved recording is a folder: load it with rt.load(path) first"
    else:
        hint = "such as rt.load(path), or the recording of a call made with record=True"
    raise TypeError(f"{where}() takes an rt-widget Recording ({hint}); got {type(recording).__name__}.")


# -- where there is voice ------------------------------------------------------------------------


def speech_spans(
    track: Track,
    *,
    threshold_db: float | None = None,
    frame_ms: float = 20.0,
    hangover_ms: float = 300.0,
    min_speech_ms: float = 60.0,
) -> Spans:
    """Where a track has voice, as (start, end) times on the events' clock.

    An energy gate on 20 ms frames: a frame is voice when its RMS level is above the gate,
    runs of voice closer than ``hangover_ms`` are joined (the pauses between words), runs
    shorter than ``min_speech_ms`` are dropped (clicks), and each edge is then placed to 5 ms.
    Why not the emulator's Silero VAD: each track holds one source, so what is needed is
    *where* the sound is, not *whether* it is speech; the gate finds edges to a few
    milliseconds (a neural VAD scores 32 ms windows and lags its onsets), and a 60-minute
    track takes a fraction of a second (Silero would take minutes). Unlike a live VAD's
    hangover, the gap bridging does not move the ends: an end is where the voice stopped.

    Parameters
    ----------
    track:
        A recorded track.
    threshold_db:
        The gate in dBFS. ``None`` (the default) sets it :data:`MARGIN_DB` above the track's
        noise floor (its 10th-percentile frame), kept within
        :data:`FLOOR_DB` to :data:`CEILING_DB`.
    frame_ms, hangover_ms, min_speech_ms:
        Frame length, the longest gap bridged, and the shortest voice kept.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 2)``, start and end times in seconds (Unix, events' clock), in order.
        Empty for an empty or silent track.
    """
    if not isinstance(track, Track):
        raise TypeError(f"speech_spans() takes a Track, such as recording.mic; got {type(track).__name__}.")
    for name, value, least in (
        ("frame_ms", frame_ms, 1),
        ("hangover_ms", hangover_ms, 0),
        ("min_speech_ms", min_speech_ms, 0),
    ):
        if finite(value) is None or value < least:
            raise ValueError(f"speech_spans({name}={value!r}) is not valid: use a number of milliseconds >= {least}.")
    if threshold_db is not None and finite(threshold_db) is None:
        raise ValueError(
            f"speech_spans(threshold_db={threshold_db!r}) is not valid: use a level in dBFS such as -45, or None."
        )
    frame = max(1, round(track.rate * frame_ms / 1000))
    if len(track.samples) == 0 or len(track.anchors) == 0:
        return np.zeros((0, 2))
    power = _frame_power(track.samples, frame)
    gate = _gate(power, threshold_db)
    runs = _runs(power >= gate)
    runs = _bridge(runs, math.ceil(track.rate * hangover_ms / 1000 / frame))
    runs = runs[(runs[:, 1] - runs[:, 0]) * frame >= track.rate * min_speech_ms / 1000]
    if len(runs) == 0:
        return np.zeros((0, 2))
    edges = _refine(track.samples, runs * frame, frame, gate)
    return track.time_at(edges).reshape(-1, 2)


def _frame_power(samples: npt.NDArray[np.int16], frame: int) -> npt.NDArray[np.float64]:
    """Mean square (full scale = 1) of each frame; the last, short frame over its own length."""
    count = math.ceil(len(samples) / frame)
    power = np.empty(count)
    step = max(1, 2**20 // frame)  # about a million samples at a time: bounded memory for long tracks
    for lo in range(0, count, step):
        hi = min(count, lo + step)
        block = samples[lo * frame : hi * frame].astype(np.float32)
        full = len(block) // frame
        squares = block[: full * frame].reshape(full, frame)
        power[lo : lo + full] = np.einsum("ij,ij->i", squares, squares) / frame
        if full < hi - lo:  # the track's last frame is short
            tail = block[full * frame :]
            power[lo + full] = float(np.dot(tail, tail)) / len(tail)
    return power / 32768.0**2


def _gate(power: npt.NDArray[np.float64], threshold_db: float | None) -> float:
    """The gate as a mean square (full scale = 1)."""
    if threshold_db is not None:
        return float(10 ** (threshold_db / 10))
    # A call is mostly not speech, so its quieter frames are the room; on a track that is
    # silent between voices (the model's), they are zeros and the gate sits at its floor.
    floor = 10 * math.log10(float(np.percentile(power, 10)) + 1e-20)
    return float(10 ** (min(max(floor + MARGIN_DB, FLOOR_DB), CEILING_DB) / 10))


def _runs(loud: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """``(n, 2)`` first and one-past-last frame of each run of ``True``."""
    change = np.diff(np.concatenate([[False], loud, [False]]).astype(np.int8))
    return np.stack([np.flatnonzero(change == 1), np.flatnonzero(change == -1)], axis=1).astype(np.int64)


def _bridge(runs: npt.NDArray[np.int64], gap: int) -> npt.NDArray[np.int64]:
    """Join runs separated by at most ``gap`` frames."""
    if len(runs) < 2:
        return runs
    keep = np.concatenate([[True], runs[1:, 0] - runs[:-1, 1] > gap])
    starts = runs[keep, 0]
    ends = runs[np.concatenate([keep[1:], [True]]), 1]
    return np.stack([starts, ends], axis=1)


def _refine(samples: npt.NDArray[np.int16], edges: npt.NDArray[np.int64], frame: int, gate: float) -> Any:
    """Move each span's edges (sample indices) to the first/last 5 ms block above the gate.

    A frame is above the gate on average, so one of its blocks is: the search (in the frame
    and the one outside it) always finds an edge.
    """
    block = max(1, frame // 4)
    per = 2 * frame // block
    offsets = np.arange(per * block)

    def blocks_above(first: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        index = np.clip(first[:, None] + offsets[None, :], 0, len(samples) - 1)
        inside = (first[:, None] + offsets[None, :] >= 0) & (first[:, None] + offsets[None, :] < len(samples))
        values = np.where(inside, samples[index].astype(np.float32) / 32768.0, 0.0)
        power = (values**2).reshape(len(first), per, block).mean(axis=2)
        return np.asarray(power >= gate)

    starts, ends = edges[:, 0], edges[:, 1]
    above = blocks_above(starts - frame)
    first_block = np.where(above.any(axis=1), above.argmax(axis=1), per // 2)
    new_starts = np.maximum(starts - frame + first_block * block, 0)
    above = blocks_above(ends - frame)
    last_block = np.where(above.any(axis=1), per - 1 - above[:, ::-1].argmax(axis=1), per // 2 - 1)
    new_ends = np.minimum(ends - frame + (last_block + 1) * block, len(samples))
    return np.stack([new_starts, np.maximum(new_ends, new_starts + 1)], axis=1)


def _voiced(spans: Spans, lo: float, hi: float) -> float:
    """Seconds of ``spans`` between ``lo`` and ``hi``."""
    if len(spans) == 0 or not hi > lo:
        return 0.0
    return float(np.clip(np.minimum(spans[:, 1], hi) - np.maximum(spans[:, 0], lo), 0, None).sum())


def _intersect(a: Spans, b: Spans) -> Spans:
    """The times in both ``a`` and ``b``."""
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i, 0], b[j, 0]), min(a[i, 1], b[j, 1])
        if hi > lo:
            out.append((lo, hi))
        if a[i, 1] < b[j, 1]:
            i += 1
        else:
            j += 1
    return np.asarray(out, np.float64).reshape(-1, 2)


# -- per turn ------------------------------------------------------------------------------------


def audio_turns(recording: Recording) -> pd.DataFrame:
    """Per user turn, what the tracks say: when speech really ended, when the reply was heard.

    One row per row of :func:`rt_widget.analysis.turns` (same order), to set beside it. Times
    are Unix seconds on the events' clock.

    Columns
    -------
    ``item_id``
        The user item, as in :func:`~rt_widget.analysis.turns`.
    ``speech_ended``
        When the user's voice stopped in the mic track: the end of voice nearest before the
        turn's ``speech_stopped`` event (which the service sends after its silence timeout);
        for a turn without one, the last end of voice before the reply.
    ``first_heard``
        The start of the first model voice in the model track after ``speech_ended`` (after
        the event-based end of input when the mic has none), before the next turn's speech ended:
        when the reply reached the listener's device (the track is the voice as received; see
        :attr:`.Track.as_played`).
    ``silence_s``
        ``first_heard - speech_ended``: the silence the user really waited.
    ``overlap_s``
        Seconds both tracks have voice from the start of this turn's speech to the start of
        the next turn's: a barge-in's overlap counts in the turn that barged in.
    ``heard_s``
        Seconds of the reply's voice in the model track, from ``first_heard`` to the end of
        the next turn's speech: for an interrupted reply (status ``cancelled``, or its audio
        cleared), how much was heard before it was cut off; for others, how long it spoke.
    ``vad_start``, ``vad_end``
        Where the service's VAD heard the turn's speech begin and end: ``speech_started``'s
        ``audio_start_ms`` (plus ``prefix_padding_ms``: the service starts the turn's audio
        that much before the speech) and ``speech_stopped``'s ``audio_end_ms``, counted in
        the audio the call sent and placed by when that audio was captured
        (:attr:`.Recording.sent_clock`). Beside ``speech_ended`` and the microphone track's
        onsets, they show how early or late the VAD decided. NaN where the page could not
        read its sent audio's capture times.

    A figure that needs a track with no audio is NaN; so is one the tracks do not show (no
    voice where the turn's speech should be). A reply never heard has ``heard_s`` 0.
    """
    recording = check_recording(recording, "audio_turns")
    frame = _measure(recording)
    vad = _vad_times(recording)
    for i, column in enumerate(("vad_start", "vad_end")):
        frame[column] = [vad.get(item, [math.nan, math.nan])[i] for item in frame["item_id"]]
    return frame[AUDIO_TURN_COLUMNS]


def _measure(recording: Recording) -> pd.DataFrame:
    """:func:`audio_turns` plus ``turn_start`` and ``reply_end``, the spans the plot shades."""
    table = turns(recording.events)
    has_mic, has_model = len(recording.mic.samples) > 0, len(recording.model.samples) > 0
    user = speech_spans(recording.mic) if has_mic else np.zeros((0, 2))
    voice = speech_spans(recording.model) if has_model else np.zeros((0, 2))
    both = _intersect(user, voice)
    rows = [{str(key): _time(value) for key, value in row.items()} for row in table.to_dict("records")]
    nan = math.nan

    ended: list[float] = []
    for row in rows:
        ended.append(_speech_end(user, row, ended[-1] if ended else nan) if has_mic else nan)
    # Where each turn's input ended (from the audio, else from the events), and where it began.
    input_end = [
        end if math.isfinite(end) else _first(row, "speech_stopped", "committed", "response_created")
        for end, row in zip(ended, rows, strict=True)
    ]
    starts = [_turn_start(user, end, row) for end, row in zip(ended, rows, strict=True)]

    out = []
    for i, row in enumerate(rows):
        # A turn's reply is the model's voice after its input ended and before the next turn's did.
        bound = _first_finite(input_end[i + 1 :], math.inf)
        first = heard = reply_end = nan
        if has_model and math.isfinite(input_end[i]):
            reply = voice[(voice[:, 0] > input_end[i]) & (voice[:, 0] < bound)]
            heard = 0.0  # the model track was recording: this reply was never heard
            if len(reply):
                first, reply_end = float(reply[0, 0]), float(min(reply[-1, 1], bound))
                heard = _voiced(voice, first, bound)
        next_start = _first_finite(starts[i + 1 :], math.inf)
        out.append(
            {
                "item_id": row["item_id"],
                "speech_ended": ended[i],
                "first_heard": first,
                "silence_s": first - ended[i],
                "overlap_s": _voiced(both, starts[i], next_start) if has_mic and has_model else nan,
                "heard_s": heard,
                "turn_start": starts[i],
                "reply_end": reply_end,
            }
        )
    columns = [*AUDIO_TURN_COLUMNS, "turn_start", "reply_end"]
    return pd.DataFrame(out, columns=columns).astype({c: float for c in columns[1:]})


def _vad_times(recording: Recording) -> dict[Any, list[float]]:
    """Per user item, where the service's VAD put its speech on the events' clock (see :func:`audio_turns`)."""
    clock, padding_s = recording.sent_clock, {}
    found: dict[Any, list[float]] = {}
    for type_, call_id, event in recording.events.rows("type", "call_id", "event"):
        if type_ in ("session.created", "session.updated"):
            padding_s[call_id] = _prefix_padding_s(event.get("session"))
        elif type_ in ("input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped"):
            started = type_.endswith("started")
            ms = finite(event.get("audio_start_ms" if started else "audio_end_ms"))
            if ms is not None:
                at = clock.time(call_id, ms / 1000 + (padding_s.get(call_id, 0.0) if started else 0.0))
                found.setdefault(event.get("item_id"), [math.nan, math.nan])[0 if started else 1] = at
    return found


def _prefix_padding_s(session: Any) -> float:
    """The ``prefix_padding_ms`` a session's server VAD adds before speech, in seconds (0 for others)."""
    audio = session.get("audio") if isinstance(session, dict) else None
    audio_in = audio.get("input") if isinstance(audio, dict) else None
    detection = audio_in.get("turn_detection") if isinstance(audio_in, dict) else None
    if not isinstance(detection, dict) or detection.get("type") != "server_vad":
        return 0.0
    return (finite(detection.get("prefix_padding_ms", DEFAULT_PREFIX_PADDING_MS)) or 0.0) / 1000


def _time(value: Any) -> Any:
    """A table cell as a float time (NaN for a missing one); other cells as they are."""
    if value is None:
        return math.nan
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _first(row: dict[str, Any], *keys: str) -> float:
    """The first of ``keys`` that is a time in ``row`` (NaN if none is)."""
    return _first_finite([row.get(k) for k in keys], math.nan)


def _first_finite(values: list[Any], default: float) -> float:
    return next((float(v) for v in values if isinstance(v, float) and math.isfinite(v)), default)


def _speech_end(user: Spans, row: dict[str, Any], previous: float) -> float:
    """The end of the user's voice for one turn (see :func:`audio_turns`), or NaN."""
    ends = user[:, 1]
    lo = previous if math.isfinite(previous) else -math.inf
    stopped = _first(row, "speech_stopped")
    if math.isfinite(stopped):
        near = ends[(ends > max(lo, stopped - _END_BEFORE_S)) & (ends <= stopped + _END_AFTER_S)]
        return float(near[np.argmin(np.abs(near - stopped))]) if len(near) else math.nan
    reply = _first(row, "first_audio", "response_created")
    began = _first(row, "speech_started")
    if math.isfinite(began):
        lo = max(lo, began)
    before = ends[(ends > lo) & (ends <= reply)]  # no reply (NaN): nothing matches
    return float(before[-1]) if len(before) else math.nan


def _turn_start(user: Spans, ended: float, row: dict[str, Any]) -> float:
    """When the turn began: the start of the user's voice that ended at ``ended``, else the first event."""
    if math.isfinite(ended):
        match = user[user[:, 1] == ended]
        if len(match):
            return float(match[0, 0])
    return _first(row, "speech_started", "committed", "response_created")


# -- echo ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EchoReport:
    """What :func:`echo_check` found.

    Attributes
    ----------
    echo:
        ``True`` when the model's voice is in the microphone track.
    message:
        What was found and, when ``echo``, what to do.
    correlation:
        Peak normalised cross-correlation of the model's voice against the mic track, at
        lags 0 to 1 s (0: none, 1: the mic is the model's voice). NaN without both tracks.
    delay_s:
        The lag of that peak (the echo's delay), or ``None``.
    quick_onsets:
        How many times voice started in the mic within 600 ms after the model's voice started.
    model_onsets:
        How many times the model's voice started.
    analysed_s:
        Seconds of the model's voice that were correlated.
    """

    echo: bool
    message: str
    correlation: float
    delay_s: float | None
    quick_onsets: int
    model_onsets: int
    analysed_s: float


def echo_check(recording: Recording) -> EchoReport:
    """Is the model hearing itself? Look for its voice in the microphone track.

    Two signs, either of which fires the check:

    - the model's voice correlates with the mic track (normalised cross-correlation, by FFT,
      over the stretches where the model speaks, at lags 0 to 1 s) above
      :data:`ECHO_CORRELATION`: its sound came back through the microphone;
    - voice starts in the mic within :data:`QUICK_ONSET_S` after the model's voice starts, at
      least :data:`QUICK_ONSETS` times and for at least a fifth of the model's onsets (an
      echo that the browser's echo canceller has distorted past correlating, or a service
      interrupting its own reply). The share keeps a long call with a few quick replies quiet.

    Parameters
    ----------
    recording:
        A recording with both tracks.

    Returns
    -------
    EchoReport
        Its ``message`` says what to do when ``echo`` is set.
    """
    recording = check_recording(recording, "echo_check")
    mic, model = recording.mic, recording.model
    if len(mic.samples) == 0 or len(model.samples) == 0:
        missing = "microphone" if len(mic.samples) == 0 else "model"
        return EchoReport(False, f"No echo check: the {missing} track is empty.", math.nan, None, 0, 0, 0.0)
    user, voice = speech_spans(mic), speech_spans(model)
    correlation, delay, analysed = _correlate(mic, model, voice)
    quick = _quick_onsets(user[:, 0], voice[:, 0])
    by_sound = correlation >= ECHO_CORRELATION
    by_timing = quick >= QUICK_ONSETS and quick >= QUICK_SHARE * len(voice)
    found = []
    if by_sound:
        found.append(
            f"the model's voice is in the microphone track (correlation {correlation:.2f}, {delay * 1000:.0f} ms late)"
        )
    if by_timing:
        found.append(
            f"the microphone picked up sound within {QUICK_ONSET_S * 1000:.0f} ms of the model starting to speak "
            f"{quick} times out of {len(voice)}"
        )
    if found:
        message = (
            f"Echo: {'; and '.join(found)}. The model is probably hearing itself through the speakers, "
            f"which can make it interrupt itself. {ECHO_ADVICE}"
        )
    else:
        message = (
            f"No echo found (correlation {correlation:.2f} over {analysed:.0f} s of the model's voice; "
            f"{quick} quick onsets out of {len(voice)})."
        )
    return EchoReport(bool(found), message, correlation, delay if by_sound else None, quick, len(voice), analysed)


def warn_if_echo(recording: Recording) -> EchoReport:
    """Run :func:`echo_check`, and issue a ``UserWarning`` with its message when it finds echo."""
    report = echo_check(check_recording(recording, "warn_if_echo"))
    if report.echo:
        warnings.warn(report.message, UserWarning, stacklevel=2)
    return report


def _quick_onsets(user_onsets: npt.NDArray[np.float64], model_onsets: npt.NDArray[np.float64]) -> int:
    """Mic onsets that follow a model onset by at most :data:`QUICK_ONSET_S`."""
    if len(user_onsets) == 0 or len(model_onsets) == 0:
        return 0
    latest = np.searchsorted(model_onsets, user_onsets, side="right") - 1
    ok = latest >= 0
    gaps = user_onsets[ok] - model_onsets[latest[ok]]
    return int(np.count_nonzero(gaps <= QUICK_ONSET_S))


def _correlate(mic: Track, model: Track, voice: Spans) -> tuple[float, float, float]:
    """Peak of the duration-weighted mean normalised cross-correlation, its lag, and seconds used."""
    max_lag = round(ECHO_MAX_LAG_S * _ECHO_RATE)
    total = np.zeros(max_lag + 1)
    weight = 0
    for start, end in voice:
        if end - start < _MIN_STRETCH_S:
            continue
        x = _resampled(model.between(start, end), model.rate)
        y = _resampled(mic.between(start, end + ECHO_MAX_LAG_S), mic.rate)
        if len(x) == 0:
            continue
        y = np.pad(y, (0, max(0, len(x) + max_lag - len(y))))[: len(x) + max_lag]  # past the mic's end: silence
        # Lags 0..max_lag never reach past y's end, so a circular correlation as long as y is exact.
        size = 1 << (len(y) - 1).bit_length()
        lagged = np.fft.irfft(np.fft.rfft(y, size) * np.conj(np.fft.rfft(x, size)), size)[: max_lag + 1]
        energy = np.concatenate([[0.0], np.cumsum(y**2)])
        mic_energy = energy[len(x) : len(x) + max_lag + 1] - energy[: max_lag + 1]  # y's window at each lag
        norm = np.sqrt(float(np.dot(x, x)) * mic_energy)
        total += np.divide(lagged, norm, out=np.zeros_like(lagged), where=norm > 0) * len(x)
        weight += len(x)
    if weight == 0:
        return 0.0, 0.0, 0.0
    mean = total / weight
    peak = int(np.argmax(mean))
    return float(mean[peak]), peak / _ECHO_RATE, weight / _ECHO_RATE


def _resampled(samples: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.float64]:
    """Samples at :data:`_ECHO_RATE`: block means (a crude low-pass, plenty to correlate speech)."""
    factor = max(1, rate // _ECHO_RATE)
    usable = len(samples) // factor * factor
    out: npt.NDArray[np.float64] = np.zeros(usable // factor)
    for phase in range(factor):  # strided sums: faster than a reshaped mean
        out += samples[phase:usable:factor]
    out /= factor
    if rate != factor * _ECHO_RATE and len(out) > 1:  # a rate that is not a multiple of 8 kHz
        count = int(len(out) * _ECHO_RATE * factor / rate)
        out = np.interp(np.linspace(0, len(out) - 1, count), np.arange(len(out)), out).astype(np.float64)
    return out
