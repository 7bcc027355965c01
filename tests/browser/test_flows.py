"""Each connection flow, end to end: JupyterLab, Chromium, WebRTC, the emulator as the service.

A text turn is sent from Python (``s.say``) while the browser holds the call; the reply must
land in ``s.events`` under GA names, whatever shape the flow speaks.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageLog
from tests.browser.lab import LabServer
from tests.browser.notebook import open_and_run, write_notebook

PROVIDERS = {
    "unified": "OpenAI(api_key=emu.api_key, base_url=emu.base_url)",
    "ephemeral": "OpenAI(api_key=emu.api_key, base_url=emu.base_url, flow='ephemeral', ttl=60)",
    "azure": (
        "Azure(endpoint=f'http://127.0.0.1:{emu.port}', deployment='my-realtime', "
        "api_key=emu.api_key, webrtcfilter=True)"
    ),
    "beta": "Beta(api_key=emu.api_key, base_url=emu.base_url)",
}


@pytest.mark.parametrize("flow", list(PROVIDERS))
def test_text_turn_from_python(page: Page, page_log: PageLog, lab: LabServer, flow: str):
    # The Azure filter keeps lifecycle events from the browser: the kernel's sideband sees them.
    sideband = flow == "azure"
    path = write_notebook(
        lab,
        f"flow_{flow}.ipynb",
        "import rt_widget as rt\nfrom rt_widget.providers import Azure, Beta, OpenAI\nemu = rt.Emulator()",
        f"s = rt.Realtime(provider={PROVIDERS[flow]}, output_modalities='text', turn_detection=None, "
        f"sideband={sideband})\ns",
    )
    kernel = open_and_run(page, lab, path)
    try:
        expect(page.locator(".rt-connect")).to_be_visible()
        page.locator(".rt-connect").click()
        assert kernel.wait_until("s.status == 'connected' and s.call_id")
        expect(page.locator(".rt-status")).to_contain_text("Connected")

        kernel.execute("s.say('hello there')")
        done = kernel.wait_until(
            "[e['event'] for e in s.events if e['type'] == 'response.output_text.done']", timeout=30
        )
        assert done[0]["text"].startswith("Hello! I am the local emulator")
        types = kernel.eval("s.events.types")
        assert "conversation.item.added" in types  # GA names, even from the beta flow
        assert not {"response.text.delta", "conversation.item.created"} & set(types)
        calls = kernel.eval("sorted({e['call_id'] for e in s.events if e['call_id']})")
        assert calls == [kernel.eval("s.call_id")]
        if sideband:
            assert "response.done" in types  # withheld from the browser, seen by the sideband
    finally:
        kernel.execute("s.hangup(); emu.stop()")
        kernel.close()
    assert page_log.errors == [], page_log.text()
