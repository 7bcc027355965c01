"""Tool round-trip overhead: from a call's arguments being complete in the browser to the
``function_call_output`` leaving on the data channel, minus the function's own time. Prints
a table. Target: p50 < 20 ms.

Run it in a loopback-only network namespace (as the tests do):

    unshare -n sh -c 'ip link set lo up && .venv/bin/python benchmarks/tools_bench.py'

Both ends are browser clock readings from the event log: the receive time of
``response.function_call_arguments.done`` and the send time of the ``conversation.item.create``
that carries the output. Between them: the batch to the kernel (over the loopback link), the
dispatcher, a worker thread running the function, and the command back to the browser. One
call at a time; the emulator is the embedded default.

Each turn is started three ways. "In the conversation": ``s.say`` from a timer thread while
no cell runs, as when the user speaks. "From a cell": ``s.say`` in a running cell, as a user
typing; the emulator's scripted model calls the tool within milliseconds, just when
JupyterLab redraws its busy/idle indicators on the page's main thread, and the output waits
for that. "From a cell, slow model": the same with the emulator thinking 300 ms before it
answers (``Faults.slow_response_s``), as a real model does.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.lab import jupyter_lab
from tests.browser.notebook import open_and_run, write_notebook

CALLS = 60  # per way of starting the turn
# How each turn starts, and what the emulator's model does first.
MODES = {
    "in the conversation": ("", "import threading; threading.Timer(0.2, s.say, args=({text!r},)).start()"),
    "from a cell": ("", "s.say({text!r})"),
    "from a cell, slow model": ("emu.call(s.call_id).faults.slow_response_s = 0.3", "s.say({text!r})"),
}
SETUP = '''
import rt_widget as rt
from rt_widget.providers import Local

def ping(n: int) -> dict:
    """Answers at once."""
    return {"pong": n}

def nap(n: int) -> dict:
    """Takes 50 ms."""
    import time
    time.sleep(0.05)
    return {"napped": n}

async def doze(n: int) -> dict:
    """Takes 50 ms without holding a thread."""
    import asyncio
    await asyncio.sleep(0.05)
    return {"dozed": n}

emu = rt.Emulator()
s = rt.Realtime(provider=Local(emu), output_modalities="text", turn_detection=None, tools=[ping, nap, doze])
s
'''
OVERHEADS = """
done = {
    e["event"]["call_id"]: (e["t_browser"], e["t_kernel"])
    for e in s.events
    if e["type"] == "response.function_call_arguments.done"
}
out = {
    e["event"]["item"]["call_id"]: e["t_browser"]
    for e in s.events
    if e["type"] == "conversation.item.create" and e["event"]["item"]["type"] == "function_call_output"
}
overheads = {}
for call in s.tool_calls.iloc[first:].itertuples():
    t_browser, t_kernel = done[call.call_id]
    total, up = out[call.call_id] - t_browser - call.seconds, t_kernel - t_browser
    overheads.setdefault(call.name, []).append((total * 1000, up * 1000))
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmpdir, jupyter_lab(Path(tmpdir)) as lab, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(60_000)
        kernel = open_and_run(page, lab, write_notebook(lab, "tools_bench.ipynb", SETUP))
        page.locator(".rt-connect").click()
        kernel.wait_until("s.status == 'connected'")
        results = {}
        for mode, (setup, start) in MODES.items():
            kernel.execute(f"first = len(s.tool_calls)\n{setup}")
            for i in range(CALLS):
                name = ("ping", "nap", "doze")[i % 3]
                turns = kernel.eval("len(s.events.filter(type='response.output_text.done'))")
                kernel.execute(start.format(text=f"call {name} n={i}"))
                time.sleep(0.6)  # let the turn finish before polling (each poll makes the kernel busy)
                kernel.wait_until(f"len(s.events.filter(type='response.output_text.done')) > {turns}", timeout=30)
            kernel.execute(OVERHEADS)
            results[mode] = kernel.eval("overheads")
        kernel.execute("s.hangup()")
        kernel.close()
        browser.close()

    print("\nTool round trip, arguments done in the browser -> output on the data channel,")
    print("minus the function's own time (ping answers at once; nap and doze take 50 ms)")
    header = ("turn started", "tool", "calls", "p50 ms", "p90 ms", "max ms", "p50 to kernel")
    print("  {:<24} {:<6} {:>6} {:>8} {:>8} {:>8} {:>14}".format(*header))
    for mode, overheads in results.items():
        for name, pairs in sorted(overheads.items()):
            values = sorted(total for total, _ in pairs)
            up = statistics.median(u for _, u in pairs)
            p90 = values[int(0.9 * (len(values) - 1))]
            p50 = statistics.median(values)
            print(f"  {mode:<24} {name:<6} {len(values):>6} {p50:>8.2f} {p90:>8.2f} {values[-1]:>8.2f} {up:>14.2f}")
    print("  target: p50 < 20 ms")


if __name__ == "__main__":
    main()
