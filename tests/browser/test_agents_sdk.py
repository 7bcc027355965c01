"""OpenAI's own JS Agents SDK (@openai/agents-realtime) in Chromium, against the emulator.

The page (agents_sdk/page.ts, bundled here with esbuild) connects through
``OpenAIRealtimeWebRTC({baseUrl})`` with an ephemeral key, as the SDK's docs show. The SDK adds
its own ``X-OpenAI-Agents-SDK`` header, so the emulator's CORS must let a browser send it; its
zod-typed tool parses the model's arguments before ``execute`` runs, so they must fit the schema.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from rt_widget import Emulator
from tests.browser.seed_site import SeedSite

ROOT = Path(__file__).resolve().parents[2]
ENTRY = Path(__file__).parent / "agents_sdk" / "page.ts"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("agents") / "page.js"
    esbuild = ROOT / "node_modules" / ".bin" / "esbuild"
    assert esbuild.exists(), "run scripts/test.sh: it installs the JS dependencies (npm install)"
    command = [str(esbuild), str(ENTRY), "--bundle", "--minify", "--format=esm", "--target=es2022"]
    subprocess.run([*command, f"--outfile={out}", "--log-level=error"], check=True, cwd=ROOT)
    return out.read_text(encoding="utf-8")


@pytest.fixture
def sdk_page(browser: Browser, bundle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    (tmp_path / "agents.html").write_text(
        '<!doctype html><html><body data-base="{{OPENAI_BASE}}">'
        f'<script type="module">{bundle}</script></body></html>',
        encoding="utf-8",
    )
    monkeypatch.setattr("tests.browser.seed_site.PAGES", tmp_path)
    with Emulator() as emulator:
        site = SeedSite(emulator, "agents.html")  # serves the page and /token (an ek_ key)
        context = browser.new_context()
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(site.url)
            page.wait_for_function("() => window.__agents?.connected || window.__agents?.error", timeout=30_000)
            assert page.evaluate("() => window.__agents.error") is None
            yield page
            assert errors == []
        finally:
            context.close()
            site.close()


def assistant_texts(page: Page) -> list[str]:
    history = page.evaluate("() => window.__agents.history")
    return [
        part.get("transcript") or part.get("text") or ""
        for item in history
        if item.get("type") == "message" and item.get("role") == "assistant"
        for part in item.get("content", [])
    ]


def wait_for_reply(page: Page, words: str) -> None:
    page.wait_for_function(
        """(words) => window.__agents.history.some((item) => item.role === "assistant"
            && (item.content || []).some((p) => (p.transcript || p.text || "").includes(words)))""",
        arg=words,
        timeout=30_000,
    )


def test_agents_sdk_connects_and_exchanges_a_text_turn(sdk_page):
    sdk_page.evaluate("() => window.__ask('hello there')")
    wait_for_reply(sdk_page, "I am the local emulator")
    assert any(text.startswith("Hello! I am the local emulator") for text in assistant_texts(sdk_page))


def test_agents_sdk_runs_a_zod_typed_tool_with_schema_valid_arguments(sdk_page):
    sdk_page.evaluate("() => window.__ask('Please get weather in Paris, in fahrenheit.')")
    wait_for_reply(sdk_page, "sunny and 21 degrees fahrenheit in Paris")
    assert sdk_page.evaluate("() => window.__agents.toolArguments") == [{"city": "Paris", "unit": "fahrenheit"}]
    assert sdk_page.evaluate("() => window.__agents.error") is None
