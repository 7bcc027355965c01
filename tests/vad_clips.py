"""A labelled set of short clips for the emulator's VAD: speech, and sounds that are not speech.

Everything is made here, offline and deterministically: speech with espeak-ng (the emulator's
own voices, at several speeds, pitches and levels, some of it in noise), and beeps, tones,
noise, hum, clicks and silence synthesized with numpy. Each clip is 1-3 s of mono 16-bit audio
at 24 kHz, what :meth:`rt_widget.emulator.listener.Listener.feed` takes.

The ``chromium_beep`` clips reproduce Chromium's default fake microphone
(``--use-fake-device-for-media-stream``): its ``BeepingSource`` (``media/audio/simple_sources.cc``)
writes unsigned 8-bit samples at 128 (silence) and, for a beep, 255 for half of each period of
a 400 Hz square wave, so a 0-to-full-scale pulse train; each beep lasts 20 ms and one starts
every 500 ms. Browsers then high-pass filter and level the capture, so the set has the raw
pulse train and its DC-free, quieter versions.

Used by ``tests/test_vad.py`` and ``benchmarks/vad_bench.py``.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rt_widget.emulator import tts
from rt_widget.emulator.listener import Listener
from rt_widget.emulator.session import default_session

RATE = 24_000
FRAME = RATE // 50  # 20 ms, what a WebRTC track delivers
SPEECH = "speech"

Audio = npt.NDArray[np.float64]  # mono, full scale = 1


@dataclass(frozen=True)
class Clip:
    """One labelled clip: ``kind`` is ``"speech"`` or the kind of non-speech sound."""

    name: str
    kind: str
    samples: npt.NDArray[np.int16]
    speech_s: tuple[float, float] | None = None  # where the speech begins and ends, in seconds

    @property
    def is_speech(self) -> bool:
        """Whether the clip holds speech (and so must start a turn)."""
        return self.kind == SPEECH


def to_int16(audio: Audio) -> npt.NDArray[np.int16]:
    """Full-scale floats to 16-bit samples, clipping like a sound card does."""
    return (np.clip(audio, -1.0, 32767 / 32768) * 32768).astype(np.int16)


def _seconds(seconds: float) -> npt.NDArray[np.float64]:
    return np.arange(int(RATE * seconds)) / RATE


def _db(level_db: float) -> float:
    return float(10 ** (level_db / 20))


def _rms(audio: Audio) -> float:
    return float(np.sqrt(np.mean(np.square(audio)))) if len(audio) else 0.0


def _at_rms(audio: Audio, level_db: float) -> Audio:
    return audio * (_db(level_db) / max(_rms(audio), 1e-12))


# -- noise ----------------------------------------------------------------------------------


def _coloured_noise(seconds: float, exponent: float, seed: int) -> Audio:
    """Noise whose power falls as 1/f**exponent (0 white, 1 pink, 2 brown), at unit RMS."""
    n = int(RATE * seconds)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    noise = np.fft.irfft(spectrum / f ** (exponent / 2), n)
    noise -= noise.mean()
    return noise / _rms(noise)


def white(seconds: float, level_db: float, seed: int = 0) -> Audio:
    """White noise at ``level_db`` dBFS RMS."""
    return _coloured_noise(seconds, 0, seed) * _db(level_db)


def pink(seconds: float, level_db: float, seed: int = 0) -> Audio:
    """Pink (1/f) noise at ``level_db`` dBFS RMS."""
    return _coloured_noise(seconds, 1, seed) * _db(level_db)


def brown(seconds: float, level_db: float, seed: int = 0) -> Audio:
    """Brown (1/f²) noise at ``level_db`` dBFS RMS."""
    return _coloured_noise(seconds, 2, seed) * _db(level_db)


# -- tones and beeps ------------------------------------------------------------------------


def sine(seconds: float, hz: float, level_db: float) -> Audio:
    """A steady sine at ``level_db`` dBFS peak."""
    return _db(level_db) * np.sin(2 * np.pi * hz * _seconds(seconds))


def square(seconds: float, hz: float, level_db: float) -> Audio:
    """A steady bipolar square wave at ``level_db`` dBFS peak."""
    return _db(level_db) * np.sign(np.sin(2 * np.pi * hz * _seconds(seconds) + 1e-9))


def sawtooth(seconds: float, hz: float, level_db: float) -> Audio:
    """A steady sawtooth (a buzz with every harmonic) at ``level_db`` dBFS peak."""
    phase = (hz * _seconds(seconds)) % 1.0
    return _db(level_db) * (2 * phase - 1)


def sweep(seconds: float, low_hz: float, high_hz: float, level_db: float) -> Audio:
    """A sine gliding exponentially from ``low_hz`` to ``high_hz``."""
    t = _seconds(seconds)
    k = float(np.log(high_hz / low_hz)) / seconds
    return _db(level_db) * np.sin(2 * np.pi * low_hz * (np.exp(k * t) - 1) / k)


def bursts(seconds: float, tone: Audio, on_s: float, period_s: float, offset_s: float = 0.0) -> Audio:
    """``tone`` gated on for ``on_s`` at the start of every ``period_s`` (5 ms ramps against clicks)."""
    t = (_seconds(seconds) - offset_s) % period_s
    gate = (t < on_s).astype(np.float64)
    ramp = np.hanning(2 * int(0.005 * RATE))
    gate = np.convolve(gate, ramp / ramp.sum(), mode="same")
    return tone[: len(gate)] * gate


def chromium_beeps(seconds: float, offset_s: float = 0.0) -> Audio:
    """Chromium's fake microphone: 20 ms of a 0-to-full-scale 400 Hz pulse train every 500 ms.

    Made at 48 kHz in 10 ms buffers as ``BeepingSource`` does (each buffer restarts the
    square wave, 60 samples high, 60 low), then taken to 24 kHz as the emulator's call does
    (averaging pairs).
    """
    rate = 48_000
    skip, n = round(rate * offset_s), 2 * round(RATE * seconds)
    out = np.zeros(skip + n)
    buffer = rate // 100
    pulse = np.zeros(buffer)
    for start in range(0, buffer, 120):
        pulse[start : start + 60] = 1.0
    for beep in range(0, len(out), rate // 2):
        for part in range(2):  # 20 ms = two 10 ms buffers
            at = beep + part * buffer
            out[at : at + buffer] = pulse[: len(out[at : at + buffer])]
    out = out[skip:]
    return np.asarray(out.reshape(-1, 2).mean(axis=1), np.float64)


def high_pass(audio: Audio, hz: float = 80.0) -> Audio:
    """A one-pole DC blocker like the browser's capture high-pass filter."""
    a = float(np.exp(-2 * np.pi * hz / RATE))
    out = np.empty_like(audio)
    prev_x = prev_y = 0.0
    for i, x in enumerate(audio):
        prev_y = a * (prev_y + x - prev_x)
        prev_x = x
        out[i] = prev_y
    return out


