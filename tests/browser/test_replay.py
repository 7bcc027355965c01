"""Replay in the widget: a recorded call played back in JupyterLab, with no provider and no network.

The recording is made here by a headless call to the emulator ("hello there" and its spoken
reply), saved into the lab's folder, and opened with ``rt.replay`` in a notebook.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

import rt_widget as rt
from rt_widget import Emulator
from rt_widget.peer import Clip
from rt_widget.providers import Local
from tests.browser.conftest import PageLog
from tests.browser.lab import LabServer
from tests.browser.notebook import open_and_run, write_notebook
from tests.samples import spoken_wav


@pytest.fixture(scope="module")
def saved(lab: LabServer) -> Path:
    folder = lab.root / "replayed"
    wav = spoken_wav(lab.root / "hello.wav", "hello there")
    with Emulator() as emu, rt.Call(provider=Local(emu), transcription="gpt-4o-mini-transcribe", record=True) as call:
        call.play(Clip.silence(0.5)).wait()
        call.play(wav).wait()  # the blocking form: Playwright's own loop runs in this thread
        call.wait("output_audio_buffer.stopped", timeout=30)
        time.sleep(0.3)
    call.save(folder)  # hung up: nothing more comes in
    return folder


# Drag the playhead: an input event while dragging, a change when let go.
SCRUB = """(el, to) => {
    el.value = to === "max" ? el.max : to;
    el.dispatchEvent(new Event("input"));
    el.dispatchEvent(new Event("change"));
}"""


def playhead(seek: Locator, near: Callable[[float], bool], timeout: float = 10) -> float:
    """The playhead once ``near`` holds: the controls redraw on the next animation frame, not at once."""
    deadline = time.monotonic() + timeout
    while not near(value := float(seek.input_value())) and time.monotonic() < deadline:
        seek.page.wait_for_timeout(50)
    return value


def line_times(folder: Path) -> dict[str, float]:
    """When each side's transcript line first appears (its item is added), in seconds from the start."""
    rec = rt.load(folder)
    origin = min(rec.mic.start, rec.model.start)
    added = [r for r in rec.events if r["type"] == "conversation.item.added"]
    times = {
        role: next(r["t_browser"] for r in added if r["event"]["item"].get("role") == role) - origin
        for role in ("user", "assistant")
    }
    times["delta"] = next(r["t_browser"] for r in rec.events if r["type"].endswith("transcript.delta")) - origin
    return times


def test_replay_plays_scrubs_and_jumps(page: Page, page_log: PageLog, lab: LabServer, saved: Path):
    expected = line_times(saved)
    path = write_notebook(lab, "replay.ipynb", "import rt_widget as rt", f"r = rt.replay({str(saved)!r})\nr")
    kernel = open_and_run(page, lab, path)
    try:
        play = page.locator(".rt-replay-play")
        expect(play).to_be_enabled()  # the recording arrived
        expect(page.locator(".rt-status")).to_contain_text("Replay: replayed")
        lines = page.locator(".rt-transcript .rt-line")
        expect(lines).to_have_count(0)  # nothing had happened at 0:00
        seek = page.locator(".rt-replay-seek")
        play.click()
        seen: list[tuple[float, int]] = []  # (playhead, lines shown) while it plays
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            seen.append((float(seek.input_value()), lines.count()))
            if seen[-1][1] >= 2 and seen[-1][0] > expected["assistant"] + 0.5:
                break
            page.wait_for_timeout(50)
        positions = [p for p, _ in seen]
        assert positions[-1] > expected["assistant"]  # the audio's time advanced
        assert positions == sorted(positions)
        counts = [n for _, n in seen]
        assert counts == sorted(counts)  # lines only come while it plays forward
        # Each line appeared as the playhead passed its time (a frame's slack either way).
        one = next(p for p, n in seen if n >= 1)
        two = next(p for p, n in seen if n >= 2)
        assert expected["user"] - 0.15 <= one <= expected["user"] + 0.6, (one, expected)
        assert expected["assistant"] - 0.15 <= two <= expected["assistant"] + 0.6, (two, expected)
        play.click()  # pause
        expect(play).to_have_text("Play")

        # Back to the start: nothing shown; to the end: the whole transcript.
        seek.evaluate(SCRUB, 0)
        expect(lines).to_have_count(0)
        seek.evaluate(SCRUB, "max")
        expect(lines).to_have_count(2)
        expect(lines.first).to_contain_text("hello there")

        # Picking an event in the log moves the playhead to it: the reply's first delta, then
        # the first event (Home), before anything was said.
        page.locator(".rt-log summary").click()
        page.locator(".rt-log-filter").fill("output_audio_transcript.delta")
        page.locator(".rt-log-row").first.click()
        assert abs(playhead(seek, lambda p: abs(p - expected["delta"]) < 0.02) - expected["delta"]) < 0.02
        expect(lines).to_have_count(2)
        page.locator(".rt-log-filter").fill("")
        page.locator(".rt-log-rows").press("Home")
        assert playhead(seek, lambda p: p < expected["user"]) < expected["user"]
        expect(lines).to_have_count(0)
        # Nothing of the replay went back to the kernel as new events.
        assert kernel.eval("len(r.recording.events)") == len(rt.load(saved).events)
    finally:
        kernel.close()
    assert page_log.errors == [], page_log.text()
