"""Session benchmarks: connect time, event latency, sustained event rate. Prints a table.

Run it in a loopback-only network namespace (as the tests do):

    unshare -n sh -c 'ip link set lo up && .venv/bin/python benchmarks/session_bench.py'

1. Connect time, click to data channel open: the widget in JupyterLab (unified flow, through
   the kernel) against a plain page doing the seed's direct flow (seeds/001, ephemeral key,
   the page posts its offer itself) on the same emulator. Target: widget <= 1.15 x plain.
   Also a GPT-Live session through the widget on the same emulator (``POST /v1/live/sessions``
   in place of ``/v1/realtime/calls``). Target: Live <= 1.15 x Realtime.
2. Latency from the browser receiving an event to the Python callback, at 50, 500 and 5,000
   events/s. Targets at 500/s: p50 < 5 ms, p99 < 30 ms.
3. The highest sustained rate (2 s bursts) with zero loss and order kept. Target >= 5,000/s.
4. The 500 events/s latency again with observers on every conversation trait and a Label
   ``dlink``ed to ``event_count`` (issue 17): it should match the plain row within noise.

The emulator runs in its own process (``rt-widget emulator``), as the real service would be
remote. Latency is also reported with the emulator embedded in the kernel (the no-key
default), where its Python WebRTC stack shares the kernel's interpreter, and with the loopback
link off (``loopback=False``), as for a browser on another machine, where events take
Jupyter's comm.
"""

from __future__ import annotations

import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Page, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.lab import KernelProbe, LabServer, jupyter_lab
from tests.browser.notebook import open_and_run, write_notebook

CONNECT_RUNS = 10
# Records the click (capturing, before the page's own handler) and the data channel opening.
TIMING = """
window.__t = {};
document.addEventListener("click", () => { window.__t.click = performance.now(); }, true);
const Native = window.RTCPeerConnection;
window.RTCPeerConnection = class extends Native {
  createDataChannel(...args) {
    const channel = super.createDataChannel(...args);
    channel.addEventListener("open", () => { window.__t.open = performance.now(); });
    return channel;
  }
};
"""
PLAIN_PAGE = """<!doctype html><html><body><button id="go">Connect</button><script type="module">
document.getElementById("go").onclick = async () => {
  const data = await (await fetch("/token")).json();
  const pc = new RTCPeerConnection();
  const audio = document.createElement("audio"); audio.autoplay = true;
  pc.ontrack = (e) => (audio.srcObject = e.streams[0]);
  const ms = await navigator.mediaDevices.getUserMedia({ audio: true });
  pc.addTrack(ms.getTracks()[0]);
  pc.createDataChannel("oai-events");
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const r = await fetch("{{OPENAI_BASE}}/realtime/calls", { method: "POST", body: offer.sdp,
    headers: { Authorization: `Bearer ${data.value}`, "Content-Type": "application/sdp" } });
  await pc.setRemoteDescription({ type: "answer", sdp: await r.text() });
};
</script></body></html>"""


def click_to_open(page: Page, selector: str) -> float:
    page.evaluate("() => { window.__t = {}; }")
    page.locator(selector).click()
    page.wait_for_function("() => window.__t.open !== undefined", timeout=30_000)
    return float(page.evaluate("() => window.__t.open - window.__t.click"))


def close_notebooks(page: Page) -> None:
    """Close every tab, so the next section's page draws only its own notebook."""
    page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
    page.wait_for_timeout(500)
    page.goto("about:blank")


def widget_connect_times(page: Page, kernel: KernelProbe) -> list[float]:
    times = []
    for _ in range(CONNECT_RUNS):
        times.append(click_to_open(page, ".rt-connect"))
        kernel.wait_until("s.status == 'connected'")
        page.locator(".rt-connect").click()  # hang up
        kernel.wait_until("s.status == 'closed'")
    return times


def live_connect_times(page: Page, lab: LabServer, emulator: SimpleNamespace) -> list[float]:
    """Click to data channel open for a GPT-Live session through the widget, on the same emulator."""
    close_notebooks(page)
    path = write_notebook(
        lab,
        "bench_live.ipynb",
        "import rt_widget as rt\nfrom rt_widget.providers import OpenAI",
        f"s = rt.Realtime(provider=OpenAI(api_key={emulator.api_key!r}, base_url={emulator.base_url!r}), "
        "model='gpt-live-1')\ns",
    )
    kernel = open_and_run(page, lab, path)
    try:
        page.locator(".rt-connect").wait_for()
        return widget_connect_times(page, kernel)
    finally:
        kernel.close()


