"""Analysis from a recording's audio, on recordings built from real (offline TTS) speech.

Each recording places the user's utterances on the mic track and the model's replies on the
model track at known times, with the events a service would have sent around them; the audio
figures are checked against those times.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rt_widget import EventLog
from rt_widget.analysis import turns
from rt_widget.recording import RATE, Recording, Track, load
from rt_widget.recording.audio_analysis import (
    AUDIO_TURN_COLUMNS,
    audio_turns,
    echo_check,
    speech_spans,
    warn_if_echo,
)
from rt_widget.recording.sent_clock import SentClock
from tests.samples import speech

T0 = 1_760_000_000.0  # the recording's start, Unix seconds
PADDING_MS = 300  # the server VAD's prefix padding: audio_start_ms is this much before the speech
# The call's sent audio: its buffer time 0 captured 0.1 s before T0; the anchor at 5 s shows
# the sound card's clock 40 ppm slow against the wall clock.
SENT = SentClock({"rtc_test": np.array([[0.0, T0 - 0.1], [5.0, T0 + 4.9002]])})
TOLERANCE_S = 0.030
AUDIBLE = 100  # a clip's voice runs from its first to its last sample above this (-50 dBFS peak)


def clip(text: str, voice: str) -> np.ndarray:
    """``text`` spoken at the tracks' rate, trimmed to where it is audible."""
    said = speech(text, voice)
    n = int(len(said.samples) * RATE / said.rate)
    samples = np.interp(np.linspace(0, len(said.samples) - 1, n), np.arange(len(said.samples)), said.samples)
    loud = np.flatnonzero(np.abs(samples) > AUDIBLE)
    return samples[loud[0] : loud[-1] + 1].astype(np.int16)


