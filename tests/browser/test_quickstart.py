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