def plain_connect_times(browser, emulator: SimpleNamespace, tmp: Path) -> list[float]:
    from tests.browser import seed_site

    (tmp / "plain.html").write_text(PLAIN_PAGE)
    seed_site.PAGES = tmp
    site = seed_site.SeedSite(emulator, "plain.html")  # type: ignore[arg-type]
    times = []
    try:
        for _ in range(CONNECT_RUNS):
            context = browser.new_context()
            context.add_init_script(TIMING)
            page = context.new_page()
            page.goto(site.url)
            times.append(click_to_open(page, "#go"))
            context.close()
    finally:
        site.close()
    return times


def burst(kernel: KernelProbe, emulator: SimpleNamespace | None, count: int, seconds: float) -> None:
    """Have the emulator send ``count`` events within ``seconds`` on the widget's call."""
    if emulator is None:  # embedded in the kernel
        kernel.execute(f"emu.burst(s.call_id, {count}, seconds={seconds})")
        return
    call_id = kernel.eval("s.call_id")
    response = httpx.post(
        f"http://127.0.0.1:{emulator.port}/emulator/calls/{call_id}/burst",
        json={"count": count, "seconds": seconds},
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=120,
    )
    response.raise_for_status()


def latency(
    kernel: KernelProbe, emulator: SimpleNamespace | None, rate: int, seconds: float = 2.0
) -> tuple[float, float, int]:
    count = int(rate * seconds)
    kernel.execute("lat.clear()")
    burst(kernel, emulator, count, seconds)
    kernel.wait_until(f"len(lat) >= {count}", timeout=120)
    values = sorted(kernel.eval("lat"))
    p50 = values[len(values) // 2] * 1000
    p99 = values[int(len(values) * 0.99) - 1] * 1000
    return p50, p99, len(values)


def latency_section(
    page: Page,
    lab: LabServer,
    label: str,
    setup: str,
    realtime: str,
    emulator: SimpleNamespace | None,
    teardown: str = "s.hangup()",
    rates: tuple[int, ...] = (50, 500, 5000),
) -> list[tuple[str, int, float, float, int]]:
    """A fresh notebook whose session ``s`` is made by ``realtime``: connect, measure each rate."""
    close_notebooks(page)
    path = write_notebook(lab, f"bench_{label.replace(' ', '_')}.ipynb", setup, f"{realtime}\n{SESSION_CELL}")
    kernel = open_and_run(page, lab, path)
    page.locator(".rt-connect").click()
    kernel.wait_until("s.status == 'connected'")
    rows = [(label, rate, *latency(kernel, emulator, rate)) for rate in rates]
    kernel.execute(teardown)
    kernel.close()
    return rows


def sustained(kernel: KernelProbe, emulator: SimpleNamespace, rate: int, seconds: float = 2.0) -> bool:
    count = int(rate * seconds)
    kernel.execute("order.clear()")
    burst(kernel, emulator, count, seconds)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and kernel.eval("len(order)") < count:
        time.sleep(0.2)
    got = kernel.eval("order")
    return got == list(range(count - 1, -1, -1))


def external_emulator() -> tuple[subprocess.Popen[str], SimpleNamespace]:
    key = "sk-bench-" + secrets.token_hex(8)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rt_widget._cli", "emulator", "--port", "0", "--api-key", key],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    base_url = proc.stdout.readline().split()[4]
    port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    return proc, SimpleNamespace(base_url=base_url, port=port, api_key=key)


SESSION_CELL = (
    "lat, order = [], []\n"
    "def on_event(e):\n    lat.append(time.time() - s.events[-1]['t_browser'])\n"
    "    order.append(e['rate_limits'][0]['remaining'])\n"
    "s.on('rate_limits.updated', on_event)\ns"
)

# Section 4 (issue 17): what a dashboard attaches to the conversation traits. The kernel-only ones
# change with every event, on the link's thread; the synced ones through the throttle.
OBSERVERS = (
    "import ipywidgets as widgets\n"
    "changes = []\n"
    "s.observe(lambda c: changes.append(c['name']), names=['last_event', 'transcript_rows', 'event_count', "
    "'active_response', 'cost_usd', 'caption'])\n"
    "count = widgets.Label()\n"
    "widgets.dlink((s, 'event_count'), (count, 'value'), str)"
)


def main() -> None:
    proc, emulator = external_emulator()
    with tempfile.TemporaryDirectory() as tmpdir, jupyter_lab(Path(tmpdir)) as lab, sync_playwright() as pw:
        tmp = Path(tmpdir)
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(TIMING)
        page = context.new_page()
        page.set_default_timeout(60_000)
        path = write_notebook(
            lab,
            "bench.ipynb",
            "import time\nimport rt_widget as rt\nfrom rt_widget.providers import Local, OpenAI",
            f"s = rt.Realtime(provider=OpenAI(api_key={emulator.api_key!r}, base_url={emulator.base_url!r}), "
            "turn_detection=None)\n" + SESSION_CELL,
        )
        kernel = open_and_run(page, lab, path)
        page.locator(".rt-connect").wait_for()
        widget = widget_connect_times(page, kernel)
        plain = plain_connect_times(browser, emulator, tmp)

        page.locator(".rt-connect").click()
        kernel.wait_until("s.status == 'connected'")
        rows = [("own process", rate, *latency(kernel, emulator, rate)) for rate in (50, 500, 5000)]
        best = 0
        for rate in (5_000, 10_000, 20_000, 40_000):
            if not sustained(kernel, emulator, rate):
                break
            best = rate
        kernel.execute("s.hangup()")
        kernel.close()
        live = live_connect_times(page, lab, emulator)

        # The same latency with the emulator embedded in the kernel (the no-key default), and
        # without the loopback link, as for a browser on another machine (Jupyter's comm).
        rows += latency_section(
            page,
            lab,
            "in the kernel",
            "import time\nimport rt_widget as rt\nfrom rt_widget.providers import Local\nemu = rt.Emulator()",
            "s = rt.Realtime(provider=Local(emu), turn_detection=None)",
            None,
            teardown="s.hangup(); emu.stop()",
        )
        rows += latency_section(
            page,
            lab,
            "comm only",
            "import time\nimport rt_widget as rt\nfrom rt_widget.providers import OpenAI",
            f"s = rt.Realtime(provider=OpenAI(api_key={emulator.api_key!r}, base_url={emulator.base_url!r}), "
            "turn_detection=None, loopback=False)",
            emulator,
        )
        rows += latency_section(
            page,
            lab,
            "observed",
            "import time\nimport rt_widget as rt\nfrom rt_widget.providers import OpenAI",
            f"s = rt.Realtime(provider=OpenAI(api_key={emulator.api_key!r}, base_url={emulator.base_url!r}), "
            f"turn_detection=None)\n{OBSERVERS}",
            emulator,
            rates=(500,),
        )
        browser.close()
    proc.terminate()

    w, p = statistics.median(widget), statistics.median(plain)
    print(f"\nConnect time, click to data channel open (median of {CONNECT_RUNS})")
    print(f"  {'widget (unified, via kernel)':34} {w:8.1f} ms")
    print(f"  {'plain page (seed direct flow)':34} {p:8.1f} ms")
    print(f"  {'ratio (target <= 1.15)':34} {w / p:8.2f}")
    g = statistics.median(live)
    print(f"  {'GPT-Live widget (same emulator)':34} {g:8.1f} ms")
    print(f"  {'GPT-Live / Realtime (target <= 1.15)':34} {g / w:8.2f}")
    print("\nEvent latency, browser receipt -> Python callback")
    print(f"  {'setup':>14} {'rate (ev/s)':>12} {'events':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for where, rate, p50, p99, n in rows:
        print(f"  {where:>14} {rate:>12} {n:>8} {p50:>8.2f} {p99:>8.2f}")
    print("  targets at 500 ev/s: p50 < 5 ms, p99 < 30 ms (comm only: a browser on another machine)")
    print("  observed: own process with observers on the conversation traits; same as own process within noise")
    print(f"\nHighest sustained rate with zero loss, order kept (2 s bursts): {best} ev/s (target >= 5000)")


if __name__ == "__main__":
    main()
