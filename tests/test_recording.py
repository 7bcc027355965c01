"""Recording headless calls: both tracks on the events' clock, saved, loaded and analysed.

Against the real emulator over real WebRTC; the recorder itself is also tested alone.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import numpy as np
import pytest

import rt_widget as rt
from rt_widget import Emulator
from rt_widget.emulator import asr
from rt_widget.peer import Clip, Playback
from rt_widget.peer.clips import RATE as CLIP_RATE
from rt_widget.providers import Local
from rt_widget.recording import RATE, Recorder, Track
from rt_widget.recording.audio_analysis import speech_spans
from tests.samples import spoken_wav

TRANSCRIBE = "gpt-4o-mini-transcribe"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[rt.Recording, Path, Playback]:
    """One recorded headless call: 'hello there' and the model's spoken reply, saved."""
    folder = tmp_path_factory.mktemp("rec")
    wav = spoken_wav(folder / "hello.wav", "hello there")
    with Emulator() as emu:

        async def body() -> tuple[rt.Recording, Playback]:
            async with rt.Call(provider=Local(emu), transcription=TRANSCRIBE, record=True) as call:
                stopped = asyncio.ensure_future(call.wait_for("output_audio_buffer.stopped", timeout=30))
                await call.play(Clip.silence(0.8))  # so the server's clock and the track's cannot agree by chance
                played = await call.play(wav)
                await stopped
                await asyncio.sleep(0.3)  # the last frames of the reply
            call.save(folder / "run1")  # hung up: nothing more comes in
            return call.recording(), played

        live, played = asyncio.run(body())
    return live, folder / "run1", played


def onset(track: Track, after: float = 0.0) -> float:
    spans = speech_spans(track)
    return float(next(start for start, _ in spans if start >= after))


def test_the_tracks_hold_what_was_said_and_heard(recorded):
    live, _, _ = recorded
    assert asr.recognize(live.mic.samples, RATE, asr.BUILTIN_PHRASES) == "hello there"
    reply = live.events.of_type("response.output_audio_transcript.done")[-1]["transcript"]
    said = " ".join(re.sub(r"[^a-z' ]+", " ", reply.lower()).split())
    assert asr.recognize(live.model.samples, RATE, [said, "hello there", "goodbye"]) == said


def test_the_tracks_are_on_the_events_clock(recorded):
    live, _, played = recorded
    # The microphone: its first and last loud samples are when the playback sent them (exact
    # send times), so the track neither lost nor stretched audio between them. (Not checked
    # against the server's VAD: an emulator on a busy machine may lose frames that were sent.)
    loud = np.flatnonzero(np.abs(played.clip.samples) > 1000) / CLIP_RATE
    sent = np.flatnonzero(np.abs(live.mic.samples) > 1000)
    assert abs(float(live.mic.time_at(sent[0])) - (played.started_at + loud[0])) < 0.03
    assert abs(float(live.mic.time_at(sent[-1])) - (played.started_at + loud[-1])) < 0.03
    # The model's voice starts as output_audio_buffer.started reaches the kernel.
    (record,) = [r for r in live.events if r["type"] == "output_audio_buffer.started"]
    assert abs(onset(live.model) - record["t_browser"]) < 0.05


def test_save_then_load_gives_the_same_events_and_audio_sample_for_sample(recorded):
    live, folder, _ = recorded
    loaded = rt.load(folder)
    files = ["events.jsonl", "mic.flac", "model.flac", "recording.json", "sent_clock.jsonl"]
    assert sorted(p.name for p in folder.iterdir()) == files
    assert [r["event"] for r in loaded.events] == [r["event"] for r in live.events]
    assert loaded.sent_clock.anchors.keys() == live.sent_clock.anchors.keys()
    for call_id, points in live.sent_clock.anchors.items():
        np.testing.assert_array_equal(loaded.sent_clock.anchors[call_id], points)
    for name in ("mic", "model"):
        assert np.array_equal(loaded.audio[name].samples, live.audio[name].samples)
        assert np.allclose(loaded.audio[name].anchors, live.audio[name].anchors)
    assert loaded.provider == "emulator"
    assert loaded.config["audio"]["input"]["transcription"]["model"] == TRANSCRIBE


def test_turns_of_a_recording_have_the_audio_figures(recorded):
    _, folder, _ = recorded
    table = rt.turns(rt.load(folder))
    (turn,) = table.to_dict("records")
    assert turn["user_text"] == "hello there"
    assert 0 < turn["silence_s"] < 3
    assert turn["speech_ended"] < turn["first_heard"]
    assert turn["heard_s"] > 0.5
    assert not rt.echo_check(rt.load(folder)).echo


def test_the_services_speech_times_are_placed_by_when_the_audio_was_sent(recorded):
    live, _, played = recorded
    # An anchor a second from the first frame, each at that frame's send time.
    ((call_id, anchors),) = live.sent_clock.anchors.items()
    assert call_id == live.events.df["call_id"].iloc[0]
    assert len(anchors) >= 5
    assert np.allclose(np.diff(anchors[:, 0]), 1.0)
    assert anchors[0, 0] == 0
    assert abs(anchors[0, 1] - float(live.mic.time_at(0))) < 0.001
    # Where the emulator's VAD heard the phrase (after the 0.8 s of silence), on the mic's clock.
    (turn,) = rt.turns(live).to_dict("records")
    assert abs(turn["vad_start"] - onset(live.mic, after=played.started_at)) < 0.05
    assert abs(turn["vad_end"] - turn["speech_ended"]) < 0.1


