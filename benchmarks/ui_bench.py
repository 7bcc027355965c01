"""The widget's weight and its rendering with 50,000 events in the log. Prints a table.

Run it after building the front end (scripts/test.sh does), in a loopback-only namespace:

    unshare -n sh -c 'ip link set lo up && .venv/bin/python benchmarks/ui_bench.py'

1. Bundle size: rt_widget/static/widget.js and widget.css, minified and gzipped.
   Target: at most 100 KB minified.
2. With 50,000 events in the log (an emulator burst, in JupyterLab and Chromium): the time
   to open the log panel, to jump to the middle of the list, and to filter all events by
   text (and clear the filter), each until the next frame is painted.
"""

from __future__ import annotations

import gzip
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Page, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.lab import jupyter_lab
from tests.browser.notebook import open_and_run, write_notebook

ROOT = Path(__file__).resolve().parents[1]
EVENTS = 50_000
RUNS = 5

# Runs `action` (JS source acting on `log`, the first widget's log panel) and resolves after
# two animation frames, i.e. once the result has been painted.
TIMED = """async (action) => {
  const log = document.querySelector(".rt-log");
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const start = performance.now();
  new Function("log", action)(log);
  await frame(); await frame();
  return performance.now() - start;
}"""
ACTIONS = {
    "open the log panel": "log.open = true;",
    "jump to the middle": (
        "const rows = log.querySelector('.rt-log-rows');"
        "rows.scrollTop = rows.scrollHeight / 2; rows.dispatchEvent(new Event('scroll'));"
    ),
    "filter all events by text": (
        "const input = log.querySelector('.rt-log-filter'); input.value = 'remaining\": 25000';"
        "input.dispatchEvent(new Event('input'));"
    ),
    "clear the filter": (
        "const input = log.querySelector('.rt-log-filter'); input.value = '';input.dispatchEvent(new Event('input'));"
    ),
}


def bundle_sizes() -> list[tuple[str, int, int]]:
    sizes = []
    for name in ("widget.js", "widget.css"):
        data = (ROOT / "rt_widget" / "static" / name).read_bytes()
        sizes.append((name, len(data), len(gzip.compress(data, 9))))
    return sizes


def measure(page: Page) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in ACTIONS}
    for _ in range(RUNS):
        page.evaluate("() => { document.querySelector('.rt-log').open = false; }")
        page.wait_for_timeout(100)
        for name, action in ACTIONS.items():
            times[name].append(page.evaluate(TIMED, action))
            page.wait_for_timeout(50)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmpdir, jupyter_lab(Path(tmpdir)) as lab, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(120_000)
        setup = "import rt_widget as rt\nfrom rt_widget.providers import Local\nemu = rt.Emulator()"
        path = write_notebook(
            lab, "ui_bench.ipynb", setup, "s = rt.Realtime(provider=Local(emu), turn_detection=None)\ns"
        )
        kernel = open_and_run(page, lab, path)
        page.locator(".rt-connect").click()
        kernel.wait_until("s.status == 'connected'")
        kernel.execute(f"emu.burst(s.call_id, {EVENTS}, 3)")
        page.locator(".rt-log summary").filter(has_text=f"({EVENTS + 1})").wait_for()
        times = measure(page)

        kernel.execute("s.hangup(); emu.stop()")
        kernel.close()
        browser.close()

    print("\nJS bundle (rt_widget/static)")
    print(f"  {'file':<12} {'minified':>10} {'gzipped':>10}")
    for name, raw, packed in bundle_sizes():
        print(f"  {name:<12} {raw / 1024:>8.1f} KB {packed / 1024:>7.1f} KB")
    print("  target: widget.js at most 100 KB minified")
    print(f"\nWith {EVENTS:,} events in the log: until painted (median and max of {RUNS})")
    for name, values in times.items():
        print(f"  {name:<28} {statistics.median(values):>8.1f} ms {max(values):>8.1f} ms")


if __name__ == "__main__":
    main()
