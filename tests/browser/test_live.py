"""GPT-Live through the widget: JupyterLab, Chromium's fake microphone saying "hello there", the emulator.

The page makes the call as for Realtime; the kernel creates a GPT-Live session for its offer.
"""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.conftest import PageLog
from tests.browser.lab import LabServer
from tests.browser.notebook import open_and_run, write_notebook


def test_a_spoken_turn_on_gpt_live_through_the_widget(browser_saying_hello: Browser, lab: LabServer):
    context = browser_saying_hello.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    log = PageLog(page)
    path = write_notebook(
        lab, "live.ipynb", "import rt_widget as rt", "s = rt.Realtime(provider='emulator', model='gpt-live-1')\ns"
    )
    kernel = open_and_run(page, lab, path)
    try:
        page.locator(".rt-connect").click()
        assert kernel.wait_until("s.status == 'connected'")
        expect(page.locator(".rt-status")).to_contain_text("GPT-Live")
        heard = kernel.wait_until(
            "''.join(e['event']['delta'] for e in s.events if e['type'] == 'session.input_transcript.delta')"
            " if 'session.output_transcript.delta' in s.events.types else ''",
            timeout=45,
        )
        assert "hello there" in heard.lower()
        expect(page.locator(".rt-transcript .rt-user").first).to_contain_text("hello there")
        expect(page.locator(".rt-transcript .rt-assistant").first).not_to_be_empty()
        rows = kernel.eval("s.transcript()[['role', 'text']].values.tolist()")
        assert rows[0][0] == "user"
        assert "hello there" in rows[0][1].lower()
        assert kernel.eval("'session.started' in s.events.types")
    finally:
        kernel.execute("s.hangup()")
        kernel.close()
        context.close()
    assert log.errors == [], log.text()
