"""Audio carried in events, both ways: the engine's audio seam for the WebSocket transport.

Over WebRTC the model's voice plays on a media track (:class:`~.speaker.Speaker`) and the
microphone arrives on RTP. Over a WebSocket both ride in JSON events, base64 in the session's
formats: the client appends its microphone (``input_audio_buffer.append``) and plays the
reply's ``response.output_audio.delta`` chunks itself. An :class:`AudioEvents` given to the
engine in place of a speaker tells it so.

Formats: ``audio/pcm`` is 16-bit little-endian mono at 24 kHz; ``audio/pcmu`` and
``audio/pcma`` are G.711 at 8 kHz (:mod:`.g711`). Whatever the format, the engine and the
listener work on 24 kHz PCM16.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from . import g711
from .transcription import INPUT_RATE

CHUNK_MS = 100
"""The audio of one ``response.output_audio.delta``."""
_BYTES_PER_S = {"audio/pcm": INPUT_RATE * 2, "audio/pcmu": g711.RATE, "audio/pcma": g711.RATE}
_ENCODE = {"audio/pcmu": g711.ulaw_encode, "audio/pcma": g711.alaw_encode}
_DECODE = {"audio/pcmu": g711.ulaw_decode, "audio/pcma": g711.alaw_decode}


def resample(samples: npt.NDArray[np.int16], rate: int, to: int) -> npt.NDArray[np.int16]:
    """Linear resampling from ``rate`` to ``to`` Hz: plenty for the emulator's speech."""
    if rate == to or len(samples) == 0:
        return samples
    n = int(len(samples) * to / rate)
    positions = np.linspace(0, len(samples) - 1, n)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.int16)


def _kind(audio_format: dict[str, Any]) -> str:
    """The format's ``type`` (validated on the way in: one of the three)."""
    return str(audio_format.get("type") or "audio/pcm")


@dataclass(frozen=True)
class AudioEvents:
    """The session's audio goes in events: the client plays the reply, the transport hears appends.

    Parameters
    ----------
    hear:
        Takes the audio of each ``input_audio_buffer.append`` (as 24 kHz PCM16) while turn
        detection is on, so the transport's listener can find the turns; with
        ``turn_detection: null`` appends fill the input buffer for manual commits instead.
    silent:
        Whether reply audio goes out as silence (the ``silent_audio`` fault); read per chunk.
    """

    hear: Callable[[bytes], None]
    silent: Callable[[], bool] = lambda: False

    @staticmethod
    def decode(audio: bytes, audio_format: dict[str, Any]) -> bytes:
        """Appended audio in the input format as 24 kHz PCM16 (what the listener and the buffer hold)."""
        decode = _DECODE.get(_kind(audio_format))
        if decode is None:
            return audio
        return resample(decode(audio), g711.RATE, INPUT_RATE).astype("<i2").tobytes()

    @staticmethod
    def encode(samples: npt.NDArray[np.int16], rate: int, audio_format: dict[str, Any]) -> list[bytes]:
        """Speech in the output format, in chunks of :data:`CHUNK_MS` (the last may be shorter). Thread-safe."""
        kind = _kind(audio_format)
        encode = _ENCODE.get(kind)
        if encode is None:
            data = resample(samples, rate, INPUT_RATE).astype("<i2").tobytes()
        else:
            data = encode(resample(samples, rate, g711.RATE))
        step = _BYTES_PER_S[kind] * CHUNK_MS // 1000
        return [data[i : i + step] for i in range(0, len(data), step)]

    def payload(self, chunk: bytes, audio_format: dict[str, Any]) -> str:
        """The ``delta`` of one chunk: its base64, or that of as much silence."""
        if self.silent():
            encode = _ENCODE.get(_kind(audio_format))
            chunk = bytes(len(chunk)) if encode is None else encode(np.zeros(len(chunk), np.int16))
        return base64.b64encode(chunk).decode("ascii")


def duration_s(chunks: list[bytes], audio_format: dict[str, Any]) -> float:
    """How long ``chunks`` in ``audio_format`` play."""
    return sum(len(chunk) for chunk in chunks) / _BYTES_PER_S[_kind(audio_format)]
