"""Hearing the microphone: an energy VAD with ``server_vad`` semantics, then transcription.

Each 20 ms frame of the caller's audio goes through :meth:`Listener.feed`. With turn detection
on, speech (energy above a level set by ``threshold``) opens a turn that includes
``prefix_padding_ms`` of audio before it; ``silence_duration_ms`` of quiet closes it. A closed
turn is committed as a user item, transcribed offline, and answered when ``create_response`` is
true. Speech during a reply interrupts it when ``interrupt_response`` is true. With
``turn_detection: null`` the audio only fills the input buffer, for manual commits
(push-to-talk).
"""

from __future__ import annotations

import asyncio
import collections
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .engine import Engine
from .transcription import INPUT_RATE

FRAME_MS = 20
SEMANTIC_SILENCE_MS = {"low": 800, "medium": 500, "high": 250, "auto": 500}


def speech_level(threshold: float) -> float:
    """The RMS level (full scale = 1) that counts as speech for a VAD ``threshold``."""
    return 0.004 + 0.06 * threshold * threshold


def to_mono_24k(frame: npt.NDArray[np.int16], channels: int) -> npt.NDArray[np.int16]:
    """Interleaved 48 kHz frames (what aiortc decodes) to mono 24 kHz."""
    mono = frame.reshape(-1, channels).mean(axis=1) if channels > 1 else frame.astype(np.float64)
    return mono.reshape(-1, 2).mean(axis=1).astype(np.int16) if len(mono) % 2 == 0 else mono.astype(np.int16)


class Listener:
    """Turns microphone frames into the service's input-audio events."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._written_ms = 0.0
        self._prefix: collections.deque[npt.NDArray[np.int16]] = collections.deque()
        self._speech: list[npt.NDArray[np.int16]] | None = None
        self._silence_ms = 0.0
        self._start_ms = 0.0
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
        self._prefix.append(pcm)
        keep = max(1, math.ceil(float(detection.get("prefix_padding_ms", 300)) / frame_ms) + 1)
        while len(self._prefix) > keep:
            self._prefix.popleft()
        if _rms(pcm) < speech_level(float(detection.get("threshold", 0.5))):
            return
        self._speech = list(self._prefix)
        self._silence_ms = 0.0
        self._start_ms = max(0.0, self._written_ms + frame_ms - len(self._prefix) * frame_ms)
        self._item_id = self._engine.new_item_id()
        self._engine.emit(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": int(self._start_ms),
                "item_id": self._item_id,
            }
        )
        if detection.get("interrupt_response", True):
            self._spawn(self._engine.interrupt())

    def _continue(self, pcm: npt.NDArray[np.int16], frame_ms: float, detection: dict[str, Any]) -> None:
        assert self._speech is not None
        self._speech.append(pcm)
        threshold = float(detection.get("threshold", 0.5))
        self._silence_ms = 0.0 if _rms(pcm) >= speech_level(threshold) else self._silence_ms + frame_ms
        if self._silence_ms < _silence_needed(detection):
            return
        end_ms = self._written_ms + frame_ms - self._silence_ms
        speech, item_id = np.concatenate(self._speech), self._item_id
        self._speech, self._item_id = None, None
        self._prefix.clear()
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


def _rms(pcm: npt.NDArray[np.int16]) -> float:
    return float(np.sqrt(np.mean(np.square(pcm.astype(np.float64))))) / 32768 if len(pcm) else 0.0


def _silence_needed(detection: dict[str, Any]) -> float:
    if detection.get("type") == "semantic_vad":
        return SEMANTIC_SILENCE_MS.get(str(detection.get("eagerness", "auto")), 500)
    return float(detection.get("silence_duration_ms", 200))
