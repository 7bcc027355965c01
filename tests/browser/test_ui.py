"""Every control of the widget, driven in a real JupyterLab, checked where it lands: the kernel.

Also: push-to-talk with the fake microphone saying "hello there", the 50,000-event log, the
compact layout, and the README's screenshots (light and dark, during a conversation): into the
ignored build/screenshots/, or over docs/widget-*.png with RT_WIDGET_UPDATE_SCREENSHOTS=1
(what `bash scripts/screenshots.sh` does).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.browser.conftest import PageLog
from tests.browser.lab import KernelProbe, LabServer
from tests.browser.mic import browser_hearing, speech_wav
from tests.browser.notebook import open_and_run, write_notebook

ROOT = Path(__file__).resolve().parents[2]


def screenshot_folder() -> Path:
    """docs/ only when asked: a test run must not rewrite the README's tracked images."""
    if os.environ.get("RT_WIDGET_UPDATE_SCREENSHOTS") == "1":
        return ROOT / "docs"
    return ROOT / "build" / "screenshots"


def events_of(kernel: KernelProbe, type_: str) -> list[dict]:
    return kernel.eval(f"[e['event'] for e in s.events if e['type'] == {type_!r}]")


def client_events(kernel: KernelProbe) -> list[str]:
    return kernel.eval("[e['type'] for e in s.events if e['direction'] == 'client']")


def connect(page: Page, lab: LabServer, name: str, session: str, setup: str = "") -> KernelProbe:
    path = write_notebook(lab, name, f"import rt_widget as rt\n{setup}", f"s = rt.Realtime({session})\ns")
    kernel = open_and_run(page, lab, path)
    page.get_by_role("button", name="Connect to the realtime model").click()
    assert kernel.wait_until("s.status == 'connected'")
    return kernel


def test_controls_reach_the_kernel(page: Page, page_log: PageLog, lab: LabServer):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    kernel = connect(page, lab, "ui_controls.ipynb", "provider='emulator', turn_detection=None")
    try:
        expect(page.locator(".rt-duration")).to_have_text("0:01", timeout=5_000)  # the call's clock runs

        mute = page.get_by_role("button", name="Mute the microphone")
        mute.click()
        assert kernel.wait_until("s.muted")
        expect(page.get_by_role("button", name="Unmute the microphone")).to_have_attribute("aria-pressed", "true")
        page.get_by_role("button", name="Unmute the microphone").click()
        assert kernel.wait_until("not s.muted")

        page.get_by_label("Model voice volume").fill("0.4")
        assert kernel.wait_until("s.volume == 0.4")
        kernel.execute("s.volume = 0.8")
        expect(page.get_by_label("Model voice volume")).to_have_value("0.8")

        # Interrupt a spoken reply: response.cancel, then output_audio_buffer.clear.
        kernel.execute("s.say('tell me a joke')")
        expect(page.locator(".rt-line.rt-assistant.rt-live")).to_have_count(1)
        # Once the model has begun to speak (its first words are in the transcript), not before.
        assert kernel.wait_until("'response.output_audio_transcript.delta' in s.events.types")
        page.get_by_role("button", name="Interrupt the model").click()
        assert kernel.wait_until("len(s.events.filter(type='response.done')) == 1")
        assert events_of(kernel, "response.done")[0]["response"]["status"] == "cancelled"
        sent = client_events(kernel)
        assert sent[-2:] == ["response.cancel", "output_audio_buffer.clear"]
        expect(page.locator(".rt-line.rt-assistant .rt-tag")).to_have_text("interrupted")
        expect(page.locator(".rt-line.rt-user")).to_have_text("Youtell me a joke")

        presenter = page.get_by_role("button", name="Presenter")
        presenter.click()
        assert kernel.wait_until("s.presenter")
        expect(page.locator(".rt-widget")).to_have_class("rt-widget rt-presenter")
        kernel.execute("s.presenter = False")
        expect(presenter).to_have_attribute("aria-pressed", "false")

        # The microphone picker: switch during the call, remembered for the next page load.
        picker = page.get_by_label("Microphone", exact=True)
        picker.focus()
        expect(picker.locator("option")).not_to_have_count(1)
        choice = picker.locator("option").nth(1).get_attribute("value")
        picker.select_option(choice)
        assert page.evaluate("localStorage.getItem('rt-widget.microphone')") == choice
        kernel.execute("s.say('hello')")
        assert kernel.wait_until("len(s.events.filter(type='response.done')) == 2")  # the call goes on
        assert kernel.eval("[s.status, s.error]") == ["connected", ""]

        # The event log: filter, select, fold.
        page.locator(".rt-log summary").click()
        page.get_by_label("Filter events").fill("response.cancel")
        rows = page.locator(".rt-log-row")
        expect(rows).to_have_count(1)
        rows.first.click()
        expect(page.get_by_label("Selected event")).to_contain_text('"type": "response.cancel"')
        page.get_by_label("Filter events").fill("")
        total = len(kernel.eval("s.events.types"))
        expect(page.locator(".rt-log summary")).to_contain_text(f"({total})")
        page.get_by_label("Fold deltas").check()
        expect(page.locator(".rt-log summary")).to_contain_text(f"of {total})")
        page.get_by_label("Filter events").fill("transcript.delta")  # the reply's words, folded per item
        expect(rows).to_have_count(2)
        expect(rows.last.locator(".rt-log-fold-count")).to_have_text(re.compile(r"\u00d7\d+"))  # "x" and a count

        page.get_by_role("button", name="Hang up the call").click()
        assert kernel.wait_until("s.status == 'closed'")
    finally:
        kernel.close()

    # Another notebook, another kernel, another widget: the same microphone is chosen.
    again = open_and_run(page, lab, write_notebook(lab, "ui_again.ipynb", "import rt_widget as rt\nrt.Realtime()"))
    again.close()
    expect(page.get_by_label("Microphone", exact=True)).to_have_value(choice or "")
    local = ("data:", "blob:http://127.0.0.1:")
    elsewhere = [url for url in requested if urlparse(url).hostname != "127.0.0.1" and not url.startswith(local)]
    assert elsewhere == []  # no fonts, CDNs or anything else from the network
    assert page_log.errors == [], page_log.text()


