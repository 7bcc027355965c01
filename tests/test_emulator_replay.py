"""``Emulator(replay=...)``: calls answered by a saved recording, over real HTTP and WebRTC.

The recording is built here: real speech on the model track (two replies with a gap between
them, placed by the track's anchors), and the server events of two spoken responses on the
same clock, with client events between them that must not be replayed.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from rt_widget import Emulator
from rt_widget.emulator import Faults
from rt_widget.emulator.replay import load_replay
from rt_widget.emulator.speaker import resample
from rt_widget.events import EventLog
from rt_widget.recording import RATE, Recording, Track
from tests.rtc_client import RtcClient
from tests.samples import speech

T0 = 1_760_000_000.0  # the recorded browser clock at the first server event
FIRST_AUDIO_S = 0.6  # the first reply's voice, after session.created
GAP_S = 0.7  # silence between the replies (the track has no samples there)
REPLIES = ("The weather today is sunny and warm.", "Goodbye for now.")
RECORDED_SESSION = "sess_RecordedSession00001"
EVENT_TOLERANCE_S = 0.030
AUDIO_TOLERANCE_S = 0.040
LOUD = 2000  # well above Opus's noise, well below the speech's peaks
PREFETCH_S = 4 * 0.020
"""aiortc's receiver holds 4 audio packets before it delivers the first (JitterBuffer(prefetch=4)):
every frame reaches the test client's track 80 ms after its packet arrived."""
OUT = 48_000  # the call's audio rate


def at_24k(samples: np.ndarray, rate: int) -> np.ndarray:
    n = round(len(samples) * RATE / rate)
    return np.interp(np.linspace(0, len(samples) - 1, n), np.arange(len(samples)), samples).astype(np.int16)


