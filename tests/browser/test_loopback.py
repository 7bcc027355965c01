"""The loopback link in a real JupyterLab and Chromium: events reach a running cell, a broken
link loses nothing, and a reloaded page goes on logging."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, expect

from tests.browser.conftest import PageLog
from tests.browser.lab import KernelProbe, LabServer
from tests.browser.notebook import open_and_run, write_notebook

COUNT = 10_000
ORDERED = "(lambda ev: [e['event']['rate_limits'][0]['remaining'] for e in ev])(s.events.filter('rate_limits.updated'))"


@contextmanager
def call(page: Page, lab: LabServer, name: str) -> Iterator[KernelProbe]:
    """A notebook whose widget is connected to an emulator in the kernel (no sideband)."""
    path = write_notebook(
        lab,
        name,
        "import rt_widget as rt\nfrom rt_widget.providers import Local\nemu = rt.Emulator()",
        "s = rt.Realtime(provider=Local(emu), output_modalities='text', turn_detection=None)\ns",
    )
    kernel = open_and_run(page, lab, path)
    try:
        page.locator(".rt-connect").click()
        kernel.wait_until("s.status == 'connected' and s._linked()")
        yield kernel
    finally:
        kernel.execute("s.hangup(); emu.stop()")
        kernel.close()


def test_events_reach_a_cell_while_it_runs(page: Page, page_log: PageLog, lab: LabServer):
    with call(page, lab, "running_cell.ipynb") as kernel:
        # A busy cell: over the comm, no event could arrive before it ends.
        kernel.execute(
            "import time\ns.say('hello there')\nstart = time.monotonic()\n"
            "while not s.events.of_type('response.done') and time.monotonic() - start < 20:\n"
            "    time.sleep(0.01)\n"
            "seen_while_running = bool(s.events.of_type('response.done'))"
        )
        assert kernel.eval("seen_while_running")
        # And awaiting, without the sideband.
        kernel.execute("s.say('hello again')\ndone = await s.wait_for('response.done', timeout=20)")
        assert kernel.eval("done['response']['status']") == "completed"
    assert page_log.errors == [], page_log.text()


def test_nothing_is_lost_when_the_link_breaks_mid_burst(page: Page, lab: LabServer):
    with call(page, lab, "link_breaks.ipynb") as kernel:
        kernel.execute(
            "import threading\nfrom rt_widget.loopback import loopback_server\n"
            "threading.Timer(0.4, loopback_server().close).start()\n"
            f"emu.burst(s.call_id, {COUNT}, seconds=1.0)"
        )
        kernel.wait_until(f"len(s.events.of_type('rate_limits.updated')) >= {COUNT}", timeout=60)
        assert kernel.eval(ORDERED) == list(range(COUNT - 1, -1, -1))
        assert not kernel.eval("s._linked()")
        # The call goes on over the comm: commands too.
        kernel.execute("s.say('still there?')")
        kernel.wait_until("s.events.of_type('response.done')", timeout=30)


def test_a_reloaded_page_goes_on_logging(page: Page, lab: LabServer):
    with call(page, lab, "reload.ipynb") as kernel:
        kernel.execute("s.say('before')")
        kernel.wait_until("len(s.events.of_type('response.done')) == 1", timeout=30)
        first_call = kernel.eval("s.call_id")
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
        page.reload()
        expect(page.locator(".rt-connect")).to_be_visible(timeout=60_000)
        # The old page's call ended with it; the new page numbers its events from 0 again.
        page.locator(".rt-connect").click()
        kernel.wait_until(f"s.status == 'connected' and s.call_id != {first_call!r}")
        kernel.execute("s.say('after')")
        kernel.wait_until("len(s.events.of_type('response.done')) == 2", timeout=30)
        calls = kernel.eval("list(dict.fromkeys(e['call_id'] for e in s.events if e['call_id']))")
        assert calls == [first_call, kernel.eval("s.call_id")]