@pytest.fixture(scope="module")
def browser_saying_hello(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    wav = speech_wav(tmp_path_factory.mktemp("mic") / "hello.wav", "hello there", lead_s=2.0)
    yield from browser_hearing(playwright, wav)


def test_push_to_talk_makes_a_turn_and_gets_a_reply(browser_saying_hello: Browser, lab: LabServer):
    context = browser_saying_hello.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    log = PageLog(page)
    session = "provider='emulator', transcription='gpt-4o-mini-transcribe', turn_detection=None"
    kernel = connect(page, lab, "ui_ptt.ipynb", session)
    try:
        talk = page.get_by_role("button", name="Hold to talk (or hold the space bar)")
        talk.hover()
        page.mouse.down()  # the fake microphone starts speaking 2 s after the call opened it
        expect(talk).to_have_attribute("aria-pressed", "true")
        page.wait_for_timeout(4_000)
        page.mouse.up()
        heard = kernel.wait_until(
            "[e['event']['transcript'] for e in s.events "
            "if e['type'] == 'conversation.item.input_audio_transcription.completed']"
        )
        assert heard == ["hello there"]
        assert client_events(kernel) == ["input_audio_buffer.clear", "input_audio_buffer.commit", "response.create"]
        reply = kernel.wait_until(
            "[e['event'] for e in s.events if e['type'] == 'response.output_audio_transcript.done']"
        )
        assert reply[0]["transcript"].startswith("Hello! I am the local emulator")
        expect(page.locator(".rt-line.rt-user")).to_have_text("Youhello there")

        # The space bar does the same while the widget has focus.
        talk.focus()
        page.keyboard.down("Space")
        expect(talk).to_have_attribute("aria-pressed", "true")
        page.wait_for_timeout(300)
        page.keyboard.up("Space")
        kernel.wait_until("len([e for e in s.events if e['direction'] == 'client']) == 6")
        assert client_events(kernel)[3:] == ["input_audio_buffer.clear", "input_audio_buffer.commit", "response.create"]
    finally:
        kernel.execute("s.hangup()")
        kernel.close()
        context.close()
    assert log.errors == [], log.text()


def test_the_event_log_stays_light_with_50000_events(page: Page, page_log: PageLog, lab: LabServer):
    kernel = connect(
        page, lab, "ui_burst.ipynb", "provider=rt.providers.Local(emu), turn_detection=None", "emu = rt.Emulator()"
    )
    try:
        kernel.execute("emu.burst(s.call_id, 50_000, 2)")
        summary = page.locator(".rt-log summary")
        expect(summary).to_contain_text("(50001)", timeout=60_000)  # session.created + the burst
        summary.click()
        rows = page.locator(".rt-log-row")
        expect(rows.last).to_be_visible()
        assert rows.count() < 80  # only the rows in view exist
        expect(rows.last).to_contain_text("rate_limits.updated")
        page.get_by_label("Events, newest last").focus()
        page.keyboard.press("Home")
        expect(page.locator(".rt-log-row[aria-selected=true]")).to_contain_text("session.created")
        expect(page.get_by_label("Selected event")).to_contain_text('"type": "session.created"')
    finally:
        kernel.execute("s.hangup(); emu.stop()")
        kernel.close()
    assert page_log.errors == [], page_log.text()


def test_narrow_cells_get_the_compact_layout(browser: Browser, lab: LabServer):
    context = browser.new_context(viewport={"width": 720, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        path = write_notebook(lab, "ui_narrow.ipynb", "import rt_widget as rt\ns = rt.Realtime()\ns")
        kernel = open_and_run(page, lab, path)
        expect(page.locator(".rt-widget")).to_have_class("rt-widget rt-compact")
        kernel.close()
    finally:
        context.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots_for_the_readme(page: Page, lab: LabServer, theme: str):
    if theme == "dark":
        page.goto(lab.notebook_url("notebooks/quickstart.ipynb"))
        change_theme(page, "JupyterLab Dark")
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    setup = '''
def get_weather(city: str) -> dict:
    """The weather in a city."""
    return {"city": city, "sky": "clear", "degrees": 21}
'''
    kernel = connect(
        page, lab, f"ui_{theme}.ipynb", "provider='emulator', turn_detection=None, tools=[get_weather]", setup
    )
    try:
        kernel.execute("s.mute()")
        kernel.execute("s.say('hello there')")
        kernel.wait_until("len(s.events.filter(type='response.output_audio_transcript.done')) == 1")
        kernel.execute("s.say('call get weather city=Oslo')")
        kernel.wait_until("len(s.events.filter(type='response.output_audio_transcript.done')) == 2", timeout=30)
        kernel.execute("s.say('tell me a joke')")
        expect(page.locator(".rt-line.rt-assistant.rt-live")).to_have_count(1)
        page.locator(".rt-log summary").click()
        page.get_by_label("Filter events").fill("response.")
        page.locator(".rt-log-row").nth(3).click()
        shot = screenshot_folder() / f"widget-{theme}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.locator(".jp-OutputArea-output").filter(has=page.locator(".rt-widget")).screenshot(path=shot)
        assert shot.stat().st_size > 20_000
    finally:
        kernel.execute("s.hangup()")
        kernel.close()
        if theme == "dark":
            page.evaluate(
                "() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
            )


def change_theme(page: Page, theme: str) -> None:
    page.wait_for_function("() => window.jupyterapp?.commands?.hasCommand('apputils:change-theme')")
    page.evaluate(f"() => window.jupyterapp.commands.execute('apputils:change-theme', {{theme: {theme!r}}})")


def test_the_classroom_notebook_runs_in_presenter_mode(page: Page, page_log: PageLog, lab: LabServer):
    notebook = nbformat.read(lab.root / "notebooks" / "classroom.ipynb", as_version=4)
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    kernel = open_and_run(page, lab, "notebooks/classroom.ipynb")  # stops at the first s.say: not connected yet
    try:
        expect(page.locator(".rt-widget")).to_have_class("rt-widget rt-presenter")
        expect(page.locator(".rt-log")).to_be_hidden()
        kernel.execute("s.mute()")  # Chromium's fake microphone beeps; the room would be talking here
        page.get_by_role("button", name="Connect to the realtime model").click()
        assert kernel.wait_until("s.status == 'connected'")
        done = "len(s.events.filter(type='response.done'))"
        for source in code[next(i for i, c in enumerate(code) if c.startswith("s.say")) :]:
            if source == "s.interrupt()":
                kernel.wait_until("s._active_response")  # the haiku is being spoken
            kernel.execute(source)
            if "joke" in source or source == "s.interrupt()":
                kernel.wait_until(f"{done} == {1 if 'joke' in source else 2}")
        statuses = kernel.eval("[e['event']['response']['status'] for e in s.events if e['type'] == 'response.done']")
        assert statuses == ["completed", "cancelled"]
        assert kernel.wait_until("s.status == 'closed'")  # the last cell hung up
        assert kernel.eval("s.config.speed") == 1.4
        expect(page.locator(".rt-presenter .rt-line.rt-assistant").first).to_contain_text("Why did the packet")
    finally:
        kernel.close()
    assert page_log.errors == [], page_log.text()
