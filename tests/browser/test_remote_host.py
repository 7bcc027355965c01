"""The widget as a hub user meets it: the notebook at ``https://hub.test`` (a host name that is not
loopback, mapped to 127.0.0.1 for the test), over TLS, so the page is a secure context.

The widget must find by itself that the loopback link is not for it and use the comm; the call
gets the microphone, events reach the kernel, a Python tool runs, and a cell can await a
reply because the sideband brings the events while the cell keeps the comm busy.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.browser.conftest import PageLog, launch
from tests.browser.lab import LabServer, jupyter_lab
from tests.browser.notebook import write_notebook

HOST = "hub.test"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    with jupyter_lab(tmp_path_factory.mktemp("hub"), tls_hosts=(HOST,)) as server:
        yield server


@pytest.fixture
def hub_page(playwright: Playwright) -> Iterator[Page]:
    # The certificate is the test's own: Chromium is told to accept it (a hub has a real one).
    browser: Browser = launch(playwright, f"--host-resolver-rules=MAP {HOST} 127.0.0.1", "--ignore-certificate-errors")
    page = browser.new_page()
    page.set_default_timeout(60_000)
    yield page
    browser.close()


CELLS = (
    "import rt_widget as rt\n"
    "def get_weather(city: str) -> dict:\n"
    "    '''The weather in a city.'''\n"
    "    return {'city': city, 'sky': 'clear'}",
    "s = rt.Realtime(provider='emulator', sideband=True, output_modalities='text', turn_detection=None,\n"
    "                tools=[get_weather], transcription='gpt-4o-mini-transcribe')\ns",
)


def test_a_hub_page_uses_the_comm_with_the_microphone_tools_and_wait_for(hub_page: Page, hub: LabServer):
    page = hub_page
    log = PageLog(page)
    path = write_notebook(hub, "hub.ipynb", *CELLS)
    url = hub.notebook_url(path).replace("127.0.0.1", HOST)
    assert url.startswith(f"https://{HOST}:")
    page.goto(url)
    assert page.evaluate("() => window.isSecureContext") is True
    page.wait_for_function("() => window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    kernel = hub.kernel_for(path)
    try:
        expect(page.locator(".rt-connect")).to_be_visible()
        expect(page.locator(".rt-notice")).to_have_count(0)  # a secure page: nothing to advise
        page.locator(".rt-connect").click()
        kernel.wait_until("s.status == 'connected' and s.call_id and s._sideband is not None")
        assert kernel.eval("s._linked()") is False  # the page is not at loopback: the comm carries it
        assert kernel.eval("s.error") == ""
        assert page.evaluate("() => navigator.mediaDevices !== undefined")  # the microphone was offered

        # A Python tool: the model calls it, the kernel runs it, the reply uses its output.
        kernel.execute("s.say('call get weather city=Paris')")  # the emulator's model calls what it is told
        reply = kernel.wait_until(
            "[e['event']['text'] for e in s.events if e['type'] == 'response.output_text.done']", timeout=30
        )
        assert reply[-1] == "The get_weather tool says: city Paris, sky clear.", reply
        (ran,) = kernel.eval("s.tool_calls[['name', 'status']].to_dict('records')")
        assert ran == {"name": "get_weather", "status": "ok"}

        # A cell that awaits the reply: the comm waits for the cell, the sideband does not.
        kernel.execute("s.say('thank you'); done = await s.wait_for('response.done', timeout=20)")
        assert kernel.eval("done['response']['status']") == "completed"
        ids = kernel.eval("[e['event'].get('event_id') for e in s.events if e['direction'] == 'server']")
        assert len(ids) == len(set(ids))  # the page's copies and the sideband's merged once each
    finally:
        kernel.execute("s.hangup()")
        kernel.close()
    assert log.errors == [], log.text()
