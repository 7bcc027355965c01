"""Lifecycle and the sideband, in a real notebook.

A cell awaits ``s.wait_for`` while the call runs (the sideband delivers; the browser's copies
arrive later and are merged without duplicates); the session expires with advice; Connect
starts a fresh call with a fresh ephemeral key, and both calls stay in the log. A browser
that refuses the microphone gets advice on how to allow it.
"""

from __future__ import annotations

from playwright.sync_api import Page, Playwright, expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.lab import LabServer
from tests.browser.notebook import open_and_run, write_notebook


def test_wait_for_expiry_and_reconnect(page: Page, lab: LabServer):
    path = write_notebook(
        lab,
        "lifecycle.ipynb",
        "import rt_widget as rt\nfrom rt_widget.providers import Local\nemu = rt.Emulator()",
        "s = rt.Realtime(provider=Local(emu, flow='ephemeral'), sideband=True, output_modalities='text', "
        "turn_detection=None)\ndone_events = []\ns.on('response.done', done_events.append)\ns",
    )
    kernel = open_and_run(page, lab, path)
    button = page.locator(".rt-connect")
    try:
        expect(button).to_be_visible()
        button.click()
        first_call = kernel.wait_until("s.status == 'connected' and s._sideband is not None and s.call_id")

        # One cell says hello and awaits the reply: the kernel is busy all along.
        kernel.execute("s.say('hello'); reply = await s.wait_for('response.done', timeout=20)")
        assert kernel.eval("reply['response']['status']") == "completed"
        assert kernel.eval("len(done_events)") == 1
        kernel.wait_until("len([e for e in s.events if e['direction'] == 'client']) >= 2")  # browser copies in
        assert kernel.eval("len(s.events.of_type('response.done'))") == 1
        assert kernel.eval("len(done_events)") == 1

        kernel.execute("emu.call(s.call_id).faults.session_expired_after_s = 0")
        error = kernel.wait_until("s.status == 'error' and s.error")
        assert "60-minute limit" in error
        assert "Connect again" in error
        banner = page.locator(".rt-banner")
        expect(banner).to_contain_text("60-minute limit")  # the banner says what to do
        expect(page.locator(".rt-status")).to_contain_text("Error")

        button.click()
        second_call = kernel.wait_until(f"s.status == 'connected' and s.call_id != {first_call!r} and s.call_id")
        assert kernel.eval("s.error") == ""
        expect(banner).to_be_hidden()  # cleared by the successful connect
        kernel.execute("s.say('thanks')")
        kernel.wait_until("len(s.events.of_type('response.done')) == 2", timeout=30)
        calls = kernel.eval("sorted({e['call_id'] for e in s.events if e['call_id']})")
        assert calls == sorted([first_call, second_call])
        assert kernel.eval("len(emu._routes.secrets._secrets)") == 2  # a fresh key per connect
    finally:
        kernel.execute("s.hangup(); emu.stop()")
        kernel.close()


def test_a_refused_microphone_says_how_to_allow_it(playwright: Playwright, lab: LabServer):
    # Without the fake permission prompt, headless Chromium refuses the microphone, as a
    # person clicking "Block" would.
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    page = browser.new_page()
    page.set_default_timeout(60_000)
    path = write_notebook(lab, "denied.ipynb", "import rt_widget as rt\ns = rt.Realtime()\ns")
    kernel = open_and_run(page, lab, path)
    try:
        page.get_by_role("button", name="Connect to the realtime model").click()
        error = kernel.wait_until("s.status == 'error' and s.error")
        assert error.startswith("Microphone access was denied. Allow the microphone for this page")
        expect(page.get_by_role("alert")).to_contain_text("Microphone access was denied")
        expect(page.get_by_role("button", name="Connect to the realtime model")).to_be_visible()  # try again
    finally:
        kernel.close()
        browser.close()


def test_renew_carries_a_widget_call_past_the_limit(page: Page, lab: LabServer):
    path = write_notebook(
        lab,
        "renew.ipynb",
        "import rt_widget as rt\nfrom rt_widget.providers import Local\nemu = rt.Emulator()",
        "s = rt.Realtime(provider=Local(emu), renew=True, output_modalities='text', turn_detection=None)\ns",
    )
    kernel = open_and_run(page, lab, path)
    try:
        page.locator(".rt-connect").click()
        first_call = kernel.wait_until("s.status == 'connected' and s.call_id")
        kernel.execute("s.say('hello'); reply = await s.wait_for('response.done', timeout=20)")
        kernel.execute("emu.call(s.call_id).faults.session_expired_after_s = 0")
        kernel.wait_until(
            f"s.status == 'connected' and s.call_id != {first_call!r} and any("
            "str(e['item'].get('id', '')).startswith('rtwc_') for e in s.events.of_type('conversation.item.done'))",
            timeout=30,
        )
        expect(page.locator(".rt-session-notice")).to_contain_text("Call renewed")  # the widget says so
        expect(page.locator(".rt-banner")).to_be_hidden()  # no error once the new call is up
        kernel.execute("s.say('thanks')")
        kernel.wait_until("len(s.events.of_type('response.done')) == 2", timeout=30)
        assert kernel.eval("list(s.transcript()['text'])[::2]") == ["hello", "thanks"]
        assert kernel.eval("s.events.of_type('rt_widget.session_renewed')[0]['carried_items']") == 2
        calls = kernel.eval("len({e['call_id'] for e in s.events if e['call_id']})")
        assert calls == 2
    finally:
        kernel.execute("s.hangup(); emu.stop()")
        kernel.close()
