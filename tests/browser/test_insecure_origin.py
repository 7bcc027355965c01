"""A notebook served over plain http from a host that is not loopback (``http://hub.test``).

Such a page is not a secure context: browsers give it no microphone and no
``crypto.randomUUID``. The widget must still draw, say that the microphone needs HTTPS or
localhost, and connect without a microphone (over the comm: the loopback link is only for
loopback pages), so turns sent from Python still get their replies.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.browser.conftest import PageLog, launch
from tests.browser.lab import LabServer
from tests.browser.notebook import write_notebook

HOST = "hub.test"


@pytest.fixture
def insecure_page(playwright: Playwright) -> Iterator[Page]:
    browser: Browser = launch(playwright, f"--host-resolver-rules=MAP {HOST} 127.0.0.1")
    page = browser.new_page()
    page.set_default_timeout(60_000)
    yield page
    browser.close()


def test_widget_on_plain_http_draws_advises_https_and_connects_without_a_microphone(insecure_page, lab: LabServer):
    page = insecure_page
    log = PageLog(page)
    path = write_notebook(
        lab,
        "insecure.ipynb",
        "import rt_widget as rt\ns = rt.Realtime(output_modalities='text')\ns",
    )
    page.goto(lab.notebook_url(path).replace("127.0.0.1", HOST))
    assert page.evaluate("() => window.isSecureContext") is False
    page.wait_for_function("() => window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    kernel = lab.kernel_for(path)
    try:
        notice = page.locator(".rt-notice")
        expect(notice).to_contain_text("needs a secure page")
        expect(notice).to_contain_text(f"http://{HOST}:")
        expect(notice).to_contain_text("HTTPS")
        expect(notice).to_contain_text("ssh -L")
        page.get_by_role("button", name="Connect to the realtime model").click()
        kernel.wait_until("s.status == 'connected' and s.call_id")
        assert kernel.eval("s.error") == ""
        kernel.execute("s.say('hello')")
        reply = kernel.wait_until(
            "[e['event']['text'] for e in s.events if e['type'] == 'response.output_text.done']", timeout=30
        )
        assert reply[0].startswith("Hello! I am the local emulator")
        assert kernel.eval("s._linked()") is False  # a page elsewhere uses the comm
        assert not [e for e in log.errors if "randomUUID" in e]
    finally:
        kernel.execute("s.hangup()")
        kernel.close()
