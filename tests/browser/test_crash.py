"""Kill the kernel mid-session with autosave on: the saved log keeps every flushed event."""

from __future__ import annotations

import os
import signal
import time

from playwright.sync_api import Page, expect

from rt_widget import EventLog
from tests.browser.lab import LabServer
from tests.browser.notebook import open_and_run, write_notebook


def test_kernel_crash_loses_at_most_one_batch(page: Page, lab: LabServer):
    saved = lab.root / "notebooks" / "crash.jsonl"
    path = write_notebook(
        lab,
        "crash.ipynb",
        "import rt_widget as rt\nfrom rt_widget.providers import Local\nemu = rt.Emulator()",
        f"s = rt.Realtime(provider=Local(emu), turn_detection=None, autosave={str(saved)!r})\ns",
    )
    kernel = open_and_run(page, lab, path)
    expect(page.locator(".rt-connect")).to_be_visible()
    page.locator(".rt-connect").click()
    kernel.wait_until("s.status == 'connected'")
    pid = kernel.eval("__import__('os').getpid()")
    # A long burst in the emulator's own thread; the kernel dies while it is under way.
    kernel.execute("import threading; threading.Thread(target=emu.burst, args=(s.call_id, 20000, 4.0)).start()")
    logged = kernel.wait_until("len(s.events) > 3000 and len(s.events)", timeout=60)
    os.kill(pid, signal.SIGKILL)
    kernel.close()
    time.sleep(0.5)

    records = list(EventLog.load(saved))
    assert len(records) >= logged  # everything the kernel had logged was flushed
    assert len(records) < 20_000  # the crash really came mid-session
    seqs = [r["seq"] for r in records]
    assert seqs == list(range(len(seqs)))  # a gapless prefix, in order
    remaining = [r["event"]["rate_limits"][0]["remaining"] for r in records if r["type"] == "rate_limits.updated"]
    assert remaining == list(range(19_999, 19_999 - len(remaining), -1))