def reply_events(n: int, start: float, duration: float, text: str) -> list[tuple[float, str, dict[str, Any]]]:
    """The server events of one spoken response whose voice plays from ``start`` for ``duration``."""
    resp, item = f"resp_Recorded{n}", f"item_Recorded{n}"
    audio_item = {"id": item, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    part = {"type": "output_audio", "transcript": ""}
    response = {"id": resp, "object": "realtime.response", "status": "in_progress", "output": []}
    events = [
        (start - 0.35, "server", {"type": "response.created", "event_id": f"event_R{n}a", "response": response}),
        (start - 0.3, "server", {"type": "conversation.item.added", "event_id": f"event_R{n}b", "item": audio_item}),
        (start - 0.3, "server", {"type": "response.output_item.added", "event_id": f"event_R{n}c", "item": audio_item}),
        (start, "server", {"type": "output_audio_buffer.started", "event_id": f"event_R{n}d", "response_id": resp}),
    ]
    words = text.split()
    for i, word in enumerate(words):
        delta = {"type": "response.output_audio_transcript.delta", "event_id": f"event_R{n}w{i}"}
        delta |= {"response_id": resp, "item_id": item, "output_index": 0, "content_index": 0, "delta": word + " "}
        events.append((start + 0.02 + i * duration * 0.5 / len(words), "server", delta))
    done_at = start + duration * 0.6
    done = {**response, "status": "completed", "output": [{**audio_item, "status": "completed", "content": [part]}]}
    events += [
        (done_at, "server", {"type": "response.done", "event_id": f"event_R{n}e", "response": done}),
        (None, "server", {"type": "rate_limits.updated", "event_id": f"event_R{n}f", "rate_limits": []}),
        (start + duration, "server", {"type": "output_audio_buffer.stopped", "event_id": f"event_R{n}g"}),
    ]
    return events


def build_recording() -> Recording:
    first, second = (speech(text) for text in REPLIES)
    one, two = at_24k(first.samples, first.rate), at_24k(second.samples, second.rate)
    start1 = T0 + FIRST_AUDIO_S
    start2 = start1 + len(one) / RATE + GAP_S
    session = {"type": "realtime", "object": "realtime.session", "id": RECORDED_SESSION, "model": "gpt-realtime"}
    events: list[tuple[float | None, str, dict[str, Any]]] = [
        (T0, "server", {"type": "session.created", "event_id": "event_S0", "session": session}),
        (T0 + 0.05, "client", {"type": "session.update", "session": {"type": "realtime", "instructions": "Hi"}}),
        (T0 + 0.12, "server", {"type": "session.updated", "event_id": "event_S1", "session": session}),
        (T0 + 0.2, "client", {"type": "response.create"}),
    ]
    events += reply_events(1, start1, len(one) / RATE, REPLIES[0])
    events.append((start2 - 0.4, "client", {"type": "response.create"}))
    events += reply_events(2, start2, len(two) / RATE, REPLIES[1])
    log = EventLog()
    for t, direction, event in events:
        log.append(event, direction=direction, t_browser=t)  # type: ignore[arg-type]
    anchors = np.array([[0, start1], [len(one), start2]])
    model = Track("model", np.concatenate([one, two]), RATE, anchors)
    return Recording(log, {"model": model}, provider="openai", config={"model": "gpt-realtime"})


@pytest.fixture(scope="module")
def recording() -> Recording:
    return build_recording()


@pytest.fixture(scope="module")
def folder(recording: Recording, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return recording.save(tmp_path_factory.mktemp("replay") / "run1")


@pytest.fixture(scope="module")
def replaying(folder: Path) -> Iterator[Emulator]:
    with Emulator(replay=folder) as emu:
        yield emu


class TimedClient(RtcClient):
    """The test WebRTC client, noting when each event and audio frame arrived."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.frames: list[tuple[float, int, np.ndarray]] = []  # arrival, pts (48 kHz), mono samples
        super().__init__()

    def _on_message(self, message: str) -> None:
        self.arrivals.append(time.monotonic())
        super()._on_message(message)

    async def _record(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                channels = len(frame.layout.channels)
                mono = frame.to_ndarray().reshape(-1, channels).mean(axis=1)
                self.frames.append((time.monotonic(), int(frame.pts), mono))

    def audio_from(self, t0: float) -> np.ndarray:
        """The received audio (48 kHz, in pts order) as it arrived from time ``t0`` on.

        Each frame's arrival, less its place in the stream, estimates when the stream's first
        packet arrived; the earliest estimate is the least delayed by the loop. The receiver's
        prefetch is taken off, so what is measured is the server's timing.
        """
        frames = sorted(self.frames, key=lambda f: f[1])
        first_pts = frames[0][1]
        began = min(arrival - (pts - first_pts) / OUT for arrival, pts, _ in frames) - PREFETCH_S
        audio = np.zeros(frames[-1][1] - first_pts + len(frames[-1][2]))
        for _, pts, mono in frames:
            audio[pts - first_pts : pts - first_pts + len(mono)] = mono
        skip = round((t0 - began) * OUT)  # time 0's place in the stream (negative: before it began)
        return np.concatenate([np.zeros(max(0, -skip)), audio[max(0, skip) :]])


def start_call(emu: Emulator, client: RtcClient) -> str:
    files = {
        "sdp": (None, client.offer(), "application/sdp"),
        "session": (None, '{"type": "realtime", "model": "gpt-realtime"}', "application/json"),
    }
    auth = {"Authorization": f"Bearer {emu.api_key}"}
    response = httpx.post(f"{emu.base_url}/realtime/calls", files=files, headers=auth, timeout=30)
    assert response.status_code == 201, response.text
    client.accept(response.text)
    return response.headers["location"].rsplit("/", 1)[-1]


def hang_up(emu: Emulator, call_id: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {emu.api_key}"}
    return httpx.post(f"{emu.base_url}/realtime/calls/{call_id}/hangup", headers=auth, timeout=10)


def wait_until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def loud_starts(audio: np.ndarray, rate: int, min_gap_s: float = 0.3) -> list[float]:
    """Seconds at which the audio turns loud after at least ``min_gap_s`` of quiet."""
    loud = np.flatnonzero(np.abs(audio) > LOUD)
    if len(loud) == 0:
        return []
    starts = [loud[0]] + [b for a, b in itertools.pairwise(loud) if b - a > min_gap_s * rate]
    return [s / rate for s in starts]


def best_lag(received: np.ndarray, expected: np.ndarray, at: int, max_lag: int) -> tuple[float, float]:
    """Where ``expected``, due at sample ``at``, is in ``received``: (lag in s, normalised correlation)."""
    best = (0.0, -1.0)
    for lag in range(-min(max_lag, at), max_lag + 1, 4):
        a = received[at + lag : at + lag + len(expected)]
        b = expected[: len(a)]
        correlation = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))
        best = max(best, (lag / OUT, correlation), key=lambda pair: pair[1])
    return best


def test_a_call_replays_the_recorded_events_on_time_and_its_voice(replaying, recording):
    replay = load_replay(recording)
    recorded = [(offset, event) for offset, event in replay.events]
    client = TimedClient()
    try:
        start_call(replaying, client)
        client.wait_for("session.created")
        client.send({"type": "response.create"})  # ignored: the recording answers
        client.send_raw("this is not JSON")  # ignored too, with no error event
        wait_until(lambda: len(client.events) >= len(recorded), timeout=replay.duration_s + 10)
        time.sleep(0.5)  # the replay is over: the call stays open and says nothing more
        frames_then = len(client.frames)
        time.sleep(0.3)

        assert [e["type"] for e in client.events] == [e["type"] for _, e in recorded]
        assert [e["event_id"] for e in client.events] == [e["event_id"] for _, e in recorded]
        assert client.events[3] == recorded[3][1]  # sent as recorded
        session_id = client.events[0]["session"]["id"]
        assert session_id.startswith("sess_")
        assert session_id != RECORDED_SESSION
        assert client.events[1]["session"]["id"] == session_id

        errors = [
            (arrival - client.arrivals[0]) - offset
            for arrival, (offset, _) in zip(client.arrivals, recorded, strict=True)
        ]
        worst = max(abs(e) for e in errors)
        print(f"\nevent timing error: max {worst * 1000:.1f} ms, mean {np.mean(errors) * 1000:.1f} ms")
        assert worst < EVENT_TOLERANCE_S

        assert not client.channel_closed.is_set()
        assert len(client.frames) > frames_then  # still sending audio: silence
        assert max(np.abs(mono).max() for _, _, mono in client.frames[frames_then - 10 :]) < 100

        # Time 0 is when the first event arrived; the audio should follow the recording from there.
        audio = client.audio_from(client.arrivals[0])
        expected = resample(replay.window(0, replay.audio_end), replay.rate).astype(np.float64)
        heard, should = loud_starts(audio, OUT), loud_starts(expected, OUT)
        print(f"voice onsets (s): heard {[round(h, 3) for h in heard]}, recorded {[round(s, 3) for s in should]}")
        assert len(heard) == len(should) == 2
        for h, s in zip(heard, should, strict=True):
            assert abs(h - s) < AUDIO_TOLERANCE_S
        for stretch in replay.stretches:  # each reply, found by its waveform
            at = round(stretch.start * OUT / replay.rate)
            lag, correlation = best_lag(audio, resample(stretch.samples, replay.rate).astype(np.float64), at, 7200)
            print(f"reply at {at / OUT:.3f} s: heard {lag * 1000:+.1f} ms off, correlation {correlation:.3f}")
            assert abs(lag) < AUDIO_TOLERANCE_S
            assert correlation > 0.8
        lag, correlation = best_lag(audio, expected, 0, round(AUDIO_TOLERANCE_S * OUT))
        print(f"whole track: {lag * 1000:+.1f} ms off, correlation {correlation:.3f}")
        assert correlation > 0.8
    finally:
        client.close()


def test_a_second_call_replays_again_and_hangs_up(replaying, recording):
    recorded = sum(1 for r in recording.events if r["direction"] == "server")
    first_ids = set()
    for _ in range(2):  # each call starts the recording from its beginning
        client = RtcClient()
        try:
            call_id = start_call(replaying, client)
            wait_until(lambda: len(client.events) >= 2, timeout=10)  # noqa: B023 - waited on at once
            assert [e["type"] for e in client.events[:2]] == ["session.created", "session.updated"]
            first_ids.add(client.events[0]["session"]["id"])

            assert hang_up(replaying, call_id).status_code == 200
            assert client.channel_closed.wait(5)
            seen = len(client.events)
            time.sleep(0.5)  # more was due: a hung-up replay sends nothing more
            assert len(client.events) == seen < recorded
            assert hang_up(replaying, call_id).status_code == 404
        finally:
            client.close()
    assert len(first_ids) == 2  # a fresh session id per call


def test_a_beta_call_replays_in_beta_shape(replaying):
    client = RtcClient()
    try:
        response = httpx.post(
            f"{replaying.base_url}/realtime?model=gpt-4o-realtime-preview-2024-12-17",
            content=client.offer(),
            headers={"Authorization": f"Bearer {replaying.api_key}", "Content-Type": "application/sdp"},
            timeout=30,
        )
        assert response.status_code == 201
        client.accept(response.text)
        client.wait_for("response.audio_transcript.delta", timeout=10)
        types = [e["type"] for e in client.events]
        assert "conversation.item.created" in types
        assert "response.output_audio_transcript.delta" not in types
        assert "audio" not in client.events[0]["session"]  # a beta (flat) session
        assert hang_up(replaying, response.headers["location"].rsplit("/", 1)[-1]).status_code == 200
    finally:
        client.close()


def test_faults_apply_to_a_replayed_call(folder):
    with Emulator(replay=folder, faults=Faults(session_expired_after_s=0.3)) as emu:
        client = RtcClient()
        try:
            start_call(emu, client)
            error = client.wait_for("error", timeout=10)["error"]
            assert error["code"] == "session_expired"
            assert client.channel_closed.wait(5)
            assert [e["type"] for e in client.events][:2] == ["session.created", "session.updated"]
        finally:
            client.close()


def test_replay_of_a_folder_that_is_not_a_recording_is_a_value_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=str(tmp_path)) as raised:
        Emulator(replay=tmp_path)
    assert "recording" in str(raised.value)
    with pytest.raises(ValueError, match="no such folder"):
        Emulator(replay=tmp_path / "missing")
    with pytest.raises(TypeError, match="replay= takes a recording folder"):
        Emulator(replay=42)  # type: ignore[arg-type]


def test_a_recording_without_server_events_is_refused(tmp_path):
    log = EventLog()
    log.append({"type": "response.create"}, direction="client", t_browser=T0)
    folder = Recording(log).save(tmp_path / "client-only")
    with pytest.raises(ValueError, match="no server events") as raised:
        Emulator(replay=folder)
    assert str(folder) in str(raised.value)


def test_prepared_replay_places_events_and_audio_on_one_timeline(recording):
    replay = load_replay(recording)
    server = [r for r in recording.events if r["direction"] == "server"]
    assert [e for _, e in replay.events] == [r["event"] for r in server]
    offsets = [o for o, _ in replay.events]
    assert offsets[0] == 0
    assert offsets == sorted(offsets)
    untimed = [i for i, r in enumerate(server) if r["t_browser"] is None]
    assert untimed
    assert all(offsets[i] == offsets[i - 1] for i in untimed)  # sent right after the one before
    assert offsets[2] == pytest.approx(FIRST_AUDIO_S - 0.35, abs=1e-6)  # the first response.created
    # Two stretches, the second after the gap the anchors leave.
    first, second = replay.stretches
    assert first.start == round(FIRST_AUDIO_S * RATE)
    assert second.start == pytest.approx(first.start + len(first.samples) + GAP_S * RATE, abs=1)
    assert not replay.window(first.start + len(first.samples), round(GAP_S * RATE) - 2).any()
    # Each call gets fresh session ids; nothing else changes.
    a, b = replay.events_for_call(), replay.events_for_call()
    assert a[0][1]["session"]["id"] != b[0][1]["session"]["id"] != RECORDED_SESSION
    assert a[3] == b[3] == replay.events[3]


def test_audio_recorded_before_the_first_server_event_is_dropped():
    log = EventLog()
    log.append({"type": "session.created", "session": {"id": "sess_x"}}, direction="server", t_browser=T0)
    ramp = np.arange(RATE, dtype=np.int16)
    model = Track("model", ramp, RATE, np.array([[0, T0 - 0.5]]))
    (stretch,) = load_replay(Recording(log, {"model": model})).stretches
    assert stretch.start == 0
    assert stretch.samples[0] == RATE // 2  # the half second before time 0 is gone


def test_cli_replay_of_a_bad_folder_exits_with_a_clear_message(tmp_path):
    missing = tmp_path / "run1"
    result = subprocess.run(
        [sys.executable, "-m", "rt_widget._cli", "emulator", "--port", "0", "--replay", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"Cannot replay {missing}: there is no such folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_replay_serves_the_recording(folder):
    proc = subprocess.Popen(
        [sys.executable, "-m", "rt_widget._cli", "emulator", "--port", "0", "--replay", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("Realtime emulator listening on http://127.0.0.1:")
        proc.stdout.readline()  # the key clients send
        assert proc.stdout.readline().startswith(f"Every call replays {folder}: ")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
