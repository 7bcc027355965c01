"""Offline transcription with pocketsphinx, restricted to the phrases the emulator expects.

Free-vocabulary recognition of speech is poor offline; recognition among a known list of
phrases is reliable. The list is the scripted model's own phrases, "call <tool>" for each
function tool, and any phrases given in the session's ``transcription.prompt`` (one per line
or separated by ``|``).

The emulator runs this in a process of its own (see :mod:`.asr_worker`).

Limits, measured on espeak-ng speech: about 80% of phrases are found across four voices
(10 phrases x 4 voices: 32/40), more with the default en-us voice; pocketsphinx adapts to
the audio it has heard, so a phrase can be missed by a fresh decoder and found later (for
example "call get weather"). Prefer distinctive phrases.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import threading
from typing import Any

import av
import numpy as np
import numpy.typing as npt

BUILTIN_PHRASES = [
    "hello",
    "hello there",
    "good morning",
    "what is the weather",
    "what is the weather like today",
    "tell me a joke",
    "write a haiku",
    "thank you",
    "goodbye",
    "what is your name",
    "who are you",
]
RATE = 16_000


def phrases_for(session: dict[str, Any]) -> list[str]:
    """The phrases the recognizer chooses among for this session."""
    phrases = list(BUILTIN_PHRASES)
    for tool in session.get("tools") or []:
        if tool.get("type") == "function":
            words = str(tool.get("name", "")).replace("_", " ")
            phrases += [f"call {words}", words]
    prompt = ((session.get("audio", {}).get("input", {}).get("transcription")) or {}).get("prompt") or ""
    phrases += [p for p in re.split(r"[\n|]+", prompt) if p.strip()]
    cleaned = (re.sub(r"[^a-z' ]+", " ", p.lower()).split() for p in phrases)
    return list(dict.fromkeys(" ".join(words) for words in cleaned if words))


def to_16k(samples: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.int16]:
    """Resample mono 16-bit audio to 16 kHz with a proper (anti-aliased) resampler."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    out = [f.to_ndarray().reshape(-1) for f in [*resampler.resample(frame), *resampler.resample(None)]]
    return np.concatenate(out).astype(np.int16) if out else np.zeros(0, np.int16)


class _Recognizer:
    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(samprate=RATE, lm=None, loglevel="FATAL")
        self._grammars: set[str] = set()

    def transcribe(self, pcm: npt.NDArray[np.int16], phrases: list[str]) -> str:
        words = [p for p in phrases if all(self._decoder.lookup_word(w) for w in p.split())]
        if not words or len(pcm) == 0:
            return ""
        name = "g" + hashlib.sha1("|".join(words).encode()).hexdigest()[:12]  # noqa: S324 - a name, not security
        if name not in self._grammars:
            grammar = f"#JSGF V1.0;\ngrammar {name};\npublic <talk> = {' | '.join(words)} ;\n"
            self._decoder.add_jsgf_string(name, grammar)
            self._grammars.add(name)
        self._decoder.activate_search(name)
        padding = np.zeros(RATE * 3 // 10, np.int16)  # recognition is steadier with silence around
        self._decoder.start_utt()
        self._decoder.process_raw(np.concatenate([padding, pcm, padding]).tobytes(), full_utt=True)
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        return _complete(str(hyp.hypstr) if hyp is not None else "", words)


def _complete(heard: str, phrases: list[str]) -> str:
    """Snap a hypothesis to a listed phrase: the search may stop short of a phrase's end."""
    if not heard or heard in phrases:
        return heard
    started = [p for p in phrases if p.startswith(heard + " ")]
    if started:
        return min(started, key=len)
    close = difflib.get_close_matches(heard, phrases, n=1, cutoff=0.6)
    return close[0] if close else heard


_recognizer: _Recognizer | None = None
_lock = threading.Lock()


def recognize(samples: npt.NDArray[np.int16], rate: int, phrases: list[str]) -> str:
    """Which of ``phrases`` was said in ``samples`` (blocking; run it in a worker thread)."""
    global _recognizer  # the acoustic model is large: load it once per process
    if len(samples) == 0:
        return ""  # nothing said (and nothing to resample)
    with _lock:
        if _recognizer is None:
            _recognizer = _Recognizer()
        return _recognizer.transcribe(to_16k(samples, rate) if rate != RATE else samples, phrases)


def transcribe(samples: npt.NDArray[np.int16], rate: int, session: dict[str, Any]) -> str:
    """The phrase heard in ``samples``, among those :func:`phrases_for` the session."""
    return recognize(samples, rate, phrases_for(session))
