"""The kernel as the WebRTC peer: real emulator, real HTTP, real WebRTC, real speech."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from rt_widget import Emulator
from rt_widget.emulator import tts
from rt_widget.peer import Capture, Clip, KernelPeer, Microphone, PeerClosedError, Playback, media_loop
from rt_widget.peer.clips import RATE
from tests.samples import speech

TRANSCRIBED = {"type": "realtime", "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}}}
MANUAL_TURNS = {"type": "realtime", "output_modalities": ["text"], "audio": {"input": {"turn_detection": None}}}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


_peers: list[KernelPeer] = []


@pytest.fixture(autouse=True)
def _close_peers() -> Iterator[None]:
    """Hang up whatever a failed test left open, so later tests start clean."""
    yield
    while _peers:
        media_loop(loopback=True).run(_peers.pop().close(), timeout=10)


class Events:
    """Server events with their receive times, as a peer reports them."""

    def __init__(self) -> None:
        self.items: list[tuple[dict[str, Any], float]] = []
        self.states: list[str] = []
        self.call_id = ""

    def on_message(self, message: str | bytes, t: float) -> None:
        self.items.append((json.loads(message), t))

    def types(self) -> list[str]:
        return [e["type"] for e, _ in self.items]

    async def wait_for(self, type_: str, within_s: float = 15) -> tuple[dict[str, Any], float]:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            for event, t in list(self.items):
                if event["type"] == type_:
                    return event, t
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {type_!r} within {within_s} s; saw {self.types()}")


def post_offer(emu: Emulator, sdp: str, session: dict[str, Any]) -> httpx.Response:
    files = {"sdp": (None, sdp, "application/sdp"), "session": (None, json.dumps(session), "application/json")}
    auth = {"Authorization": f"Bearer {emu.api_key}"}
    answer = httpx.post(f"{emu.base_url}/realtime/calls", files=files, headers=auth, timeout=30)
    assert answer.status_code == 201, answer.text
    return answer


async def connect(emu: Emulator, session: dict[str, Any]) -> tuple[KernelPeer, Events]:
    events = Events()
    peer = KernelPeer(on_message=events.on_message, on_state=events.states.append, loopback=True)
    _peers.append(peer)
    answer = await asyncio.to_thread(post_offer, emu, await peer.offer(), session)
    events.call_id = answer.headers["location"].rsplit("/", 1)[-1]
    await peer.accept(answer.text)
    return peer, events


def pending_peer_tasks() -> list[str]:
    async def others() -> list[str]:
        return [repr(t) for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    return media_loop(loopback=True).run(others(), timeout=5)


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(samples, channels).astype("<i2").tobytes())
    return path


def test_peer_connects_gets_session_created_and_closes_cleanly(emu, caplog):
    async def body() -> Events:
        before = time.time()
        peer, events = await connect(emu, {"type": "realtime"})
        created, t = await events.wait_for("session.created")
        assert peer.state == "open"
        assert created["session"]["type"] == "realtime"
        assert before <= t <= time.time()  # the receive time is on the wall clock
        await peer.close()
        await peer.close()  # idempotent
        assert peer.state == "closed"
        with pytest.raises(PeerClosedError, match="ended"):
            peer.play(Clip.silence(0.1))
        with pytest.raises(RuntimeError, match="not open"):
            peer.send({"type": "response.create"})
        return events

    events = asyncio.run(body())
    assert events.states == ["offered", "connecting", "open", "closed"]
    gc.collect()  # an unretrieved task exception is logged when the task is collected
    assert pending_peer_tasks() == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.records


def test_a_spoken_wav_is_transcribed_and_answered_with_captured_speech(emu, tmp_path):
    spoken = speech("hello there")
    wav = write_wav(tmp_path / "hello.wav", spoken.samples, spoken.rate, channels=2)

    async def body() -> None:
        peer, events = await connect(emu, TRANSCRIBED)
        await events.wait_for("session.created")
        question = peer.play(Clip.from_file(wav))
        peer.play(Clip.silence(1.0))  # the pause that ends the turn
        await question
        heard, _ = await events.wait_for("conversation.item.input_audio_transcription.completed")
        assert heard["transcript"] == "hello there"
        done, _ = await events.wait_for("response.done")
        _, started = await events.wait_for("output_audio_buffer.started")
        _, stopped = await events.wait_for("output_audio_buffer.stopped")
        await asyncio.sleep(0.2)  # the last frames are still on their way
        transcript = done["response"]["output"][0]["content"][0]["transcript"]

        assert question.ended_at is not None
        first_sound = peer.capture.first_sound_after(question.ended_at)
        assert first_sound is not None
        assert question.ended_at < first_sound < question.ended_at + 5  # latency as heard

        audio = peer.capture.audio(since=started - 0.5)
        loud = np.flatnonzero(np.abs(audio.samples.astype(np.int32)) > 1000)
        assert len(loud), "the reply is silent"
        assert int(np.abs(audio.samples).max()) > 3000
        voiced_s = (loud[-1] - loud[0]) / audio.rate
        assert voiced_s == pytest.approx(stopped - started, abs=0.35)
        assert voiced_s == pytest.approx(tts.speak(transcript).duration_s, rel=0.3)
        assert audio.start is not None
        holding = np.searchsorted(audio.frame_offsets, loud[0], "right") - 1  # the frame with the first loud sample
        assert first_sound <= audio.frame_times[holding] < first_sound + 0.3
        await peer.close()

    asyncio.run(body())


def test_array_text_and_silence_play_in_sequence_in_real_time(emu):
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(8000) / 16000)).astype(np.float32)  # 0.5 s
    clips = [Clip.from_array(tone, 16000), Clip.from_text("hello"), Clip.silence(0.3)]
    total = sum(c.duration_s for c in clips)
    assert clips[0].duration_s == pytest.approx(0.5, abs=0.01)

    async def body() -> None:
        peer, events = await connect(emu, MANUAL_TURNS)
        await events.wait_for("session.created")
        start = time.time()
        playbacks = [peer.play(c) for c in clips]
        assert peer.microphone.queued_s == pytest.approx(total, abs=0.001)
        for playback in playbacks:
            assert (await playback) is playback
        elapsed = time.time() - start
        assert total - 0.05 <= elapsed <= total + 0.5  # loose: the machine may be busy
        for before, after in itertools.pairwise(playbacks):
            assert before.ended_at is not None
            assert after.started_at is not None
            assert after.ended_at is not None
            # Back to back: the next clip starts in the next frame at the latest (20 ms, plus
            # however late the busiest frame was).
            assert before.ended_at <= after.started_at <= before.ended_at + 0.021 + peer.microphone.max_late_s
            assert after.ended_at - before.ended_at == pytest.approx(after.clip.duration_s, abs=0.25)
        assert peer.microphone.max_late_s < 0.25
        peer.send({"type": "input_audio_buffer.commit"})  # the emulator heard the audio
        committed, _ = await events.wait_for("input_audio_buffer.committed")
        assert committed["item_id"]

        # Closing mid-clip fails what is still queued, and leaves nothing running.
        unfinished = peer.play(Clip.silence(5))
        await peer.close()
        with pytest.raises(PeerClosedError, match="before silence"):
            await unfinished

    asyncio.run(body())
    assert pending_peer_tasks() == []


def test_the_service_hanging_up_closes_the_peer_and_fails_what_is_queued(emu):
    async def body() -> None:
        peer, events = await connect(emu, {"type": "realtime"})
        await events.wait_for("session.created")
        playing = peer.play(Clip.silence(10))
        emu.call(events.call_id).faults.session_expired_after_s = 0.1
        error, _ = await events.wait_for("error")
        assert error["error"]["code"] == "session_expired"
        with pytest.raises(PeerClosedError, match="before silence"):
            await asyncio.wait_for(asyncio.ensure_future(_await(playing)), 5)
        assert peer.state == "closed"
        assert events.states[-1] == "closed"
        await peer.close()

    asyncio.run(body())
    assert pending_peer_tasks() == []


async def _await(playback: Any) -> Any:
    return await playback


def test_a_bad_answer_is_a_clear_error_and_closes_the_peer():
    async def body() -> None:
        peer = KernelPeer(loopback=True)
        with pytest.raises(RuntimeError, match="No offer yet"):
            await peer.accept("v=0\r\n")
        await peer.offer()
        with pytest.raises(ValueError, match="Invalid SDP answer") as info:
            await peer.accept("not sdp")
        assert info.value.__cause__ is None
        assert peer.state == "closed"

    asyncio.run(body())
    assert pending_peer_tasks() == []


# --- inputs: each checked before any call starts ----------------------------------------------


def test_files_of_any_rate_and_channel_count_decode_to_48k_mono(tmp_path):
    spoken = speech("hello there")
    clip = Clip.from_file(write_wav(tmp_path / "stereo.wav", spoken.samples, spoken.rate, channels=2))
    assert clip.duration_s == pytest.approx(spoken.duration_s, abs=0.01)
    flac = tmp_path / "hello.flac"
    with av.open(str(flac), "w") as out:
        stream = out.add_stream("flac", rate=spoken.rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(spoken.samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = spoken.rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    from_flac = Clip.from_file(flac)
    assert from_flac.duration_s == pytest.approx(spoken.duration_s, abs=0.01)
    assert not from_flac.samples.flags.writeable
    assert int(np.abs(from_flac.samples).max()) > 3000


def _error(call: Any) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("no error")


@pytest.mark.parametrize(
    ("make", "kind", "words"),
    [
        (lambda d: Clip.from_file(d / "missing.wav"), FileNotFoundError, "No audio file at"),
        (lambda d: Clip.from_file(d), ValueError, "is not a file"),
        (lambda d: Clip.from_file(_touch(d / "empty.wav", b"")), ValueError, "Could not read"),
        (lambda d: Clip.from_file(_touch(d / "notes.wav", b"not audio at all " * 50)), ValueError, "Could not read"),
        (lambda d: Clip.from_file(write_wav(d / "none.wav", np.zeros(0, np.int16), 16000)), ValueError, "no audio"),
        (lambda d: Clip.from_file(42), TypeError, "by its path"),
    ],
    ids=["missing", "directory", "empty file", "not audio", "no samples", "not a path"],
)
def test_bad_files_are_clear_errors(tmp_path, make, kind, words):
    exc = _error(lambda: make(tmp_path))
    assert type(exc) is kind
    assert words in str(exc)
    assert exc.__cause__ is None
    assert exc.__context__ is None or exc.__suppress_context__


def _touch(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


ONE_S = np.zeros(16000, np.int16)


@pytest.mark.parametrize(
    ("samples", "rate", "kind", "words"),
    [
        (ONE_S, 0, ValueError, "0 Hz is not valid"),
        (ONE_S, -16000, ValueError, "-16000 Hz is not valid"),
        (ONE_S, 16000.5, TypeError, "whole number"),
        (ONE_S, True, TypeError, "whole number"),
        (ONE_S, "16000", TypeError, "whole number"),
        (ONE_S, 10**9, ValueError, "not valid"),
        (ONE_S.astype(np.int32), 16000, TypeError, "dtype int32"),
        (ONE_S.astype(object), 16000, TypeError, "dtype object"),
        (ONE_S.tolist(), 16000, TypeError, "numpy array, not list"),
        (np.zeros((2, 2, 2), np.int16), 16000, ValueError, "1-D (mono) or 2-D"),
        (np.zeros((2, 16000), np.int16), 16000, ValueError, "samples.T"),
        (np.zeros(0, np.float32), 16000, ValueError, "empty"),
        (np.array([0.0, np.nan]), 16000, ValueError, "NaN"),
        (np.array([0.0, np.inf], np.float32), 16000, ValueError, "NaN or infinite"),
        (np.array([0.5, -1.5]), 16000, ValueError, "reach 1.5"),
        (np.zeros(16, np.int8), 16000, TypeError, "dtype int8"),
        (np.zeros(8000 * 3601, np.int16), 8000, ValueError, "at most 3600 s"),
    ],
)
def test_bad_arrays_are_clear_errors(samples, rate, kind, words):
    exc = _error(lambda: Clip.from_array(samples, rate))
    assert type(exc) is kind
    assert words in str(exc)


def test_good_arrays_of_every_kind_play():
    stereo = np.stack([ONE_S, ONE_S], axis=1)
    assert Clip.from_array(stereo, np.int64(16000)).duration_s == pytest.approx(1, abs=0.005)
    assert Clip.from_array(np.full(24000, 0.5), 24000).samples.max() == pytest.approx(16384, abs=200)
    same = Clip.from_array(np.arange(960, dtype=np.int16), RATE)
    assert np.array_equal(same.samples, np.arange(960))  # 48 kHz int16 is taken as it is


@pytest.mark.parametrize(
    ("make", "kind", "words"),
    [
        (lambda: Clip.from_text(42), TypeError, "must be a str, not int"),
        (lambda: Clip.from_text("  "), ValueError, "blank"),
        (lambda: Clip.from_text("hi", voice="robot"), ValueError, "Unknown voice 'robot'"),
        (lambda: Clip.from_text("hi", speed=float("nan")), ValueError, "speed=nan"),
        (lambda: Clip.silence(0), ValueError, "Silence of 0 s"),
        (lambda: Clip.silence(-1), ValueError, "not valid"),
        (lambda: Clip.silence(float("nan")), ValueError, "not valid"),
        (lambda: Clip.silence(3601), ValueError, "up to 3600"),
        (lambda: KernelPeer(loopback=True).play("hello.wav"), TypeError, "takes a Clip"),
        (lambda: KernelPeer(ice_servers=[{"url": "stun:x"}]), ValueError, "needs 'urls'"),
    ],
)
def test_bad_text_silence_and_clips_are_clear_errors(make, kind, words):
    exc = _error(make)
    assert type(exc) is kind
    assert words in str(exc)


# --- capture, with synthetic frames (the decoder's output shape) ------------------------------


def _frame(value: int, samples: int = 960) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.full((1, samples * 2), value, np.int16), format="s16", layout="stereo")
    frame.sample_rate = RATE
    return frame


def test_capture_keeps_time_stamped_frames_within_its_limit():
    capture = Capture(limit_s=2)
    t0 = 1_000_000.0
    for i in range(250):  # 5 s: silence, 20 frames of sound from 3.6 s, then silence
        capture.add(_frame(5000 if 180 <= i < 200 else 0), t0 + 0.02 * (i + 1))
    assert capture.frames == 250
    assert capture.duration_s == pytest.approx(2, abs=0.05)  # the most recent 2 s only
    assert capture.dropped_s == pytest.approx(3, abs=0.05)
    assert capture.first_sound_after(t0) == pytest.approx(t0 + 0.02 * 181, abs=1e-6)
    assert capture.first_sound_after(t0 + 4.5) is None
    audio = capture.audio()
    assert audio.rate == 24000
    assert audio.duration_s == pytest.approx(2, abs=0.05)
    assert audio.start is not None
    assert audio.start == pytest.approx(t0 + 3, abs=0.03)
    assert len(audio.frame_times) == len(audio.frame_offsets)
    window = capture.audio(since=t0 + 4, until=t0 + 4.5)
    assert window.duration_s == pytest.approx(0.5, abs=0.03)
    assert capture.audio(since=t0 + 10).start is None


def test_a_playback_reports_its_longest_gap_between_frames() -> None:
    async def body() -> tuple[Microphone, Playback, Playback]:
        mic = Microphone()
        await mic.recv()  # an idle frame, long before the clips are queued: no gap of theirs
        time.sleep(0.15)  # noqa: ASYNC251 - the wait must not let the loop run the clock
        steady, stalled = mic.play(Clip.silence(0.2)), mic.play(Clip.silence(0.2))  # 10 frames each
        for i in range(20):
            await mic.recv()
            if i == 14:
                time.sleep(0.1)  # noqa: ASYNC251 - the loop stalls (a blocking callback) mid second clip
        mic.stop()
        return mic, steady, stalled

    mic, steady, stalled = asyncio.run(body())
    assert steady.ended_at is not None
    assert stalled.ended_at is not None
    assert 0.015 <= steady.max_gap_s < 0.07  # 20 ms frames, loosely: the machine may be busy
    assert stalled.max_gap_s >= 0.1
    assert mic.restarts == 0  # 100 ms late is caught up, not a restart
