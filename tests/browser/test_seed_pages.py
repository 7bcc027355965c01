"""The seeds' browser flows in headless Chromium against the emulator, base URL changed only.

The fake microphone says "hello there" (espeak-ng); the emulator hears it and answers aloud.
seeds/003 sends its own text turn. Each page must show a reply transcript and real audio.
"""

from __future__ import annotations

import base64
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, Playwright

from rt_widget import Emulator
from rt_widget.emulator.asr import recognize
from rt_widget.emulator.server import AZURE_WEBRTC_FILTER
from tests.browser.conftest import CHROMIUM
from tests.browser.mic import browser_hearing, speech_wav
from tests.browser.seed_site import INSTRUMENT, SeedSite


@pytest.fixture(scope="module")
def speaking_browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    yield from browser_hearing(playwright, speech_wav(tmp_path_factory.mktemp("mic") / "hello.wav", "hello there"))


@pytest.fixture(scope="module")
def quiet_browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    # Silence, so nothing interrupts the page's own text turn (speech would barge in).
    yield from browser_hearing(playwright, speech_wav(tmp_path_factory.mktemp("mic") / "quiet.wav", "", tail_s=3))


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


def open_seed(browser: Browser, emulator: Emulator, page_name: str) -> tuple[Page, SeedSite]:
    site = SeedSite(emulator, page_name)
    context = browser.new_context()
    context.add_init_script(INSTRUMENT)
    page = context.new_page()
    page.goto(site.url)
    return page, site


def wait_for_event(page: Page, type_: str, timeout_ms: int = 30_000) -> dict:
    page.wait_for_function(f"() => window.__events.some((e) => e.type === {type_!r})", timeout=timeout_ms)
    return page.evaluate(f"() => window.__events.find((e) => e.type === {type_!r})")


@pytest.mark.parametrize("page_name", ["unified.html", "ephemeral.html"])
def test_seed_001_flows_hear_the_microphone_and_answer_aloud(speaking_browser, emulator, page_name):
    page, site = open_seed(speaking_browser, emulator, page_name)
    try:
        created = wait_for_event(page, "session.created")
        assert created["session"]["audio"]["output"]["voice"] == "marin"
        transcript = wait_for_event(page, "response.output_audio_transcript.done")["transcript"]
        assert transcript.startswith("Hello! I am the local emulator")
        page.wait_for_function("() => window.__peak > 0.05")
    finally:
        page.context.close()
        site.close()


def test_seed_003_azure_page_with_webrtcfilter(quiet_browser, emulator):
    page, site = open_seed(quiet_browser, emulator, "azure.html")
    try:
        page.get_by_role("button", name="Start Session").click()
        transcript = wait_for_event(page, "response.output_audio_transcript.done")["transcript"]
        assert transcript.startswith("Hello! I am the local emulator")
        page.wait_for_function("() => window.__peak > 0.05")
        page.wait_for_function("() => window.__events.some((e) => e.type === 'output_audio_buffer.stopped')")
        types = set(page.evaluate("() => window.__events.map((e) => e.type)"))
        # The filter keeps session.created (and its instructions) from the browser, by design.
        assert types <= AZURE_WEBRTC_FILTER
        assert "session.created" not in types
        assert page.get_by_text("Data channel is open").count() == 1
    finally:
        page.context.close()
        site.close()


LOOP_PAGE = """<!doctype html><html><body><script type="module">
const token = await (await fetch("/token")).json();
const pc = new RTCPeerConnection();
const audio = document.createElement("audio");
audio.autoplay = true;
pc.ontrack = (e) => (audio.srcObject = e.streams[0]);
const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
pc.addTrack(mic.getTracks()[0]);
pc.createDataChannel("oai-events");
await pc.setLocalDescription(await pc.createOffer());
const r = await fetch("{{OPENAI_BASE}}/realtime/calls", {
  method: "POST", body: pc.localDescription.sdp,
  headers: { Authorization: `Bearer ${token.value}`, "Content-Type": "application/sdp" },
});
await pc.setRemoteDescription({ type: "answer", sdp: await r.text() });
</script></body></html>"""

EXPECTED_REPLIES = [
    "i cannot see outside but in the emulator it is always sunny",
    "hello i am the local emulator how can i help you today",
    "you are welcome",
    "goodbye have a nice day",
]


def decode_webm(data: bytes) -> np.ndarray:
    container = av.open(io.BytesIO(data))
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16_000)
    frames = [f.to_ndarray().reshape(-1) for frame in container.decode(audio=0) for f in resampler.resample(frame)]
    return np.concatenate(frames)


def test_spoken_loop_question_by_microphone_answer_recognized_from_the_recording(
    playwright, tmp_path, emulator, monkeypatch
):
    """Ask aloud, get the weather reply aloud; recognize the recorded reply offline."""
    wav = speech_wav(tmp_path / "ask.wav", "what is the weather")
    page_path = tmp_path / "loop.html"
    page_path.write_text(LOOP_PAGE)
    monkeypatch.setattr("tests.browser.seed_site.PAGES", tmp_path)
    monkeypatch.setattr(
        "tests.browser.seed_site.SEED_001_SESSION",
        '{"session": {"type": "realtime", "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}}}}',
    )
    for browser in browser_hearing(playwright, wav):
        page, site = open_seed(browser, emulator, "loop.html")
        try:
            heard = wait_for_event(page, "conversation.item.input_audio_transcription.completed")
            assert heard["transcript"] == "what is the weather"
            wait_for_event(page, "output_audio_buffer.stopped")
            recording = base64.b64decode(page.evaluate("() => window.__recording()"))
        finally:
            page.context.close()
            site.close()
    samples = decode_webm(recording)
    assert np.abs(samples).max() > 3000
    assert recognize(samples, 16_000, EXPECTED_REPLIES) == EXPECTED_REPLIES[0]


def test_chromium_is_debians():
    assert shutil.which("chromium") or Path(CHROMIUM).exists()