def test_an_autosaved_recording_can_be_loaded_while_the_call_runs(tmp_path):
    wav = spoken_wav(tmp_path / "hello.wav", "hello there")
    with Emulator() as emu:

        async def body() -> None:
            call = rt.Call(provider=Local(emu), transcription=TRANSCRIBE, record=True, autosave=tmp_path / "live")
            async with call:
                done = asyncio.ensure_future(call.wait_for("response.done", timeout=30))
                await call.play(wav)
                await done
                # As a crashed kernel would leave it: no save, the raw streams.
                logged = len(call.events)
                call.session.events.flush()  # as each batch is: a crash loses the last one at most
                partial = rt.load(tmp_path / "live")
                assert len(partial.events) >= logged
                assert asr.recognize(partial.mic.samples, RATE, asr.BUILTIN_PHRASES) == "hello there"

        asyncio.run(body())


# -- the recorder alone ---------------------------------------------------------------------------


def test_recorder_places_segments_by_time_and_chunks_by_index(tmp_path):
    rec = Recorder(tmp_path / "r")
    one = np.full(RATE // 4, 100, np.int16)
    rec.add("mic", one, t=1000.0, index=0, segment="a")
    rec.add("mic", one, t=1000.5, index=RATE // 2, segment="a")  # a lost chunk: silence in its place
    rec.add("mic", one, t=1000.6, index=RATE // 2 + RATE // 8, segment="a")  # overlaps: the new part stays
    rec.add("mic", one, t=1003.0, segment="b")  # a new call, 3 s after the first chunk
    with pytest.raises(ValueError, match="past the end of its call"):  # an index that cannot be right
        rec.add("mic", one, t=1003.3, index=90 * RATE, segment="b")
    rec.add("model", one, t=1001.0)
    track = rec.recording(rt.EventLog()).mic
    assert len(track.samples) == 3 * RATE + RATE // 4
    assert track.samples[RATE // 4 : RATE // 2].max() == 0
    assert track.samples[RATE // 2 : RATE // 2 + 3 * RATE // 8].min() == 100
    assert abs(float(track.time_at(3 * RATE)) - 1003.0) < 1e-6
    model = rec.recording(rt.EventLog()).model
    assert abs(model.start - 1000.0) < 1e-6  # both tracks start at the recording's first chunk
    assert model.samples[:RATE].max() == 0
    rec.close()
    assert (tmp_path / "r").exists()  # a named folder stays


def test_a_call_minutes_after_the_last_is_recorded_after_its_silence(tmp_path):
    rec = Recorder(tmp_path / "r")
    rec.add("mic", np.ones(RATE, np.int16), t=100.0, index=0, segment="first")
    rec.add("mic", np.full(RATE, 2, np.int16), t=190.0, index=0, segment="second")  # 90 s later
    track = rec.recording(rt.EventLog()).mic
    assert len(track.samples) == 91 * RATE
    assert track.samples[-RATE:].tolist() == [2] * RATE
    assert abs(float(track.time_at(90 * RATE)) - 190.0) < 1e-6


def test_a_torn_last_anchor_line_and_odd_byte_are_dropped(tmp_path):
    rec = Recorder(tmp_path / "r")
    rec.add("mic", np.ones(RATE, np.int16), t=50.0)
    rec.close()
    with open(tmp_path / "r" / "mic.anchors.jsonl", "a") as f:
        f.write("[48000, 5")
    with open(tmp_path / "r" / "mic.pcm", "ab") as f:
        f.write(b"\x01")
    loaded = rt.load(tmp_path / "r")
    assert len(loaded.mic.samples) == RATE
    assert loaded.mic.anchors.tolist() == [[0.0, 50.0]]


def test_a_temporary_recording_is_removed_when_closed():
    rec = Recorder()
    folder = rec.folder
    rec.add("mic", np.ones(10, np.int16), t=1.0)
    rec.close()
    assert not folder.exists()


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"record": "yes"}, ValueError, "record='yes' is not valid: use True or False"),
        ({"record": True, "autosave": "run.jsonl"}, ValueError, "autosave='run'"),
        ({"record": True, "autosave": 3}, TypeError, "autosave=3 is not valid"),
    ],
)
def test_bad_record_settings_are_clear_errors(kwargs, error, says):
    with pytest.raises(error, match=says):
        rt.Call(provider="emulator", **kwargs)


def test_load_and_save_errors_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="No recording at"):
        rt.load(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        rt.load(tmp_path / "file.txt")
    with pytest.raises(ValueError, match="is not a recording"):
        rt.load(tmp_path)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "recording.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not an rt-widget recording"):
        rt.load(tmp_path / "bad")
    with pytest.raises(ValueError, match="holds other files"):
        rt.Recording(rt.EventLog()).save(tmp_path)
    with pytest.raises(TypeError, match="or a recording"):
        rt.turns("run1")


