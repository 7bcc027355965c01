"""Python functions as tools, end to end: JupyterLab, Chromium, WebRTC and the emulator.

The emulator's model calls a tool the user names ("call get weather city=Oslo", by text or by
voice), then answers with what the tool returned: "The get_weather tool says: ...". So a
reply that quotes the function's result proves the kernel ran it and handed it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import nbformat
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.browser.conftest import PageLog
from tests.browser.lab import KernelProbe, LabServer
from tests.browser.mic import browser_hearing, speech_wav
from tests.browser.notebook import open_and_run, write_notebook

TOOLS = '''
import rt_widget as rt
ran = []

def get_weather(city: str, unit: str = "celsius") -> dict:
    """The weather in a city.

    Parameters
    ----------
    city:
        Where.
    unit:
        celsius or fahrenheit.
    """
    ran.append(("get_weather", city))
    return {"city": city, "sky": "clear", "degrees": 21}

def broken_sensor(sensor: int) -> float:
    """Reads a sensor that is broken."""
    ran.append(("broken_sensor", sensor))
    raise RuntimeError(f"sensor {sensor} does not answer")

def open_door() -> str:
    """Opens the door."""
    ran.append(("open_door",))
    return "the door is open"
'''


def replies(kernel: KernelProbe, count: int, kind: str = "response.output_text.done") -> list[str]:
    """The first ``count`` replies' texts (waits for them)."""
    key = "transcript" if "audio" in kind else "text"
    return kernel.wait_until(
        f"(r := [e['event']['{key}'] for e in s.events if e['type'] == '{kind}']) and len(r) >= {count} and r",
        timeout=45,
    )


@contextmanager
def connected(page: Page, log: PageLog, lab: LabServer, name: str, session: str) -> Iterator[KernelProbe]:
    """A notebook with the TOOLS cell and a connected session; hung up and checked afterwards."""
    kernel = open_and_run(page, lab, write_notebook(lab, name, TOOLS, f"s = rt.Realtime({session})\ns"))
    try:
        page.locator(".rt-connect").click()
        assert kernel.wait_until("s.status == 'connected'")
        yield kernel
    finally:
        kernel.execute("s.hangup()")
        kernel.close()
    assert log.errors == [], log.text()


TEXT_SESSION = (
    "provider='emulator', output_modalities='text', turn_detection=None, "
    "tools=[get_weather, broken_sensor, rt.Tool(open_door, needs_approval=True)]"
)


def test_a_typed_request_runs_the_function_and_the_reply_uses_its_result(page: Page, page_log: PageLog, lab: LabServer):
    with connected(page, page_log, lab, "tools_text.ipynb", TEXT_SESSION) as kernel:
        kernel.execute("s.say('call get weather city=Oslo')")
        reply = replies(kernel, 1)[-1]
        assert reply == "The get_weather tool says: city Oslo, sky clear, degrees 21."
        assert kernel.eval("ran") == [["get_weather", "Oslo"]]
        # The output went out on the data channel (as soon as the tool finished: that may be
        # before or after the function-call response's response.done, as tests/test_dispatch.py
        # shows), and the follow-up response was asked for only after both.
        is_output = "(e['type'] == 'conversation.item.create' and e['event']['item']['type'] == 'function_call_output')"
        order = kernel.eval(
            f"[e['type'] for e in s.events if e['type'] in ('response.done', 'response.create') or {is_output}]"
        )
        assert [t for t in order if t != "conversation.item.create"] == ["response.create", "response.done"] * 2
        assert order.count("conversation.item.create") == 1
        assert order.index("conversation.item.create") < order.index("response.create", 1)
        output = kernel.eval("[e['event']['item'] for e in s.events if e['type'] == 'conversation.item.create'][-1]")
        assert output["type"] == "function_call_output"
        assert '"sky": "clear"' in output["output"]
        calls = kernel.eval("s.tool_calls[['name', 'status']].to_dict('records')")
        assert calls == [{"name": "get_weather", "status": "ok"}]


def test_an_exception_reaches_the_model_and_the_conversation_goes_on(page: Page, page_log: PageLog, lab: LabServer):
    with connected(page, page_log, lab, "tools_error.ipynb", TEXT_SESSION) as kernel:
        kernel.execute("s.say('call broken sensor sensor=7')")
        reply = replies(kernel, 1)[-1]
        assert reply == "The broken_sensor tool says: error RuntimeError: sensor 7 does not answer."
        assert kernel.eval("s.tool_calls['status'].tolist()") == ["error"]
        kernel.execute("s.say('hello')")
        assert replies(kernel, 2)[-1].startswith("Hello! I am the local emulator")
        assert "error" not in kernel.eval("[e['type'] for e in s.events]")  # no protocol error on the way


