"""Offline text-to-speech with espeak-ng (bundled by the ``espeakng-loader`` wheel).

libespeak-ng keeps global state, so calls are serialized with a lock; synthesis runs far
faster than real time (a sentence takes a few milliseconds).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_RATE_PARAMETER = 1
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

# The emulator's voices map onto espeak-ng variants so a voice change is audible.
VOICES = {
    "alloy": "en-us",
    "ash": "en-us+m3",
    "ballad": "en-gb+m1",
    "coral": "en-us+f2",
    "echo": "en-us+m2",
    "sage": "en-us+f3",
    "shimmer": "en-us+f4",
    "verse": "en-gb",
    "marin": "en-us+f1",
    "cedar": "en-us+m1",
}


@dataclass(frozen=True)
class Speech:
    """Synthesized mono 16-bit speech."""

    samples: npt.NDArray[np.int16]
    rate: int

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.rate


class _Engine:
    def __init__(self) -> None:
        import espeakng_loader

        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        self.rate = int(self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0))
        if self.rate <= 0:
            msg = "espeak-ng failed to initialize; reinstall the espeakng-loader package."
            raise RuntimeError(msg)
        self._chunks: list[npt.NDArray[np.int16]] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: ctypes does not
        self._lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).astype(np.int16))
        return 0

    def synthesize(self, text: str, voice: str, speed: float) -> Speech:
        self._chunks = []
        self._lib.espeak_SetVoiceByName(voice.encode())
        self._lib.espeak_SetParameter(_RATE_PARAMETER, int(175 * speed), 0)
        data = text.encode()
        self._lib.espeak_Synth(
            ctypes.c_char_p(data),
            len(data) + 1,
            0,
            _POS_CHARACTER,
            0,
            _ESPEAK_CHARS_UTF8,
            None,
            None,
        )
        chunks, self._chunks = self._chunks, []
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        return Speech(samples, self.rate)


_engine: _Engine | None = None
_lock = threading.Lock()


def speak(text: str, voice: str = "alloy", speed: float = 1.0) -> Speech:
    """Synthesize ``text`` with the espeak-ng variant standing in for ``voice``."""
    global _engine  # libespeak-ng is a process-wide singleton
    with _lock:
        if _engine is None:
            _engine = _Engine()
        return _engine.synthesize(text, VOICES.get(voice, "en-us"), speed)


T = TypeVar("T")
_speech_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="rt-widget-speech")


async def off_the_loop(work: Callable[..., T], *args: Any) -> T:
    """Run speech work (synthesis, encoding) on the one speech thread.

    One thread, not the default pool: espeak-ng is serialized anyway, and with ten replies
    starting at once, ten threads taking turns at the GIL kept the event loop, and every
    call's audio, waiting.
    """
    return await asyncio.get_running_loop().run_in_executor(_speech_thread, functools.partial(work, *args))
