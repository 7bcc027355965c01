"""The conversation traits in a real notebook: ipywidgets linked to them update in the page.

A Label is ``dlink``ed to ``s.caption`` (and one to ``s.status``); while a cell runs (the
kernel is busy) the model's reply arrives over the loopback link, the throttled trait changes
on its own thread, and the label in the page shows the reply before the cell ends.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.lab import LabServer
from tests.browser.notebook import open_and_run, write_notebook

BUSY_S = 8
"""How long the cell that asks for the reply keeps the kernel busy."""


def test_a_label_linked_to_a_trait_updates_during_a_call(page: Page, lab: LabServer):
    path = write_notebook(
        lab,
        "traits.ipynb",
        "import time\nimport ipywidgets as widgets\nimport rt_widget as rt\nfrom rt_widget.providers import Local\n"
        "emu = rt.Emulator()",
        "s = rt.Realtime(provider=Local(emu), output_modalities='text', turn_detection=None)\n"
        "status = widgets.Label('')\nstatus.add_class('linked-status')\n"
        "caption = widgets.Label('no reply yet')\ncaption.add_class('linked-caption')\n"
        "widgets.dlink((s, 'status'), (status, 'value'))\n"
        "widgets.dlink((s, 'caption'), (caption, 'value'), lambda c: c['text'] or 'no reply yet')\n"
        "widgets.VBox([s, status, caption])",
    )
    kernel = open_and_run(page, lab, path)
    caption = page.locator(".linked-caption")
    try:
        expect(caption).to_have_text("no reply yet")
        page.locator(".rt-connect").click()
        kernel.wait_until("s.status == 'connected' and s._linked()")
        expect(page.locator(".linked-status")).to_have_text("connected")

        # A cell asks for a reply and stays busy: the label must change before it ends.
        msg_id = kernel.client.execute(f"s.say('Say hello.'); time.sleep({BUSY_S})", silent=True)
        expect(caption).not_to_have_text("no reply yet", timeout=(BUSY_S - 1) * 1000)
        busy = page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status")
        assert busy == "busy", "the label changed only after the cell ended"
        reply = kernel.client.get_shell_msg(timeout=BUSY_S + 30)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kernel.client.get_shell_msg(timeout=BUSY_S + 30)
        assert reply["content"]["status"] == "ok"

        # The label ends on the reply's text (the throttle delivers the last value).
        said = kernel.wait_until("s.events.of_type('response.done') and list(s.transcript()['text'])[-1]")
        expect(caption).to_have_text(said)
        assert kernel.eval("s.caption") == {"role": "assistant", "text": said}
        kernel.wait_until("s.event_count == len(s.events)", timeout=5)
    finally:
        kernel.execute("s.hangup(); emu.stop()")
        kernel.close()
