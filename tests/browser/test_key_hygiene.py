"""No secret in the browser, a synced trait, a saved notebook, an error or a log line.

The Jupyter server's environment holds a sentinel API key; the notebook never names it. After
full sessions (unified with a sideband, ephemeral, and one refused call), neither the sentinel
nor any ephemeral key may appear in the saved notebook (widget state included), the page
DOM, the browser console, or the kernel's logs and error texts; and in the unified flow the
browser never receives either.

Keys come as users paste them: with spaces around, a trailing newline (a key read from a
file), a CRLF (a Windows ``.env``) or a tab. Each flow and the sideband must still work, and
no error text may carry the key whatever went wrong.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, WebSocket

from tests.browser.conftest import PageLog
from tests.browser.lab import KEEP_LOGS, LabServer, lab_with_key, save_with_widgets
from tests.browser.notebook import open_and_run, write_notebook

SENTINEL = "sk-SENTINEL-" + secrets.token_hex(12)

CELLS = [
    KEEP_LOGS,
    "import os\nimport rt_widget as rt\nfrom rt_widget.providers import OpenAI\n"
    "emu = rt.Emulator(api_key=os.environ['OPENAI_API_KEY'])\n"
    "TEXT = dict(output_modalities='text', turn_detection=None)",
    "unified = rt.Realtime(provider=OpenAI(base_url=emu.base_url), sideband=True, output_modalities='text', "
    "turn_detection=None)\nunified",
    "ephemeral = rt.Realtime(provider=OpenAI(base_url=emu.base_url, flow='ephemeral'), output_modalities='text', "
    "turn_detection=None)\nephemeral",
    "refused = rt.Realtime(provider=OpenAI(api_key=os.environ['OPENAI_API_KEY'] + 'x', base_url=emu.base_url))\n"
    "refused",
    # The same key with the whitespace a file, a CRLF .env or a paste leaves around it.
    "from rt_widget.providers import Azure, Beta\nkey = os.environ['OPENAI_API_KEY']\n"
    "azure_root = emu.base_url.removesuffix('/v1')\n"
    "padded = [\n"
    "    rt.Realtime(provider=OpenAI(api_key=key + '\\n', base_url=emu.base_url), sideband=True, **TEXT),\n"
    "    rt.Realtime(provider=OpenAI(api_key=' ' + key + '\\r\\n', base_url=emu.base_url, flow='ephemeral'), **TEXT),\n"
    "    rt.Realtime(provider=Azure(endpoint=azure_root, deployment='d', api_key=key + '\\r\\n'), sideband=True, "
    "**TEXT),\n"
    "    rt.Realtime(provider=Azure(endpoint=azure_root, deployment='d', token_provider=lambda: '\\t' + key + '\\n', "
    "flow='ephemeral'), **TEXT),\n"
    "    rt.Realtime(provider=Beta(api_key=key + '\\n', base_url=emu.base_url), **TEXT),\n"
    "    rt.Realtime(provider=OpenAI(api_key=key + 'x\\r\\n', base_url=emu.base_url), **TEXT),\n"
    "]",
    "import ipywidgets\nipywidgets.VBox(padded)",
]


@pytest.fixture(scope="module")
def sentinel_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    with lab_with_key(tmp_path_factory.mktemp("sentinel-lab"), SENTINEL) as server:
        yield server


def test_no_secret_anywhere(page: Page, page_log: PageLog, sentinel_lab: LabServer):
    frames: list[str] = []

    def watch(ws: WebSocket) -> None:
        ws.on(
            "framereceived",
            lambda payload: frames.append(payload if isinstance(payload, str) else payload.decode("latin-1")),
        )

    page.on("websocket", watch)
    path = write_notebook(sentinel_lab, "hygiene.ipynb", *CELLS)
    kernel = open_and_run(page, sentinel_lab, path)
    try:
        buttons = page.locator(".rt-connect")
        buttons.nth(0).click()
        kernel.wait_until("unified.status == 'connected'")
        kernel.execute("unified.say('hello')")
        kernel.wait_until("'response.done' in unified.events.types")
        page.wait_for_timeout(300)  # Playwright hands over frame events only while it runs
        unified_frames = "\n".join(frames)
        # Both paths were watched: Jupyter's kernel socket and the loopback link's.
        assert '"kind": "ready"' in unified_frames, "the loopback link's messages were not seen"
        assert '"kind": "answer"' in unified_frames, "the SDP answer was not seen"
        buttons.nth(0).click()  # hang up

        buttons.nth(1).click()
        kernel.wait_until("ephemeral.status == 'connected'")
        kernel.execute("ephemeral.say('hello')")
        kernel.wait_until("'response.done' in ephemeral.events.types")
        buttons.nth(1).click()

        buttons.nth(2).click()
        error = kernel.wait_until("refused.status == 'error' and refused.error")
        assert "HTTP 401" in error

        # The padded keys: every flow works (the last key is wrong and is refused cleanly).
        padded_errors = []
        for index in range(6):
            button = buttons.nth(3 + index)
            button.click()
            if index == 5:
                padded_errors.append(kernel.wait_until(f"padded[{index}].status == 'error' and padded[{index}].error"))
                assert "HTTP 401" in padded_errors[-1]
                continue
            kernel.wait_until(f"padded[{index}].status == 'connected'")
            kernel.execute(f"padded[{index}].say('hello')")
            kernel.wait_until(f"'response.done' in padded[{index}].events.types", timeout=30)
            if index in (0, 2):  # their sidebands joined and saw the reply too
                kernel.wait_until(f"padded[{index}]._sideband is not None")
            padded_errors.append(kernel.eval(f"padded[{index}].error"))
            button.click()

        ephemeral_keys = kernel.eval("list(emu._routes.secrets._secrets)")
        assert len(ephemeral_keys) == 4  # ephemeral, its padded twin, Azure's and the beta mint
        secrets_ = [SENTINEL, *ephemeral_keys]

        saved = save_with_widgets(page, sentinel_lab, path)
        places = {
            "saved notebook": saved,
            "page DOM": page.content(),
            "browser console": page_log.text(),
            "kernel logs": "\n".join(kernel.eval("LOGS")),
            "error texts": error + kernel.eval("unified.error + ephemeral.error") + "".join(padded_errors),
            "server log": sentinel_lab.log.read_text(),
            "synced traits": json.dumps(
                kernel.eval("[w.get_state() for w in (unified, ephemeral, refused, *padded)]"), default=str
            ),
        }
        assert len(places["kernel logs"]) > 1000  # the DEBUG logging really ran
        for where, text in places.items():
            for secret in secrets_:
                assert secret not in text, f"a secret leaked into the {where}"
        for secret in secrets_:
            assert secret not in unified_frames, "a secret reached the browser in the unified flow"
        assert SENTINEL not in "\n".join(frames), "the API key reached the browser"
    finally:
        kernel.execute("emu.stop()")
        kernel.close()
