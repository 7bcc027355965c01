"""10,000 events sent by the emulator within one second all reach the kernel, in order."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.lab import LabServer
from tests.browser.notebook import open_and_run, write_notebook

COUNT = 10_000


def test_burst_arrives_complete_and_in_order(page: Page, lab: LabServer):
    path = write_notebook(
        lab,
        "burst.ipynb",
        "import rt_widget as rt\nfrom rt_widget.providers import Local\nemu = rt.Emulator()",
        "s = rt.Realtime(provider=Local(emu), turn_detection=None)\ns",
    )
    kernel = open_and_run(page, lab, path)
    try:
        expect(page.locator(".rt-connect")).to_be_visible()
        page.locator(".rt-connect").click()
        kernel.wait_until("s.status == 'connected'")
        kernel.execute(f"emu.burst(s.call_id, {COUNT}, seconds=1.0)")
        # The browser samples getStats() every second; they arrive in Python as a DataFrame.
        stats = kernel.wait_until("len(s.stats) >= 2 and s.stats.to_dict('records')", timeout=20)
        assert stats[-1]["codec"] == "audio/opus"
        assert stats[-1]["packets_received"] > 0
        assert stats[-1]["rtt_s"] >= 0
        assert stats[-1]["call_id"] == kernel.eval("s.call_id")
        kernel.wait_until(f"len(s.events.of_type('rate_limits.updated')) >= {COUNT}", timeout=120)
        summary = kernel.eval(
            "(lambda ev: {'n': len(ev), 'remaining': [e['event']['rate_limits'][0]['remaining'] for e in ev], "
            "'seq': [e['seq'] for e in ev], 'ids': len({e['event']['event_id'] for e in ev})})"
            "([e for e in s.events if e['type'] == 'rate_limits.updated'])"
        )
        assert summary["n"] == COUNT
        assert summary["ids"] == COUNT
        assert summary["remaining"] == list(range(COUNT - 1, -1, -1))
        assert summary["seq"] == sorted(summary["seq"])
        assert len(set(summary["seq"])) == COUNT
    finally:
        kernel.execute("s.hangup(); emu.stop()")
        kernel.close()
