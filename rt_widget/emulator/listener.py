"""Hearing the microphone: a speech detector with ``server_vad`` semantics, then transcription.

Each 20 ms frame of the caller's audio goes through :meth:`Listener.feed`. With turn detection
on, the speech detector (Silero VAD, see :mod:`.vad`) scores the audio; once its probability
has stayed at or above ``threshold`` for ``MIN_SPEECH_MS``, a turn opens that starts
``prefix_padding_ms`` before the speech did. ``silence_duration_ms`` without speech closes it.
A closed turn is committed as a user item, transcribed offline, and answered when
``create_response`` is true. Speech during a reply interrupts it when ``interrupt_response``
is true. With ``turn_detection: null`` the audio only fills the input buffer, for manual commits
(push-to-talk).
"""

from __future__ import annotations

import asyncio
import collections
import math
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .transcription import INPUT_RATE
from .vad import WINDOW_MS, SpeechDetector

FRAME_MS = 20
SEMANTIC_SILENCE_MS = {"low": 800, "medium": 500, "high": 250, "auto": 500}
# Speech must last this long to open a turn. Silero scores the first windows of a sudden
# steady sound (a tone, a hum, a beep) up to about 0.85, for at most 96 ms on the labelled
# clips, while speech stays high for 350 ms and more (benchmarks/vad_bench.py).
MIN_SPEECH_MS = 200
# Once in a turn, speech goes on while the probability stays above a lower bar (hysteresis,
# as Silero's own iterator does with threshold - 0.15), so a dip inside a word is no pause.
HYSTERESIS = 0.15
# A run of speech frames that follows another within this gap began where that one did (only
# the turn's start time and audio, not the MIN_SPEECH_MS count, look across the gap): the
# probability often dips between a soft first syllable and the next.
ONSET_BRIDGE_MS = 64


def to_mono_24k(frame: npt.NDArray[np.int16], channels: int) -> npt.NDArray[np.int16]:
    """Interleaved 48 kHz frames (what aiortc decodes) to mono 24 kHz."""
    group = 2 * channels  # two samples of every channel make one sample at 24 kHz
    if len(frame) % group == 0:  # one sum and one division: the hot path, 50 times a second a call
        sums: npt.NDArray[np.int64] = frame.reshape(-1, group).sum(axis=1, dtype=np.int64)
        return (sums / group).astype(np.int16)
    mono = frame.reshape(-1, channels).mean(axis=1) if channels > 1 else frame.astype(np.float64)
    return mono.astype(np.int16)


class Ears(Protocol):
    """What a :class:`Listener` drives: a Realtime engine, or a GPT-Live session's stand-in for one."""

    @property
    def session(self) -> dict[str, Any]:
        """The effective session (its ``audio.input.turn_detection`` is read)."""

    @property
    def responding(self) -> bool:
        """Whether a response is in progress."""

    def emit(self, event: dict[str, Any]) -> None:
        """Send one server event."""

    def new_item_id(self) -> str:
        """A fresh conversation item id."""

    async def interrupt(self) -> None:
        """The user spoke over the reply."""

    def append_input_audio(self, pcm: bytes) -> None:
        """Audio for the input buffer (turn detection off)."""

    def commit_audio(self, pcm: bytes, item_id: str | None = None) -> dict[str, Any]:
        """A finished turn of speech becomes a user item."""

    def start_response(self, params: dict[str, Any] | None = None) -> str:
        """Answer the committed turn."""


class Listener:
    """Turns microphone frames into the service's input-audio events."""

    def __init__(self, engine: Ears) -> None:
        self._engine = engine
        self._detector = SpeechDetector()
        self._written_ms = 0.0
        self._recent: collections.deque[npt.NDArray[np.int16]] = collections.deque()
        self._onset_frames = 0  # consecutive speech frames before a turn opens
        self._onset_ms = 0.0  # where the speech began
        self._run_end_ms = -math.inf  # where the last run of speech frames ended
        self._speech: list[npt.NDArray[np.int16]] | None = None
        self._silence_ms = 0.0
        self._item_id: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def feed(self, pcm: npt.NDArray[np.int16]) -> None:
        """One frame of mono 16-bit audio at 24 kHz."""
        detection = self._engine.session["audio"]["input"]["turn_detection"]
        frame_ms = len(pcm) / INPUT_RATE * 1000
        if detection is None:
            self._engine.append_input_audio(pcm.tobytes())
        elif self._speech is None:
            self._listen(pcm, frame_ms, detection)
        else:
            self._continue(pcm, frame_ms, detection)
        self._written_ms += frame_ms

    def _listen(self, pcm: npt.NDArray[np.int16], frame_ms: float, detection: dict[str, Any]) -> None:
        prefix_ms = float(detection.get("prefix_padding_ms", 300))
        self._recent.append(pcm)
        keep = math.ceil((prefix_ms + MIN_SPEECH_MS + ONSET_BRIDGE_MS + 4 * WINDOW_MS) / frame_ms) if frame_ms else 1
        while len(self._recent) > keep:
            self._recent.popleft()
        end_ms = self._written_ms + frame_ms
        if self._detector.feed(pcm) < float(detection.get("threshold", 0.5)):
            if self._onset_frames:
                self._run_end_ms = end_ms - frame_ms
            self._onset_frames = 0
            return
        if self._onset_frames == 0 and end_ms - frame_ms - self._run_end_ms > ONSET_BRIDGE_MS:
            # Silero's probability crosses the threshold one or two windows into speech
            # (benchmarks/vad_bench.py), so the speech began about a window before this one.
            self._onset_ms = end_ms - self._detector.lag_ms - WINDOW_MS
        self._onset_frames += 1
        if self._onset_frames * frame_ms < MIN_SPEECH_MS:
            return
        # The turn's audio starts prefix_padding_ms before the speech did.
        frames = min(len(self._recent), math.ceil((end_ms - (self._onset_ms - prefix_ms)) / frame_ms))
        self._speech = list(self._recent)[-frames:]
        self._silence_ms = 0.0
        self._onset_frames, self._run_end_ms = 0, -math.inf
        self._item_id = self._engine.new_item_id()
        self._engine.emit(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": int(max(0.0, end_ms - frames * frame_ms)),
                "item_id": self._item_id,
            }
        )
        if detection.get("interrupt_response", True):
            self._spawn(self._engine.interrupt())

    def _continue(self, pcm: npt.NDArray[np.int16], frame_ms: float, detection: dict[str, Any]) -> None:
        assert self._speech is not None
        self._speech.append(pcm)
        threshold = float(detection.get("threshold", 0.5))
        speaking = self._detector.feed(pcm) >= threshold - min(HYSTERESIS, threshold / 2)
        self._silence_ms = 0.0 if speaking else self._silence_ms + frame_ms
        if self._silence_ms < _silence_needed(detection):
            return
        end_ms = self._written_ms + frame_ms - self._silence_ms
        speech, item_id = np.concatenate(self._speech), self._item_id
        self._speech, self._item_id = None, None
        self._recent.clear()
        self._engine.emit(
            {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": int(end_ms), "item_id": item_id}
        )
        self._engine.commit_audio(speech.tobytes(), item_id)
        if detection.get("create_response", True) and not self._engine.responding:
            self._engine.start_response()  # it waits for the turn's transcription

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Stop work in progress."""
        for task in list(self._tasks):
            task.cancel()


def _silence_needed(detection: dict[str, Any]) -> float:
    if detection.get("type") == "semantic_vad":
        return SEMANTIC_SILENCE_MS.get(str(detection.get("eagerness", "auto")), 500)
    return float(detection.get("silence_duration_ms", 200))
