"""Shared sample data."""

from __future__ import annotations

import functools
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

from rt_widget.emulator import tts

_SPEAK = (
    "import sys, numpy as np; from rt_widget.emulator import tts; s = tts.speak(sys.argv[1], sys.argv[2]); "
    "sys.stdout.buffer.write(np.int32(s.rate).tobytes() + s.samples.tobytes())"
)


@functools.cache
def speech(text: str, voice: str = "alloy") -> tts.Speech:
    """espeak-ng saying ``text`` as the first thing a fresh process says.

    espeak-ng keeps state from one utterance to the next, so the same text sounds a little
    different each time and the recognizer's answer can change with what ran before. Speech
    made in a fresh process is the same in every test run, whatever order the tests run in.
    """
    out = subprocess.run([sys.executable, "-c", _SPEAK, text, voice], capture_output=True, check=True).stdout
    return tts.Speech(np.frombuffer(out[4:], np.int16).copy(), int(np.frombuffer(out[:4], np.int32)[0]))


def spoken_wav(path: Path, text: str) -> Path:
    """``text`` spoken by the offline TTS (as :func:`speech`), written as a 16-bit mono WAV file."""
    said = speech(text)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(said.rate)
        out.writeframes(said.samples.astype("<i2").tobytes())
    return path


# The usage block of an observed gpt-realtime response (reference/realtime-protocol.md 4.5);
# its worked example prices it at $0.0106136.
REFERENCE_USAGE = {
    "total_tokens": 320,
    "input_tokens": 132,
    "output_tokens": 188,
    "input_token_details": {
        "text_tokens": 59,
        "audio_tokens": 73,
        "image_tokens": 0,
        "cached_tokens": 64,
        "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 64, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 41, "audio_tokens": 147},
}
