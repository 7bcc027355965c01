"""The widget in Jupyter Notebook 7 and in Voila, served by the test JupyterLab's server.

Both are extensions of the same Jupyter server, so one server (the ``lab`` fixture) serves
JupyterLab at ``/lab``, Notebook 7 at ``/notebooks`` and Voila at ``/voila/render``.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import PageLog
from tests.browser.lab import LabServer
from tests.browser.notebook import open_and_run, write_notebook

SESSION = "import rt_widget as rt\ns = rt.Realtime(provider='emulator', output_modalities='text', turn_detection=None)"


def test_notebook_7_connects_turns_and_waits(page: Page, lab: LabServer):
    stacks: list[str] = []
    page.on("pageerror", lambda e: stacks.append(e.stack or str(e)))
    path = write_notebook(lab, "notebook7.ipynb", SESSION, "s")
    kernel = open_and_run(page, lab, path, url=f"{lab.url}/notebooks/{path}?token={lab.token}")
    try:
        status = page.locator(".rt-status")
        expect(status).to_contain_text("Not connected")
        page.locator(".rt-connect").click()
        kernel.wait_until("s.status == 'connected'")
        expect(status).to_contain_text("Connected")
        kernel.execute("s.say('hello there')")
        text = kernel.wait_until(
            "[e['event']['text'] for e in s.events if e['type'] == 'response.output_text.done']", timeout=30
        )
        assert text[0].startswith("Hello! I am the local emulator")
        expect(page.locator(".rt-transcript .rt-assistant").first).to_contain_text("Hello! I am the local emulator")
        # A cell that awaits the reply while the kernel is busy.
        kernel.execute("s.say('thank you'); done = await s.wait_for('response.done', timeout=20)")
        assert kernel.eval("done['response']['status']") == "completed"
    finally:
        kernel.execute("s.hangup()")
        kernel.close()
    # Notebook 7 itself trips on the test server's JupyterLab state (a settings file with no
    # schema in Notebook 7, a JupyterLab command it lacks): errors thrown in its own bundle
    # are its own. Nothing else may fail in the page.
    assert [s for s in stacks if not _thrown_by_notebook_7(s)] == [], "\n".join(stacks)


def _thrown_by_notebook_7(stack: str) -> bool:
    """Whether the error's top frame is in Notebook 7's own code (its /static/notebook/ bundles)."""
    frames = [line for line in stack.splitlines() if line.strip().startswith("at ")]
    return bool(frames) and "/static/notebook/" in frames[0]


VOILA_APP = (
    "import ipywidgets as widgets\n"
    "say = widgets.Button(description='Say hello')\n"
    "say.on_click(lambda _: s.say('hello there'))\n"
    "reply = widgets.Label(value='no reply yet')\n"
    "def show(change):\n"
    "    rows = [r for r in change['new'] if r['role'] == 'assistant' and r['text']]\n"
    "    if rows:\n"
    "        reply.value = 'reply: ' + rows[-1]['text']\n"
    "s.observe(show, names='transcript_rows')\n"
    "count = widgets.Label()\n"
    "widgets.dlink((s, 'event_count'), (count, 'value'), lambda n: f'{n} events')\n"
    "widgets.VBox([s, say, reply, count])"
)


def test_voila_renders_connects_and_answers_a_button(page: Page, page_log: PageLog, lab: LabServer):
    path = write_notebook(lab, "voila_app.ipynb", SESSION, VOILA_APP)
    page.goto(f"{lab.url}/voila/render/{path}?token={lab.token}")
    status = page.locator(".rt-status")
    expect(status).to_contain_text("Not connected", timeout=90_000)  # Voila ran the notebook and drew it
    page.locator(".rt-connect").click()
    expect(status).to_contain_text("Connected")
    page.get_by_role("button", name="Say hello").click()  # runs in the kernel: a text turn from Python
    expect(page.get_by_text("reply: Hello! I am the local emulator", exact=False)).to_be_visible(timeout=30_000)
    expect(page.locator(".rt-transcript .rt-user").first).to_contain_text("hello there")
    expect(page.get_by_text("events", exact=False).last).not_to_have_text("0 events")
    page.locator(".rt-connect").click()
    expect(status).to_contain_text("Call ended")
    assert page_log.errors == [], page_log.text()
