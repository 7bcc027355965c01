"""Recording in the widget: JupyterLab, Chromium's fake microphone saying "hello there", the emulator.

The page records its microphone and the model's voice and streams them to the kernel (over the
loopback link, or the comm alone); the saved recording is then checked in this process, a
fresh one: what each track says, where its speech lies against the events, and that it is
sample for sample what the kernel had.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
from playwright.sync_api import Browser, expect

import rt_widget as rt
from rt_widget.emulator import asr
from rt_widget.recording import RATE
from rt_widget.recording.audio_analysis import speech_spans
from tests.browser.conftest import PageLog
from tests.browser.lab import LabServer
from tests.browser.notebook import open_and_run, write_notebook
from tests.samples import speech

DIGEST = (
    "import hashlib\n"
    "rec = s.recording()\n"
    "digest = {n: hashlib.sha256(t.samples.tobytes()).hexdigest() for n, t in rec.audio.items()}\n"
)


def words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


@pytest.mark.parametrize("loopback", [True, False], ids=["loopback", "comm-only"])
def test_a_recorded_spoken_turn_lines_up_with_its_events(browser_saying_hello: Browser, lab: LabServer, loopback: bool):
    context = browser_saying_hello.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    log = PageLog(page)
    folder = lab.root / f"recorded_{loopback}"
    path = write_notebook(
        lab,
        f"record_{loopback}.ipynb",
        "import rt_widget as rt",
        f"s = rt.Realtime(provider='emulator', transcription='gpt-4o-mini-transcribe', record=True, "
        f"loopback={loopback})\ns",
    )
    kernel = open_and_run(page, lab, path)
    try:
        expect(page.locator(".rt-rec")).to_be_hidden()
        page.locator(".rt-connect").click()
        assert kernel.wait_until("s.status == 'connected'")
        expect(page.locator(".rt-rec")).to_be_visible()
        kernel.wait_until("'output_audio_buffer.stopped' in s.events.types", timeout=45)
        page.wait_for_timeout(800)  # the reply's last chunks
        page.locator(".rt-connect").click()  # hang up: the page sends what it still holds
        assert kernel.wait_until("s.status == 'closed'")
        expect(page.locator(".rt-rec")).to_be_hidden()
        page.wait_for_timeout(500)
        kernel.execute(DIGEST + f"s.save({str(folder)!r})")
        digest = kernel.eval("digest")
        count = kernel.eval("len(s.events)")
    finally:
        kernel.execute("s.hangup()")
        kernel.close()
        context.close()
    assert log.errors == [], log.text()

    rec = rt.load(folder)  # in this process: a fresh one
    assert len(rec.events) == count
    for name, track in rec.audio.items():  # lossless: sample for sample what the kernel had
        assert hashlib.sha256(track.samples.tobytes()).hexdigest() == digest[name]
    # Chromium's audio processing (gain control) shapes what is sent: the recognizer picks
    # among distinct phrases rather than "hello" against "hello there".
    assert asr.recognize(rec.mic.samples, RATE, ["hello there", "goodbye", "tell me a joke"]) == "hello there"
    reply = words(rec.events.of_type("response.output_audio_transcript.done")[-1]["transcript"])
    assert asr.recognize(rec.model.samples, RATE, [reply, "hello there", "goodbye"]) == reply

    # The model track is the voice as it arrived (Chromium copies the receiver's frames), not
    # as played after the jitter buffer: it starts when the events say the audio began.
    assert not rec.model.as_played
    (started,) = [r for r in rec.events if r["type"] == "output_audio_buffer.started"]
    voice = speech_spans(rec.model)
    assert abs(voice[0][0] - started["t_browser"]) < 0.05, voice[0][0] - started["t_browser"]
    # The microphone's speech lasts as long as the fake microphone's (the track neither drops
    # nor stretches audio), and the server heard one turn of it.
    spoken = speech_spans(rec.mic)
    source = speech("hello there")
    said = speech_spans(rt.recording.Track("mic", source.samples, source.rate, np.array([[0, 0.0]])))
    # Chromium's gain control lifts the quiet ends: 0.09-0.12 s longer here; a lost or doubled
    # chunk would be 0.25 s.
    assert -0.05 < (spoken[-1][1] - spoken[0][0]) - (said[-1][1] - said[0][0]) < 0.18
    assert len(rec.events.of_type("input_audio_buffer.speech_started")) == 1
    assert np.abs(rec.mic.samples).max() > 1000
    turn = rt.turns(rec).to_dict("records")[0]
    assert 0 < turn["silence_s"] < 3
    # Where the service heard the speech begin (audio_start_ms + prefix_padding_ms), placed on
    # the shared clock by when the page captured the audio it sent: -19 to +6 ms from the
    # track's onset over twelve runs, four of them with both cores busy. A misplaced chunk is
    # 250 ms; the emulator's own arrival clock was 20-153 ms early (Chromium's send delay).
    assert abs(spoken[0][0] - turn["vad_start"]) < 0.05, spoken[0][0] - turn["vad_start"]
    assert list(rec.sent_clock.anchors) == [started["call_id"]]  # one call, one clock
