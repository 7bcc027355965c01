"""GPT-Live through the widget: JupyterLab, Chromium's fake microphone saying "hello there", the emulator.

The page makes the call as for Realtime; the kernel creates a GPT-Live session for its offer.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import PageLog
from tests.browser.lab import KEEP_LOGS, LabServer, lab_with_key, save_with_widgets
from tests.browser.notebook import open_and_run, write_notebook


def test_a_spoken_turn_on_gpt_live_through_the_widget(browser_saying_hello: Browser, lab: LabServer):
    context = browser_saying_hello.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    log = PageLog(page)
    path = write_notebook(
        lab, "live.ipynb", "import rt_widget as rt", "s = rt.Realtime(provider='emulator', model='gpt-live-1')\ns"
    )
    kernel = open_and_run(page, lab, path)
    try:
        page.locator(".rt-connect").click()
        assert kernel.wait_until("s.status == 'connected'")
        expect(page.locator(".rt-status")).to_contain_text("GPT-Live")
        heard = kernel.wait_until(
            "''.join(e['event']['delta'] for e in s.events if e['type'] == 'session.input_transcript.delta')"
            " if 'session.output_transcript.delta' in s.events.types else ''",
            timeout=45,
        )
        assert "hello there" in heard.lower()
        expect(page.locator(".rt-transcript .rt-user").first).to_contain_text("hello there")
        expect(page.locator(".rt-transcript .rt-assistant").first).not_to_be_empty()
        rows = kernel.eval("s.transcript()[['role', 'text']].values.tolist()")
        assert rows[0][0] == "user"
        assert "hello there" in rows[0][1].lower()
        assert kernel.eval("'session.started' in s.events.types")
    finally:
        kernel.execute("s.hangup()")
        kernel.close()
        context.close()
    assert log.errors == [], log.text()


SENTINEL = "sk-SENTINEL-LIVE-" + secrets.token_hex(12)

LIVE_CELLS = [
    KEEP_LOGS,
    "import os\nimport rt_widget as rt\nfrom rt_widget.gptlive.delegation import ResponsesDelegation\n"
    "from rt_widget.providers import OpenAI\n"
    "emu = rt.Emulator(api_key=os.environ['OPENAI_API_KEY'])\n"
    "def get_weather(city: str) -> dict:\n"
    "    '''The weather in a city.'''\n"
    "    return {'city': city, 'sky': 'sunny and 21 C'}",
    # The browser may only mute, unmute and close, and never sees the backend's events: the
    # tool's call reaches the kernel over the sideband alone, and its output goes back that way.
    "s = rt.Realtime(provider=OpenAI(base_url=emu.base_url), model='gpt-live-1', sideband=True,\n"
    "    delegation=ResponsesDelegation(model='gpt-5.5', tools=(get_weather,), tool_choice='required'),\n"
    "    data_channel={'allowed_client_events': ['session.input_audio.mute', 'session.input_audio.unmute',\n"
    "                                            'session.close'],\n"
    "                  'allowed_server_events': ['session.started', 'session.input_transcript.delta',\n"
    "                                            'session.output_transcript.delta', 'session.closed']})\ns",
]


@pytest.fixture(scope="module")
def sentinel_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    with lab_with_key(tmp_path_factory.mktemp("live-lab"), SENTINEL) as server:
        yield server


def test_a_live_tool_over_the_sideband_with_no_key_in_the_browser(
    browser_saying_hello: Browser, sentinel_lab: LabServer
):
    context = browser_saying_hello.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    log = PageLog(page)
    frames: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda p: frames.append(p if isinstance(p, str) else p.decode("latin-1"))),
    )
    path = write_notebook(sentinel_lab, "live_tool.ipynb", *LIVE_CELLS)
    kernel = open_and_run(page, sentinel_lab, path)
    try:
        page.locator(".rt-connect").click()
        kernel.wait_until("s.status == 'connected' and s._sideband is not None")
        said = kernel.wait_until(
            "''.join(e['event']['delta'] for e in s.events if e['type'] == 'session.output_transcript.delta')"
            " if 'sunny' in str(list(s.events.of_type('session.output_transcript.delta'))) else ''",
            timeout=45,
        )
        assert "The get_weather tool says" in said  # the tool's output reached the model
        (ran,) = kernel.eval("s.tool_calls[['name', 'status']].to_dict('records')")
        assert ran == {"name": "get_weather", "status": "ok"}
        # The backend's events came over the sideband only (the browser may not see them), and the
        # output went back over it: the browser may not send it, and the service refused nothing.
        assert kernel.eval("len(s.events.of_type('response.event'))") > 0
        assert kernel.eval("[e['type'] for e in s.events if e['direction'] == 'client'][:2]") == [
            "response.item.create",
            "response.create",
        ]
        assert kernel.eval("s.events.of_type('error')") == []
        # Events both the browser and the sideband carried are in the log once each.
        ids = kernel.eval("[e['event'].get('event_id') for e in s.events if e['direction'] == 'server']")
        assert len(ids) == len(set(ids)) > 10
        assert kernel.eval("len(s.events.of_type('session.started'))") == 1

        kernel.execute("s.hangup()")
        kernel.wait_until("s.status == 'closed'")
        saved = save_with_widgets(page, sentinel_lab, path)
        places = {
            "saved notebook": saved,
            "page DOM": page.content(),
            "browser console": log.text(),
            "browser frames": "\n".join(frames),
            "kernel logs": "\n".join(kernel.eval("LOGS")),
            "error text": kernel.eval("s.error"),
            "server log": sentinel_lab.log.read_text(),
            "synced traits": json.dumps(kernel.eval("s.get_state()"), default=str),
            "event log": json.dumps(kernel.eval("[e['event'] for e in s.events]")),
        }
        assert len(places["kernel logs"]) > 1000  # the DEBUG logging really ran
        assert '"kind": "answer"' in places["browser frames"]  # the page's sockets were watched
        for where, text in places.items():
            assert SENTINEL not in text, f"the API key leaked into the {where}"
    finally:
        kernel.execute("emu.stop()")
        kernel.close()
        context.close()
    assert log.errors == [], log.text()