def hum(seconds: float, mains_hz: float, level_db: float) -> Audio:
    """Mains hum: the fundamental and its odd and even harmonics, falling off."""
    t = _seconds(seconds)
    audio = sum(np.sin(2 * np.pi * mains_hz * k * t + k) / k for k in range(1, 8))
    return _at_rms(np.asarray(audio, np.float64), level_db)


def clicks(seconds: float, times_s: list[float], level_db: float, seed: int = 0) -> Audio:
    """Short decaying noise bursts (keys, a mouse) at ``times_s``."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(RATE * seconds))
    length = int(0.008 * RATE)
    envelope = np.exp(-np.arange(length) / (0.0015 * RATE))
    for at in times_s:
        start = int(at * RATE)
        out[start : start + length] += (rng.standard_normal(length) * envelope)[: len(out[start : start + length])]
    return out / max(float(np.abs(out).max()), 1e-12) * _db(level_db)


def impulses(seconds: float, per_second: float, level_db: float) -> Audio:
    """Single-sample clicks at a steady rate."""
    out = np.zeros(int(RATE * seconds))
    out[:: int(RATE / per_second)] = _db(level_db)
    return out


# -- speech ---------------------------------------------------------------------------------

SENTENCES = [
    "Hello there",
    "What is the weather like today",
    "Can you hear me",
    "Please book a table for two",
    "Tell me a joke",
    "Turn on the lights in the kitchen",
    "How far away is the moon",
    "I would like a coffee",
    "Thank you very much",
    "Goodbye for now",
    "Write a haiku about the sea",
    "Open the pod bay doors",
]


def spoken(text: str, voice: str, speed: float = 1.0, pitch: float = 1.0) -> Audio:
    """espeak-ng speech at 24 kHz, at -20 dBFS RMS; ``pitch`` > 1 raises pitch (and pace) by that factor."""
    speech = tts.speak(text, voice, speed)
    samples = speech.samples.astype(np.float64) / 32768
    n = int(len(samples) * RATE / (speech.rate * pitch))
    audio = np.interp(np.linspace(0, len(samples) - 1, n), np.arange(len(samples)), samples)
    voiced = audio[np.abs(audio) > 0.01]
    return audio * (_db(-20) / max(_rms(voiced), 1e-12))


def _speech_clips() -> list[Clip]:
    voices = list(tts.VOICES)
    speeds = [1.0, 0.85, 1.3]
    pitches = [1.0, 0.85, 1.0, 1.2]
    gains_db = [0.0, -6.0, -14.0, 6.0, -20.0]
    backgrounds = [None, None, "white", None, "pink", None, "hum", "brown"]
    clips = []
    for i in range(48):
        voice, text = voices[i % len(voices)], SENTENCES[(i * 5) % len(SENTENCES)]
        speed, pitch, gain = speeds[i % 3], pitches[i % 4], gains_db[i % 5]
        lead = 0.15 + 0.1 * (i % 4)
        audio = np.concatenate([np.zeros(int(RATE * lead)), spoken(text, voice, speed, pitch), np.zeros(RATE // 3)])
        audio = audio[: 3 * RATE] * _db(gain)
        audio = np.pad(audio, (0, max(0, RATE - len(audio))))
        audible = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
        speech_s = (audible[0] / RATE, (audible[-1] + 1) / RATE)
        name = f"{voice} x{speed:g} pitch {pitch:g} {gain:+g} dB: {text!r}"
        background = backgrounds[i % len(backgrounds)]
        if background is not None:  # 15-25 dB below the speech
            seconds = len(audio) / RATE + 0.01  # a little over, cut to length below
            noise = {
                "white": white(seconds, gain - 40, seed=i),
                "pink": pink(seconds, gain - 35, seed=i),
                "brown": brown(seconds, gain - 35, seed=i),
                "hum": hum(seconds, 50, gain - 35),
            }[background]
            audio = audio + noise[: len(audio)]
            name += f" + {background} noise"
        clips.append(Clip(name, SPEECH, to_int16(audio), speech_s))
    return clips


def _non_speech_clips() -> list[Clip]:
    s = 3.0
    raw = chromium_beeps(s)
    dc_free = high_pass(raw)
    sounds: list[tuple[str, str, Audio]] = [
        ("chromium_beep", "raw, as generated", raw),
        ("chromium_beep", "raw, 130 ms into the period", chromium_beeps(s, 0.13)),
        ("chromium_beep", "raw, 250 ms into the period", chromium_beeps(s, 0.25)),
        ("chromium_beep", "raw at -20 dB", raw * _db(-20)),
        ("chromium_beep", "high-passed (DC removed)", dc_free),
        ("chromium_beep", "high-passed at -12 dB", dc_free * _db(-12)),
        ("chromium_beep", "high-passed at -30 dB", dc_free * _db(-30)),
        ("chromium_beep", "high-passed over a -60 dB noise floor", dc_free + white(s, -60, seed=1)),
        ("beep", "1 kHz, 100 ms every 400 ms", bursts(s, sine(s, 1000, -6), 0.1, 0.4)),
        ("beep", "440 Hz, 200 ms every 1 s", bursts(s, sine(s, 440, -10), 0.2, 1.0, 0.3)),
        ("beep", "2.5 kHz, 50 ms every 250 ms", bursts(s, sine(s, 2500, -12), 0.05, 0.25)),
        ("beep", "DTMF 697+1209 Hz, 100 ms on and off", bursts(s, sine(s, 697, -12) + sine(s, 1209, -12), 0.1, 0.2)),
        ("beep", "busy tone 480+620 Hz", bursts(s, sine(s, 480, -14) + sine(s, 620, -14), 0.5, 1.0)),
        ("beep", "ring-back 440+480 Hz", bursts(s, sine(s, 440, -14) + sine(s, 480, -14), 2.0, 6.0, 0.5)),
        ("beep", "2 kHz square, 300 ms every 600 ms", bursts(s, square(s, 2000, -20), 0.3, 0.6)),
        ("tone", "100 Hz sine, -6 dBFS", sine(2, 100, -6)),
        ("tone", "200 Hz sine, -6 dBFS", sine(2, 200, -6)),
        ("tone", "300 Hz sine, -12 dBFS", sine(2, 300, -12)),
        ("tone", "440 Hz sine, -6 dBFS", sine(2, 440, -6)),
        ("tone", "440 Hz sine, -30 dBFS", sine(2, 440, -30)),
        ("tone", "1 kHz sine, -6 dBFS", sine(2, 1000, -6)),
        ("tone", "3 kHz sine, -10 dBFS", sine(2, 3000, -10)),
        ("tone", "8 kHz sine, -10 dBFS", sine(2, 8000, -10)),
        ("tone", "1 kHz square, -12 dBFS", square(2, 1000, -12)),
        ("tone", "150 Hz sawtooth, -12 dBFS", sawtooth(2, 150, -12)),
        ("tone", "sweep 200 Hz-4 kHz, -10 dBFS", sweep(2, 200, 4000, -10)),
        ("noise", "white, -10 dBFS", white(2, -10, seed=2)),
        ("noise", "white, -35 dBFS", white(2, -35, seed=3)),
        ("noise", "pink, -10 dBFS", pink(2, -10, seed=4)),
        ("noise", "pink, -30 dBFS", pink(2, -30, seed=5)),
        ("noise", "brown, -10 dBFS", brown(2, -10, seed=6)),
        ("noise", "brown, -25 dBFS", brown(2, -25, seed=7)),
        (
            "noise",
            "pink, swelling like a fan",
            pink(2, -20, seed=8) * (1 + 0.5 * np.sin(2 * np.pi * 1.5 * _seconds(2))),
        ),
        ("hum", "50 Hz mains, -20 dBFS", hum(2, 50, -20)),
        ("hum", "60 Hz mains, -10 dBFS", hum(2, 60, -10)),
        ("hum", "120 Hz transformer buzz, -20 dBFS", hum(2, 120, -20)),
        ("hum", "50 Hz mains over white noise", hum(2, 50, -25) + white(2, -40, seed=9)),
        ("click", "single-sample clicks, 4 per second", impulses(2, 4, -6)),
        ("click", "typing", clicks(2, [0.1, 0.35, 0.5, 0.62, 0.9, 1.15, 1.3, 1.6, 1.75], -6, seed=10)),
        ("click", "mouse double-clicks", clicks(2, [0.3, 0.42, 1.2, 1.32], -3, seed=11)),
        ("click", "one loud click", clicks(1, [0.5], 0, seed=12)),
        ("silence", "digital silence", np.zeros(RATE)),
        ("silence", "one-bit dither", np.random.default_rng(13).integers(-1, 2, 2 * RATE) / 32768),
        ("silence", "room tone, -70 dBFS", pink(2, -70, seed=14)),
    ]
    return [Clip(f"{kind}: {what}", kind, to_int16(audio)) for kind, what, audio in sounds]


@functools.cache
def labelled_clips() -> tuple[Clip, ...]:
    """The whole labelled set: 48 speech clips, then 44 non-speech clips."""
    return (*_speech_clips(), *_non_speech_clips())


# -- running the listener over a clip -------------------------------------------------------


class _Engine:
    """The part of the emulator's engine the listener talks to, recording what it is told.

    The real engine would transcribe and answer every turn; here only the VAD's decisions matter.
    """

    def __init__(self, turn_detection: dict[str, Any] | None = None) -> None:
        self.session = default_session()
        if turn_detection is not None:
            self.session["audio"]["input"]["turn_detection"] = turn_detection
        self.events: list[dict[str, Any]] = []
        self.responding = False
        self._ids = 0

    def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def new_item_id(self) -> str:
        self._ids += 1
        return f"item_{self._ids}"

    async def interrupt(self) -> None:
        pass

    def commit_audio(self, pcm: bytes, item_id: str | None = None) -> None:
        pass

    def start_response(self) -> None:
        pass

    def append_input_audio(self, pcm: bytes) -> None:
        pass


def vad_events(samples: npt.NDArray[np.int16], turn_detection: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The ``speech_started``/``speech_stopped`` events a fresh listener emits for ``samples``."""

    async def listen() -> list[dict[str, Any]]:
        engine = _Engine(turn_detection)
        listener = Listener(engine)  # type: ignore[arg-type]  # a stand-in for the engine
        for start in range(0, len(samples) - FRAME + 1, FRAME):
            listener.feed(samples[start : start + FRAME])
        listener.close()
        return engine.events

    return asyncio.run(listen())


def starts_turn(samples: npt.NDArray[np.int16]) -> bool:
    """Whether the listener, with the default ``server_vad``, hears a turn start in ``samples``."""
    return any(e["type"] == "input_audio_buffer.speech_started" for e in vad_events(samples))
