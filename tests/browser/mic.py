"""A fake microphone that says something: espeak-ng speech in a WAV Chromium plays as its mic."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from playwright.sync_api import Browser, Playwright

from tests.browser.conftest import launch
from tests.samples import speech


def speech_wav(path: Path, text: str, lead_s: float = 1.0, tail_s: float = 4.0) -> Path:
    spoken = speech(text)
    pad = lambda s: np.zeros(int(spoken.rate * s), np.int16)  # noqa: E731
    samples = np.concatenate([pad(lead_s), spoken.samples, pad(tail_s)])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(spoken.rate)
        out.writeframes(samples.tobytes())
    return path


def browser_hearing(playwright: Playwright, wav: Path) -> Iterator[Browser]:
    """Chromium whose fake microphone plays ``wav`` once (a wrong path would fail silently)."""
    assert wav.stat().st_size > 50_000
    browser = launch(playwright, f"--use-file-for-fake-audio-capture={wav}%noloop")
    yield browser
    browser.close()
