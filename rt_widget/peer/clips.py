"""What a kernel peer can say into its microphone: audio files, arrays, offline speech, silence.

Every loader checks its input and converts it at once to :data:`RATE` mono 16-bit PCM, the
format the microphone sends, so a bad input fails with a clear error before any call starts
and playing costs no decoding. Decoding and resampling use PyAV (FFmpeg's ``swresample``).
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from .._checks import clip as shorten
from .._checks import finite

RATE = 48_000
"""Samples per second of every clip: Opus's clock rate, so aiortc sends clips as they are."""
MAX_CLIP_S = 3600.0
"""The longest clip: the service ends a session after 60 minutes, so no longer clip can play."""
MIN_INPUT_RATE = 1_000
MAX_INPUT_RATE = 384_000
MAX_CHANNELS = 8


@dataclass(frozen=True)
class Clip:
    """Audio ready to play: mono 16-bit PCM at :data:`RATE` (48 kHz).

    Make one with :meth:`from_file`, :meth:`from_array`, :meth:`from_text` or :meth:`silence`.

    Attributes
    ----------
    samples:
        The samples (read-only).
    label:
        What the clip came from, for logs and reports (``"file 'q.wav'"``, ``"text 'hello'"``).
    """

    samples: npt.NDArray[np.int16]
    label: str

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.samples) / RATE

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Clip:
        """Decode an audio file (WAV, FLAC, OGG/Opus/Vorbis, MP3...: what FFmpeg reads).

        Any sample rate and channel count: channels are mixed down and the audio resampled.

        Raises
        ------
        FileNotFoundError
            Nothing exists at ``path``.
        ValueError
            The file cannot be read, is not audio, holds no samples or is longer than
            :data:`MAX_CLIP_S`.
        TypeError
            ``path`` is not a path.
        """
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"An audio file is given by its path (a str or a Path), not {type(path).__name__}.")
        file = Path(path)
        name = shorten(str(file), 200)
        if not file.exists():
            raise FileNotFoundError(f"No audio file at '{name}': check the path.")
        if not file.is_file():
            raise ValueError(f"'{name}' is not a file: give the path of a WAV, FLAC or OGG file.")
        try:
            samples = _decode(file)
        except (av.FFmpegError, OSError, UnicodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            msg = f"Could not read '{name}' as audio ({shorten(reason, 200)}): give a WAV, FLAC or OGG file."
            raise ValueError(msg) from None
        if samples is None:
            raise ValueError(f"'{name}' has no audio stream: give a WAV, FLAC or OGG file.")
        if len(samples) == 0:
            raise ValueError(f"'{name}' holds no audio samples: it is empty.")
        _check_length(len(samples) / RATE, f"'{name}'")
        return cls(_frozen(samples), f"file '{file.name}'")

    @classmethod
    def from_array(cls, samples: Any, rate: Any) -> Clip:
        """Audio from a numpy array and its sample rate.

        Parameters
        ----------
        samples:
            ``int16`` samples, or ``float32``/``float64`` samples from -1 to 1; one dimension for
            mono, or two as ``(frames, channels)`` (what ``soundfile.read`` returns), mixed down.
        rate:
            Samples per second, a whole number from 1000 to 384000.

        Raises
        ------
        TypeError
            ``samples`` is not a numpy array of a supported dtype, or ``rate`` not a whole number.
        ValueError
            ``rate`` is out of range, or the array is empty, badly shaped, holds NaN or
            infinities, goes beyond -1..1 (floats) or is longer than :data:`MAX_CLIP_S`.
        """
        rate = _check_rate(rate)
        mono = _to_mono(samples)
        _check_length(len(mono) / rate, "The array")
        scale = 32767 if samples.dtype.kind == "f" else 1
        pcm = np.round(mono * scale).astype(np.int16)
        return cls(_frozen(_resample(pcm, rate)), f"array ({len(mono) / rate:.2f} s at {rate} Hz)")

    @classmethod
    def from_text(cls, text: Any, voice: str = "alloy", speed: float = 1.0) -> Clip:
        """``text`` spoken by the emulator's offline text-to-speech (espeak-ng).

        Parameters
        ----------
        text:
            What to say.
        voice:
            One of the Realtime voices (``"alloy"``, ``"echo"``, ...), each a different espeak-ng variant.
        speed:
            Speaking rate, from 0.25 to 4 (1 is normal).

        Raises
        ------
        TypeError
            ``text`` is not a str.
        ValueError
            ``text`` is blank, ``voice`` unknown or ``speed`` out of range.
        """
        from ..emulator import tts  # the speech engine loads only when a clip needs it

        if not isinstance(text, str):
            raise TypeError(f"Text to speak must be a str, not {type(text).__name__}.")
        if not text.strip():
            raise ValueError("Text to speak is blank: give the words to say.")
        if voice not in tts.VOICES:
            raise ValueError(f"Unknown voice {voice!r}: use one of {', '.join(sorted(tts.VOICES))}.")
        number = finite(speed)
        if number is None or not 0.25 <= number <= 4:
            raise ValueError(f"speed={speed!r} is not valid: use a number from 0.25 to 4 (1 is normal).")
        speech = tts.speak(text, voice, number)
        if len(speech.samples) == 0:
            raise ValueError(f"The text-to-speech produced no audio for {shorten(text, 60)!r}: use words.")
        _check_length(speech.duration_s, "The spoken text")
        return cls(_frozen(_resample(speech.samples, speech.rate)), f"text {shorten(text, 60)!r}")

    @classmethod
    def silence(cls, seconds: Any) -> Clip:
        """``seconds`` of digital silence (a pause between utterances, or a wait for a reply).

        Raises
        ------
        ValueError
            ``seconds`` is not a positive number up to :data:`MAX_CLIP_S`.
        """
        number = finite(seconds)
        if number is None or not 0 < number <= MAX_CLIP_S:
            raise ValueError(f"Silence of {seconds!r} s is not valid: use a number of seconds above 0, up to 3600.")
        return cls(_frozen(np.zeros(round(number * RATE), np.int16)), f"silence ({number:g} s)")


def _frozen(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    samples.setflags(write=False)  # clips are shared between plays: nobody may change one
    return samples


def _check_length(seconds: float, what: str) -> None:
    if seconds > MAX_CLIP_S:
        raise ValueError(f"{what} lasts {seconds:.0f} s; a clip may last at most {MAX_CLIP_S:.0f} s (a session's cap).")


def _check_rate(rate: Any) -> int:
    if isinstance(rate, bool) or not isinstance(rate, numbers.Integral):
        msg = f"The sample rate must be a whole number of samples per second (like 16000), not {rate!r}."
        raise TypeError(msg)
    value = int(rate)
    if not MIN_INPUT_RATE <= value <= MAX_INPUT_RATE:
        msg = f"A sample rate of {value} Hz is not valid: use {MIN_INPUT_RATE} to {MAX_INPUT_RATE} (like 16000)."
        raise ValueError(msg)
    return value


def _to_mono(samples: Any) -> npt.NDArray[np.float64]:
    """Check an array's dtype, shape and values; return it mono, as float64 on its own scale."""
    if not isinstance(samples, np.ndarray):
        raise TypeError(f"Audio samples must be a numpy array, not {type(samples).__name__}.")
    if samples.dtype != np.int16 and samples.dtype not in (np.float32, np.float64):
        msg = f"Audio samples of dtype {samples.dtype} are not supported: use int16, or float32/float64 from -1 to 1."
        raise TypeError(msg)
    if samples.ndim == 2:
        frames, channels = samples.shape
        if channels > MAX_CHANNELS:
            hint = " (it looks like (channels, frames): pass samples.T)" if frames <= MAX_CHANNELS else ""
            msg = f"A 2-D array must be (frames, channels) with at most {MAX_CHANNELS} channels, got {samples.shape}"
            raise ValueError(msg + hint + ".")
    elif samples.ndim != 1:
        raise ValueError(f"Audio samples must be 1-D (mono) or 2-D (frames, channels), got shape {samples.shape}.")
    if samples.size == 0:
        raise ValueError("The audio array is empty: it holds no samples.")
    if samples.dtype.kind == "f":
        if not np.isfinite(samples).all():
            raise ValueError("The audio array holds NaN or infinite values: clean them up first.")
        peak = float(np.abs(samples).max())
        if peak > 1.0:
            msg = f"Float samples must lie from -1 to 1, but they reach {peak:.3g}: scale them (samples / peak)."
            raise ValueError(msg)
    values = samples.astype(np.float64)
    return values.mean(axis=1) if values.ndim == 2 else values


def _resample(pcm: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.int16]:
    """Mono 16-bit PCM at ``rate`` to :data:`RATE` (FFmpeg's anti-aliased resampler)."""
    if rate == RATE:
        return pcm.copy()
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm).reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    return _concat([*resampler.resample(frame), *resampler.resample(None)])


def _decode(path: Path) -> npt.NDArray[np.int16] | None:
    """The first audio stream of ``path`` as :data:`RATE` mono PCM; ``None`` without one."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        frames: list[av.AudioFrame] = []
        count = 0
        for frame in container.decode(stream):
            frames += resampler.resample(frame)
            count += frame.samples * RATE // max(frame.sample_rate, 1)
            if count > (MAX_CLIP_S + 1) * RATE:
                break  # too long to play: no need to decode the rest (the caller says so)
        frames += resampler.resample(None)
    return _concat(frames)


def _concat(frames: list[av.AudioFrame]) -> npt.NDArray[np.int16]:
    parts = [f.to_ndarray().reshape(-1) for f in frames]
    return np.concatenate(parts).astype(np.int16) if parts else np.zeros(0, np.int16)
