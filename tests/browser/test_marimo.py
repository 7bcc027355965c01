"""The widget in marimo: ``marimo run`` of an app wrapping it, driven in Chromium, the emulator in the kernel.

The app's cells: the widget (through ``mo.ui.anywidget``), a button that sends a text turn from
Python, a cell that reads the session and must rerun as replies arrive (marimo reruns the
cells that read a widget only for changes made in its page: rt-widget's page echoes the
kernel's), and a run button whose cell awaits ``wait_for``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageLog
from tests.browser.lab import free_port

APP = """
import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo

    import rt_widget as rt

    s = rt.Realtime(provider="emulator", output_modalities="text", turn_detection=None)
    w = mo.ui.anywidget(s)
    w
    return mo, s, w


@app.cell
def _(mo, s):
    say = mo.ui.button(label="Say hello", on_change=lambda _: s.say("hello there"))
    say
    return


@app.cell
def _(mo, s, w):
    replies = [e["response"] for e in s.events.of_type("response.done")]
    texts = [c["text"] for r in replies for o in r["output"] for c in o.get("content", []) if "text" in c]
    mo.md(f"replies: {len(replies)}, events: {w.value['event_count']}, last: {texts[-1] if texts else '-'}")
    return


@app.cell
def _(mo):
    ask = mo.ui.run_button(label="Ask and wait")
    ask
    return (ask,)


@app.cell
async def _(ask, mo, s):
    mo.stop(not ask.value, mo.md("not asked yet"))
    s.say("thank you")
    done = await s.wait_for("response.done", timeout=20)
    mo.md(f"waited: {done['response']['status']}")
    return


if __name__ == "__main__":
    app.run()
"""


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``marimo run`` serving the app on loopback; its URL."""
    folder = tmp_path_factory.mktemp("marimo")
    app = folder / "app.py"
    app.write_text(textwrap.dedent(APP).lstrip())
    port = free_port()
    log = (folder / "marimo.log").open("w")
    marimo = Path(sys.executable).with_name("marimo")
    command = [str(marimo), "run", str(app), "--headless", "--host", "127.0.0.1", "--port", str(port), "--no-token"]
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, (folder / "marimo.log").read_text()
            assert time.monotonic() < deadline, "marimo did not start within 60 s"
            time.sleep(0.25)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_a_marimo_app_connects_turns_reruns_and_waits(page: Page, page_log: PageLog, marimo_app: str):
    page.goto(marimo_app)
    status = page.locator(".rt-status")
    expect(status).to_contain_text("Not connected", timeout=60_000)  # the widget rendered
    expect(page.get_by_text("replies: 0")).to_be_visible()
    page.locator(".rt-connect").click()
    expect(status).to_contain_text("Connected")

    # A text turn from Python (the button's handler runs in the kernel); the cell that reads
    # the session reruns when the reply is in, without anything clicked in it.
    page.get_by_role("button", name="Say hello").click()
    expect(page.get_by_text("replies: 1")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("last: Hello! I am the local emulator", exact=False)).to_be_visible()
    expect(page.locator(".rt-transcript .rt-user").first).to_contain_text("hello there")

    # A cell awaits wait_for while the page carries the call.
    expect(page.get_by_text("not asked yet")).to_be_visible()
    page.get_by_role("button", name="Ask and wait").click()
    expect(page.get_by_text("waited: completed")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("replies: 2")).to_be_visible(timeout=30_000)

    page.locator(".rt-connect").click()  # hang up
    expect(status).to_contain_text("Call ended")
    assert page_log.errors == [], page_log.text()
