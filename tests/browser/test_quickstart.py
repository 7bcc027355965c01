"""The quickstart, as a user runs it: real JupyterLab, real Chromium, real WebRTC."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import PageLog
from tests.browser.lab import LabServer
from tests.browser.notebook import open_and_run


def test_quickstart_connects_and_session_created_reaches_the_kernel(page: Page, page_log: PageLog, lab: LabServer):
    kernel = open_and_run(page, lab, "notebooks/quickstart.ipynb")
    try:
        button = page.locator(".rt-connect")
        expect(button).to_have_text("Connect")
        expect(page.locator(".rt-status")).to_contain_text("emulator")

        button.click()

        types = kernel.wait_until("'session.created' in s.events.types and s.events.types")
        assert types[0] == "session.created"
        assert kernel.eval("s.status") == "connected"
        assert kernel.eval("s.call_id").startswith("rtc_")
        first = kernel.eval(
            "{k: v for k, v in s.events[0].items() if k != 'event'} | "
            "{'session_type': s.events[0]['event']['session']['type']}"
        )
        assert first["direction"] == "server"
        assert first["seq"] == 0
        assert first["session_type"] == "realtime"
        assert first["t_browser"] <= first["t_kernel"] + 1
        expect(page.locator(".rt-status")).to_contain_text("Connected")
        expect(button).to_have_text("Hang up")

        button.click()
        expect(button).to_have_text("Connect")
        assert kernel.wait_until("s.status == 'closed'")
    finally:
        kernel.close()
    assert page_log.errors == [], page_log.text()
    assert "rt-widget: kernel WebSockets send small messages at once" in lab.log.read_text()  # the extension


def test_quickstart_with_chromiums_default_fake_microphone_starts_no_turns(page: Page, lab: LabServer):
    """Chromium's default fake device beeps about once a second: that is not speech.

    An energy VAD took each beep for a turn, so the transcript filled with "You ..." and every
    reply was cancelled. The emulator's speech detector must let the call stay quiet.
    """
    kernel = open_and_run(page, lab, "notebooks/quickstart.ipynb")
    try:
        page.locator(".rt-connect").click()
        kernel.wait_until("s.status == 'connected'")
        # The beeps really reach the call: the browser measures them on the microphone's track.
        kernel.wait_until("bool(len(s.stats) and s.stats['audio_level_mic'].max() > 0.01)", timeout=20)
        page.wait_for_timeout(8000)  # eight beeps or so
        types = kernel.eval("s.events.types")
        assert "input_audio_buffer.speech_started" not in types
        assert "response.created" not in types
        kernel.execute("s.say('hello')")  # and the conversation is not disturbed by them
        reply = kernel.wait_until(
            "[e['event']['transcript'] for e in s.events if e['type'] == 'response.output_audio_transcript.done']",
            timeout=30,
        )
        assert reply[0].startswith("Hello! I am the local emulator")
        assert kernel.eval("s.events.of_type('response.done')[0]['response']['status']") == "completed"
        kernel.execute("s.hangup()")
    finally:
        kernel.close()
