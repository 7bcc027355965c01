"""The listener's VAD on labelled clips: speech starts turns; beeps, tones and noise do not."""

from __future__ import annotations

import asyncio
import statistics

import numpy as np
import pytest

from rt_widget.emulator.listener import Listener
from rt_widget.emulator.vad import SpeechDetector, _Resampler24To16
from tests.harness import Harness, run
from tests.test_listener import say, silence, speech_24k
from tests.vad_clips import RATE, chromium_beeps, high_pass, labelled_clips, pink, to_int16, vad_events

CLIPS = labelled_clips()
LEADS = {
    "alone": np.zeros(0, np.int16),  # the clip starts the stream
    "after silence": np.zeros(RATE, np.int16),  # the listener has heard 1 s of silence first
}


def started(events: list[dict]) -> bool:
    return any(e["type"] == "input_audio_buffer.speech_started" for e in events)


@pytest.fixture(scope="module")
def heard() -> dict[str, list[list[dict]]]:
    """The VAD events of every clip, in each condition."""
    return {name: [vad_events(np.concatenate([lead, c.samples])) for c in CLIPS] for name, lead in LEADS.items()}


def test_the_labelled_set_is_big_and_varied():
    speech = [c for c in CLIPS if c.is_speech]
    other = [c for c in CLIPS if not c.is_speech]
    assert len(speech) >= 40
    assert len(other) >= 40
    assert {"chromium_beep", "beep", "tone", "noise", "hum", "click", "silence"} <= {c.kind for c in other}
    assert len({c.name.split(" ")[0] for c in speech}) == 10  # all ten voices
    assert all(RATE <= len(c.samples) <= 3 * RATE for c in CLIPS)


@pytest.mark.parametrize("condition", list(LEADS))
def test_every_speech_clip_starts_a_turn(heard, condition):
    missed = [c.name for c, events in zip(CLIPS, heard[condition], strict=True) if c.is_speech and not started(events)]
    assert missed == []


@pytest.mark.parametrize("condition", list(LEADS))
def test_no_beep_tone_or_noise_clip_starts_a_turn(heard, condition):
    false_starts = [
        c.name for c, events in zip(CLIPS, heard[condition], strict=True) if not c.is_speech and started(events)
    ]
    assert false_starts == []


def test_over_room_noise_only_loud_mains_hum_is_mistaken_for_speech():
    # A known limit, measured: over a -50 dBFS noise floor (above the detector's -60 dBFS
    # silence gate, so Silero's state stays primed), a loud mains hum starting abruptly
    # (50 Hz at -20 dBFS, 60 Hz at -10 dBFS) starts a turn; 42 of 44 non-speech clips do not.
    lead = to_int16(pink(1.0, -50, seed=100))
    false_starts = [c.name for c in CLIPS if not c.is_speech and started(vad_events(np.concatenate([lead, c.samples])))]
    assert len(false_starts) <= 2, false_starts
    assert all(name.startswith("hum:") for name in false_starts)


def test_turn_boundaries_are_within_a_window_or_two(heard):
    onset_err, end_err = [], []
    for clip, events in zip(CLIPS, heard["alone"], strict=True):
        if clip.speech_s is None or "noise" in clip.name:
            continue
        first_start = next(e for e in events if e["type"] == "input_audio_buffer.speech_started")
        onset_err.append(first_start["audio_start_ms"] + 300 - clip.speech_s[0] * 1000)  # default prefix padding
        stop = next((e for e in events if e["type"] == "input_audio_buffer.speech_stopped"), None)
        if stop is not None:
            end_err.append(stop["audio_end_ms"] - clip.speech_s[1] * 1000)
    assert len(onset_err) >= 20
    assert len(end_err) >= 20
    assert abs(statistics.median(onset_err)) <= 64  # two 32 ms windows
    assert abs(statistics.median(end_err)) <= 64
    assert all(-64 <= e <= 100 for e in end_err), end_err


def test_chromiums_fake_microphone_for_ten_seconds_starts_no_turn():
    async def body():
        h = Harness()
        listener = Listener(h.engine)
        raw = to_int16(chromium_beeps(10.0))
        await say(listener, raw)
        await say(listener, to_int16(high_pass(chromium_beeps(10.0, 0.2)) * 0.25))
        assert not [t for t in h.types() if t.startswith("input_audio_buffer.")]

    run(body)


def test_speech_after_beeps_still_starts_a_turn():
    async def body():
        h = Harness()
        listener = Listener(h.engine)
        words = speech_24k("what is the weather")
        beeps = to_int16(chromium_beeps(3.0 + len(words) / RATE + 1.0))
        audio = beeps.astype(np.int32)
        audio[3 * RATE : 3 * RATE + len(words)] += words  # the beeps go on under the speech
        audio = np.clip(audio, -32768, 32767).astype(np.int16)
        await say(listener, np.concatenate([audio, silence(0.5)]))
        for _ in range(100):  # commit_audio is synchronous; allow the interrupt task to run
            if "input_audio_buffer.committed" in h.types():
                break
            await asyncio.sleep(0.01)
        started_ = [e for e in h.events if e["type"] == "input_audio_buffer.speech_started"]
        assert len(started_) == 1
        onset_ms = 3000 + np.flatnonzero(np.abs(words) > 0.02 * np.abs(words).max())[0] / RATE * 1000
        assert -96 <= started_[0]["audio_start_ms"] + 300 - onset_ms <= 96  # three 32 ms windows
        assert "input_audio_buffer.committed" in h.types()

    run(body)


def test_silence_and_a_steady_tone_score_low_and_speech_high():
    def peak(samples: np.ndarray) -> float:
        detector = SpeechDetector()
        return max(detector.feed(samples[i : i + 480]) for i in range(0, len(samples) - 479, 480))

    t = np.arange(RATE) / RATE
    assert peak(silence(1.0)) == 0.0
    assert peak((np.sin(2 * np.pi * 1000 * t) * 16000).astype(np.int16)) < 0.3
    assert peak(speech_24k("hello there")) > 0.9


def test_the_resampler_keeps_pitch_and_duration_and_filters_aliases():
    t = np.arange(RATE) / RATE

    def resampled(hz: float) -> np.ndarray:
        resampler = _Resampler24To16()
        x = (np.sin(2 * np.pi * hz * t) * 16000).astype(np.int16)
        return np.concatenate([resampler.resample(x[i : i + 333]) for i in range(0, len(x), 333)])

    tone = resampled(440)
    assert abs(len(tone) - 16_000) <= 1
    spectrum = np.abs(np.fft.rfft(tone[1000:] * np.hanning(len(tone) - 1000)))
    assert abs(np.fft.rfftfreq(len(tone) - 1000, 1 / 16_000)[spectrum.argmax()] - 440) < 2
    assert abs(np.sqrt(np.mean(tone[1000:] ** 2)) - 16000 / 32768 / np.sqrt(2)) < 0.01
    assert np.sqrt(np.mean(resampled(10_000)[1000:] ** 2)) < 0.001  # above 8 kHz: gone, not aliased