def test_the_widget_saves_its_events_and_settings(tmp_path):
    s = rt.Realtime(provider="emulator", voice="marin")
    s._session.events.append({"type": "session.created", "event_id": "e1"}, direction="server", t_browser=1.0)
    s.save(tmp_path / "w")
    loaded = rt.load(tmp_path / "w")
    assert [r["type"] for r in loaded.events] == ["session.created"]
    assert loaded.config["audio"]["output"]["voice"] == "marin"
    assert loaded.mic.duration_s == 0


# -- chunks from the page -------------------------------------------------------------------------


def chunk(index: int, samples: int = 240, rate: int = RATE) -> dict[str, object]:
    mic = np.full(samples, 7, np.int16)
    model = np.full(samples, -7, np.int16)
    message = {"kind": "audio", "segment": "seg1", "index": index, "t": 1.7e12 + index / 24, "rate": rate}
    message |= {"samples": samples, "buffers": [memoryview(mic.tobytes() + model.tobytes())]}
    return message


def test_page_chunks_fill_both_tracks_and_bad_ones_are_dropped_with_a_warning(caplog):
    s = rt.Realtime(provider="emulator", record=True)
    s._on_message(chunk(0))
    s._on_message(chunk(240))
    bad = [
        chunk(480, rate=48_000),  # not the recording's rate
        chunk(480) | {"samples": 100},  # a payload of another length
        chunk(480) | {"segment": None},
        chunk(480) | {"index": -1},
        chunk(480) | {"t": float("nan")},
        chunk(480) | {"buffers": []},
        chunk(480 + 61 * RATE),  # far past the track's end
    ]
    for message in bad:
        s._on_message(message)
    rec = s.recording()
    assert rec.mic.samples.tolist() == [7] * 480
    assert rec.model.samples.tolist() == [-7] * 480
    assert abs(rec.mic.start - 1.7e9) < 1e-3
    dropped = [r for r in caplog.records if "recording chunk" in r.getMessage()]
    assert len(dropped) == len(bad)


def test_page_anchors_of_the_sent_audio_are_kept_per_call_and_bad_ones_dropped(caplog):
    s = rt.Realtime(provider="emulator", record=True)
    anchor = {"kind": "sent_anchor", "call_id": "rtc_1", "ms": 0, "t": 1.7e12}
    s._on_message(anchor)
    s._on_message(anchor | {"ms": 1000, "t": 1.7e12 + 1000.5})
    s._on_message(anchor | {"call_id": "rtc_2", "t": 1.7e12 + 90_000})
    s._on_message(anchor | {"call_id": None, "t": 1.7e12 + 30_000})  # a call whose id the page never learnt
    bad = [
        anchor | {"call_id": 7},
        anchor | {"ms": -20},
        anchor | {"ms": "0"},
        anchor | {"t": float("inf")},
        {"kind": "sent_anchor"},
    ]
    for message in bad:
        s._on_message(message)
    clock = s.recording().sent_clock
    assert clock.time("rtc_1", 1.5) == pytest.approx(1.7e9 + 1.5005)
    assert clock.time("rtc_2", 0.0) == pytest.approx(1.7e9 + 90)
    assert clock.time(None, 0.0) == pytest.approx(1.7e9 + 30)  # as its events: no call id
    dropped = [r for r in caplog.records if "sent-audio anchor" in r.getMessage()]
    assert len(dropped) == len(bad)
    quiet = rt.Realtime(provider="emulator")  # not recording: nothing to place
    quiet._on_message(anchor)
    assert quiet.recording().sent_clock.anchors == {}


@pytest.mark.parametrize("model_track", ["received", "played"])
def test_a_page_that_records_the_voice_as_played_marks_the_model_track(tmp_path, model_track):
    s = rt.Realtime(provider="emulator", record=True)
    s._on_message(chunk(0) | {"model_track": model_track})
    as_played = model_track == "played"
    assert (s.recording().model.as_played, s.recording().mic.as_played) == (as_played, False)  # while it streams
    saved = rt.load(s.save(tmp_path / "run"))
    assert (saved.model.as_played, saved.mic.as_played) == (as_played, False)


def test_without_record_page_chunks_are_ignored():
    s = rt.Realtime(provider="emulator")
    s._on_message(chunk(0))
    assert s.recording().mic.duration_s == 0
    assert s.record is False


def test_the_loopback_link_reads_binary_frames_as_messages_with_a_payload():
    from rt_widget.loopback import _parse_binary

    header = json.dumps({"kind": "audio", "samples": 2}).encode()
    message = _parse_binary(len(header).to_bytes(4, "big") + header + b"\x01\x00\x02\x00")
    assert message["kind"] == "audio"
    assert bytes(message["buffers"][0]) == b"\x01\x00\x02\x00"
    assert _parse_binary(b"\x00\x00") is None  # too short
    assert _parse_binary(b"\x00\x00\x00\x09{}") is None  # the header runs past the frame
    assert _parse_binary(b"\x00\x00\x00\x02[]") is None  # not an object