def test_approval_in_the_widget_deny_then_approve(page: Page, page_log: PageLog, lab: LabServer):
    with connected(page, page_log, lab, "tools_approval.ipynb", TEXT_SESSION) as kernel:
        kernel.execute("s.say('call open door')")
        card = page.locator(".rt-approval")
        expect(card).to_contain_text("open_door")
        assert kernel.eval("ran") == []
        page.get_by_role("button", name="Deny the call of open_door").click()
        expect(card).to_have_count(0)
        reply = replies(kernel, 1)[-1]
        assert reply == "The open_door tool says: error The user denied this call of open_door."
        assert kernel.eval("ran") == []

        kernel.execute("s.say('call open door')")
        page.get_by_role("button", name="Approve the call of open_door").click()
        assert replies(kernel, 2)[-1] == "The open_door tool says: the door is open."
        assert kernel.eval("ran") == [["open_door"]]
        assert kernel.eval("s.tool_calls['status'].tolist()") == ["denied", "ok"]


def test_tools_over_the_sideband_when_the_browser_never_sees_the_call(page: Page, page_log: PageLog, lab: LabServer):
    # Azure's webrtcfilter keeps function-call events from the browser: only the kernel's
    # sideband sees them, runs the tool, and answers over the same socket.
    session = (
        "provider=Azure(endpoint=f'http://127.0.0.1:{emu.port}', deployment='rt', api_key=emu.api_key, "
        "webrtcfilter=True), sideband=True, output_modalities='text', turn_detection=None, tools=[get_weather]"
    )
    path = write_notebook(
        lab,
        "tools_sideband.ipynb",
        TOOLS + "from rt_widget.providers import Azure\nemu = rt.Emulator()",
        f"s = rt.Realtime({session})\ns",
    )
    kernel = open_and_run(page, lab, path)
    try:
        page.locator(".rt-connect").click()
        assert kernel.wait_until("s.status == 'connected' and s._open_sideband() is not None")
        kernel.execute("s.say('call get weather city=Bergen')")
        assert replies(kernel, 1)[-1] == "The get_weather tool says: city Bergen, sky clear, degrees 21."
        # The tool's events came only over the sideband (no browser sequence number).
        seqs = kernel.eval(
            "[e['seq'] for e in s.events if e['type'] == 'response.function_call_arguments.done' "
            "or (e['type'] == 'conversation.item.create' and e['event']['item']['type'] == 'function_call_output')]"
        )
        assert seqs == [None, None]
    finally:
        kernel.execute("s.hangup(); emu.stop()")
        kernel.close()
    assert page_log.errors == [], page_log.text()


@pytest.fixture(scope="module")
def browser_asking(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    yield from browser_hearing(playwright, speech_wav(tmp_path_factory.mktemp("mic") / "door.wav", "call open door"))


def test_a_spoken_request_runs_the_function(browser_asking: Browser, lab: LabServer):
    context = browser_asking.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    session = "provider='emulator', transcription='gpt-4o-mini-transcribe', tools=[open_door]"
    try:
        with connected(page, PageLog(page), lab, "tools_voice.ipynb", session) as kernel:
            heard = kernel.wait_until(
                "[e['event']['transcript'] for e in s.events "
                "if e['type'] == 'conversation.item.input_audio_transcription.completed']",
                timeout=45,
            )
            assert heard == ["call open door"]
            spoken = replies(kernel, 1, "response.output_audio_transcript.done")
            assert spoken[-1] == "The open_door tool says: the door is open."
            assert kernel.eval("ran") == [["open_door"]]
    finally:
        context.close()


def test_the_tools_notebook_works_cell_by_cell(page: Page, page_log: PageLog, lab: LabServer):
    notebook = nbformat.read(lab.root / "notebooks" / "tools.ipynb", as_version=4)
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    spoken = "response.output_audio_transcript.done"
    kernel = open_and_run(page, lab, "notebooks/tools.ipynb")  # stops at the first s.say: not connected yet
    try:
        kernel.execute("s.mute()")  # Chromium's fake microphone beeps, and server VAD would hear turns
        page.locator(".rt-connect").click()
        assert kernel.wait_until("s.status == 'connected'")
        answered = 0
        for source in code[next(i for i, c in enumerate(code) if c.startswith("s.say")) : -1]:  # all but hangup
            if source.startswith("s.deny"):
                kernel.wait_until("s._approvals")
            kernel.execute(source)
            answered += source.startswith("s.say")
            if source.startswith(("s.say", "s.deny")) and "open door" not in source:  # that one awaits approval
                replies(kernel, answered, spoken)
                kernel.wait_until("s._active_response is None")  # the reply's response is done
        kernel.wait_until("len(s.tool_calls) == 5 and 'running' not in set(s.tool_calls.status)")
        calls = kernel.eval("s.tool_calls[['name', 'status']].values.tolist()")
        assert calls == [
            ["get_weather", "ok"],
            ["largest_cities", "ok"],
            ["look_up", "ok"],
            ["open_door", "denied"],
            ["read_sensor", "error"],
        ]
        said = replies(kernel, 5, spoken)
        assert said[1] == (
            "The largest_cities tool says: [{'city': 'Oslo', 'population': 717710}, "
            "{'city': 'Bergen', 'population': 291940}]."
        )
        assert said[3] == "The open_door tool says: error The user denied this call of open_door (nobody is expected)."
    finally:
        kernel.execute("s.hangup()")
        kernel.close()
    assert page_log.errors == [], page_log.text()