@dataclass
class Call:
    """A call being laid out: clips at times (seconds from T0), and the events around them."""

    mic: list[tuple[float, np.ndarray]] = field(default_factory=list)
    model: list[tuple[float, np.ndarray]] = field(default_factory=list)
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    previous: str | None = None

    def user(self, n: int, at: float, text: str) -> tuple[float, float]:
        """The user says ``text`` from ``at``; the service's VAD events follow it."""
        audio = clip(text, "alloy")
        end = at + len(audio) / RATE
        self.mic.append((at, audio))
        item = f"item_u{n}"
        self.event(
            at + 0.2, "input_audio_buffer.speech_started", item_id=item, audio_start_ms=buffer_ms(at) - PADDING_MS
        )
        self.event(end + 0.55, "input_audio_buffer.speech_stopped", item_id=item, audio_end_ms=buffer_ms(end))
        self.event(end + 0.57, "input_audio_buffer.committed", item_id=item, previous_item_id=self.previous)
        content = [{"type": "input_audio", "transcript": None}]
        self.event(
            end + 0.58,
            "conversation.item.added",
            previous_item_id=self.previous,
            item={"id": item, "type": "message", "role": "user", "content": content},
        )
        self.previous = item
        return at, end

    def reply(self, n: int, at: float, text: str, cut_at: float | None = None) -> tuple[float, float]:
        """The model says ``text`` from ``at``: to the end, or cut off at ``cut_at`` (a barge-in)."""
        audio = clip(text, "coral")
        if cut_at is not None:
            audio = audio[: round((cut_at - at) * RATE)]
        end = at + len(audio) / RATE
        self.model.append((at, audio))
        response = f"resp_{n}"
        created = self.previous_end() + 0.6
        self.event(created, "response.created", response={"id": response, "status": "in_progress", "output": []})
        self.event(at - 0.02, "output_audio_buffer.started", response_id=response)
        status = "completed" if cut_at is None else "cancelled"
        if cut_at is None:
            self.event(end + 0.05, "output_audio_buffer.stopped", response_id=response)
        else:
            self.event(end - 0.06, "output_audio_buffer.cleared", response_id=response)
        self.event(
            end + (0.02 if cut_at is None else -0.07),
            "response.done",
            response={"id": response, "status": status, "output": []},
        )
        return at, end

    def previous_end(self) -> float:
        return max(t for t, e in self.events if e["type"] == "input_audio_buffer.speech_stopped") - 0.55

    def event(self, t: float, kind: str, **fields: Any) -> None:
        self.events.append((t, {"type": kind, "event_id": f"event_{len(self.events)}", **fields}))

    def recording(self, *, echo_delay_s: float | None = None) -> Recording:
        length = max(t + len(a) / RATE for t, a in self.mic + self.model) + 1.0
        rng = np.random.default_rng(7)
        # The mic's clock runs 40 ppm slow and the model track starts later, in chunks: the
        # analysis must place samples by the anchors, not by a start time.
        mic_n = round(length * RATE)
        mic = Track("mic", np.zeros(mic_n, np.int16), RATE, np.array([[0, T0], [mic_n, T0 + mic_n / RATE * 1.00004]]))
        model_n = round((length - 0.2) * RATE)
        anchors = np.array([[0, T0 + 0.2], [model_n // 2, T0 + 0.2 + model_n / 2 / RATE + 0.004]])
        model = Track("model", np.zeros(model_n, np.int16), RATE, anchors)
        voice = np.zeros(mic_n)
        for at, audio in self.mic:
            put(voice, mic, at, audio)
        model_voice = np.zeros(model_n)
        for at, audio in self.model:
            put(model_voice, model, at, audio)
        model.samples[:] = model_voice.astype(np.int16)
        noise = rng.normal(0, 10, mic_n)  # a quiet room: -70 dBFS
        if echo_delay_s is not None:  # the speakers into the mic: late, 12 dB down, and the room's noise
            for at, audio in self.model:
                put(voice, mic, at + echo_delay_s, audio * 0.25)
            noise = rng.normal(0, 100, mic_n)  # -50 dBFS
        mic.samples[:] = np.clip(voice + noise, -32768, 32767).astype(np.int16)
        log = EventLog()
        detection = {"type": "server_vad", "prefix_padding_ms": PADDING_MS, "silence_duration_ms": 500}
        session = {"type": "session.created", "session": {"audio": {"input": {"turn_detection": detection}}}}
        log.append(session, direction="server", call_id="rtc_test", t_browser=T0)
        for t, event in sorted(self.events, key=lambda pair: pair[0]):
            log.append(event, direction="server", call_id="rtc_test", t_browser=T0 + t)
        return Recording(log, {"mic": mic, "model": model}, provider="emulator", sent_clock=SENT)


def buffer_ms(at: float) -> int:
    """Where ``at`` (seconds from T0) lies in the sent audio's buffer, in whole ms as a service counts."""
    buffer_s = at + 0.1 if at + 0.1 < 5.0 else 5.0 + (at - 4.9002)
    return round(buffer_s * 1000)


def put(line: np.ndarray, track: Track, at: float, audio: np.ndarray) -> None:
    start = int(track.index_at(T0 + at))
    line[start : start + len(audio)] += audio


@dataclass
class Truth:
    call: Call
    said: list[tuple[float, float]]
    replies: list[tuple[float, float]]
    barge_in: float
    cut: float


def conversation() -> Truth:
    """Three turns: a question and answer, a request for a story, and a barge-in that cuts it off."""
    call = Call()
    said, replies = [], []
    said.append(call.user(1, 0.5, "What is the weather in Oslo today"))
    replies.append(call.reply(1, said[0][1] + 0.8, "It is sunny and warm in Oslo"))
    said.append(call.user(2, replies[0][1] + 1.0, "Tell me a story about a dragon"))
    story = said[1][1] + 0.7
    barge_in, cut = story + 1.2, story + 1.5
    replies.append(call.reply(2, story, "Once upon a time a green dragon lived on a mountain", cut_at=cut))
    said.append(call.user(3, barge_in, "Stop what about tomorrow"))
    replies.append(call.reply(3, said[2][1] + 0.9, "Tomorrow it will rain in Oslo"))
    return Truth(call, said, replies, barge_in, cut)


@pytest.fixture(scope="module")
def truth() -> Truth:
    return conversation()


@pytest.fixture(scope="module")
def clean(truth: Truth) -> Recording:
    return truth.call.recording()


@pytest.fixture(scope="module")
def echoing(truth: Truth) -> Recording:
    return truth.call.recording(echo_delay_s=0.120)


def test_speech_spans_find_each_utterance(truth: Truth, clean: Recording) -> None:
    spans = speech_spans(clean.mic) - T0
    assert len(spans) == len(truth.said)
    np.testing.assert_allclose(spans, np.array(truth.said), atol=TOLERANCE_S)
    model = speech_spans(clean.model) - T0
    np.testing.assert_allclose(model, np.array(truth.replies), atol=TOLERANCE_S)
    assert len(speech_spans(Track.empty("mic"))) == 0


def test_audio_turns_measure_each_turn(truth: Truth, clean: Recording) -> None:
    table = audio_turns(clean)
    events = turns(clean.events)
    assert list(table.columns) == AUDIO_TURN_COLUMNS
    assert list(table["item_id"]) == list(events["item_id"]) == ["item_u1", "item_u2", "item_u3"]
    said_end = np.array([end for _, end in truth.said])
    heard = np.array([start for start, _ in truth.replies])
    np.testing.assert_allclose(table["speech_ended"] - T0, said_end, atol=TOLERANCE_S)
    np.testing.assert_allclose(table["first_heard"] - T0, heard, atol=TOLERANCE_S)
    np.testing.assert_allclose(table["silence_s"], heard - said_end, atol=TOLERANCE_S)
    # The events' speech_stopped came 550 ms after the speech really ended: the audio says so.
    assert (events["speech_stopped"] - table["speech_ended"] > 0.5).all()
    # The barge-in: the user spoke over the story for 300 ms until it was cut off.
    np.testing.assert_allclose(table["overlap_s"], [0.0, 0.0, truth.cut - truth.barge_in], atol=TOLERANCE_S)
    assert events["status"].tolist() == ["completed", "cancelled", "completed"]
    lengths = [end - start for start, end in truth.replies]
    np.testing.assert_allclose(table["heard_s"], lengths, atol=TOLERANCE_S)
    assert table["heard_s"][1] == pytest.approx(1.5, abs=TOLERANCE_S)  # the story, heard until the cut


def test_the_services_vad_times_are_placed_by_the_sent_audios_clock(truth: Truth, clean: Recording) -> None:
    table = audio_turns(clean)
    # audio_start_ms + the prefix padding, and audio_end_ms, through the anchor before each.
    np.testing.assert_allclose(table["vad_start"] - T0, [start for start, _ in truth.said], atol=0.001)
    np.testing.assert_allclose(table["vad_end"] - T0, [end for _, end in truth.said], atol=0.001)
    np.testing.assert_allclose(table["vad_end"], table["speech_ended"], atol=TOLERANCE_S)  # the audio agrees
    assert truth.said[-1][0] > 5.0  # the last turn was placed by the second anchor
    # No clock for the call (a page that could not read its frames' capture times): NaN.
    unclocked = audio_turns(Recording(clean.events, clean.audio))
    assert unclocked[["vad_start", "vad_end"]].isna().all().all()
    assert unclocked["speech_ended"].notna().all()


def test_audio_turns_without_audio_are_nan(clean: Recording) -> None:
    silent = Recording(clean.events)  # the events, no tracks
    table = audio_turns(silent)
    assert list(table["item_id"]) == ["item_u1", "item_u2", "item_u3"]
    assert table[AUDIO_TURN_COLUMNS[1:]].isna().all().all()
    no_model = Recording(clean.events, {"mic": clean.mic})
    table = audio_turns(no_model)
    assert table["speech_ended"].notna().all()
    assert table[["first_heard", "silence_s", "overlap_s", "heard_s"]].isna().all().all()
    no_mic = Recording(clean.events, {"model": clean.model})
    table = audio_turns(no_mic)  # the reply is looked for after the speech_stopped event instead
    assert table[["speech_ended", "silence_s", "overlap_s"]].isna().all().all()
    np.testing.assert_allclose(table["first_heard"], audio_turns(clean)["first_heard"])
    assert audio_turns(Recording(EventLog())).empty


def test_echo_check_fires_on_the_models_voice_in_the_mic(echoing: Recording) -> None:
    report = echo_check(echoing)
    assert report.echo
    assert report.correlation > 0.5
    assert report.delay_s == pytest.approx(0.120, abs=0.005)
    assert report.quick_onsets >= 3
    assert "headphones" in report.message
    assert 'noise_reduction="near_field"' in report.message
    with pytest.warns(UserWarning, match="headphones"):
        warn_if_echo(echoing)


def test_echo_check_fires_on_an_echo_a_browsers_jitter_buffer_delayed(truth: Truth) -> None:
    # The model track is the voice as received: a listener hears it after the jitter buffer
    # (0.1-0.3 s), so its echo in the mic comes that much later still.
    report = echo_check(truth.call.recording(echo_delay_s=0.45))
    assert report.echo
    assert report.delay_s == pytest.approx(0.45, abs=0.005)
    assert report.quick_onsets >= 3


def test_echo_check_is_quiet_on_a_clean_recording(clean: Recording) -> None:
    report = echo_check(clean)
    assert not report.echo, report.message
    assert report.correlation < 0.1
    assert report.quick_onsets == 0
    assert report.analysed_s > 3  # it did look: the model spoke for several seconds
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_if_echo(clean) == report
    assert not echo_check(Recording(clean.events)).echo


def test_plot_draws_both_tracks_turns_and_events(clean: Recording, tmp_path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rt_widget.recording.plot import plot_recording

    ax = plot_recording(clean)
    labels = [line.get_label() for line in ax.get_lines()]
    # Two waveforms, then one line per event type ticked (speech started/stopped, response
    # created/done, audio started/stopped/cleared).
    assert labels[:2] == ["mic track", "model track"]
    assert len(labels) == 2 + 7
    mic_line = ax.get_lines()[0]
    # Decimated: a min and a max per pixel bin, not the track's 330,000 samples.
    assert 400 <= len(mic_line.get_xdata()) <= 2 * 2000
    assert max(mic_line.get_ydata()) > 1.1  # the speech is drawn above the mic's lane
    assert len(ax.patches) == 3 + 3  # each turn shaded, and each wait
    ax.figure.savefig(tmp_path / "recording.png")
    assert (tmp_path / "recording.png").stat().st_size > 5000
    # A window holding only the first turn's speech: only its VAD events are ticked.
    _, ax2 = plt.subplots()
    assert plot_recording(clean, ax=ax2, start=0.0, end=1.5) is ax2
    assert [line.get_label() for line in ax2.get_lines()][2:] == ["input_audio_buffer.speech_started"]
    plt.close("all")


def test_wrong_arguments_say_what_to_pass(clean: Recording) -> None:
    from rt_widget.recording.plot import plot_recording

    with pytest.raises(TypeError, match=r"an event log has no audio.*record=True"):
        audio_turns(clean.events)
    with pytest.raises(TypeError, match=r"load it with rt\.load\(path\)"):
        echo_check("run1")
    with pytest.raises(TypeError, match="takes a Track"):
        speech_spans(clean)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="start must be before end"):
        plot_recording(clean, start=5, end=2)
    with pytest.raises(TypeError, match="seconds from the recording's start"):
        plot_recording(clean, start="0")


def test_a_saved_recording_analyses_the_same(clean: Recording, tmp_path) -> None:
    loaded = load(clean.save(tmp_path / "run1"))
    pd.testing.assert_frame_equal(audio_turns(loaded), audio_turns(clean))
    assert echo_check(loaded) == echo_check(clean)


def test_an_hour_analyses_in_seconds(clean: Recording) -> None:
    """60 minutes of both tracks (the call repeated), at most a few seconds for everything."""
    repeats = math.ceil(3600 / clean.mic.duration_s)
    mic = np.tile(clean.mic.samples, repeats)
    model = np.tile(np.concatenate([np.zeros(round(0.2 * RATE), np.int16), clean.model.samples]), repeats)[: len(mic)]
    hour = Recording(
        clean.events,
        {
            "mic": Track("mic", mic, RATE, np.array([[0, T0]])),
            "model": Track("model", model, RATE, np.array([[0, T0]])),
        },
    )
    began = time.perf_counter()
    spans = speech_spans(hour.mic)
    audio_turns(hour)
    report = echo_check(hour)
    took = time.perf_counter() - began
    assert len(spans) == 3 * repeats
    assert not report.echo
    assert took < 10, f"an hour took {took:.1f} s"
