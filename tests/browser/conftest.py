"""Fixtures for real-browser tests: Debian's Chromium under Playwright, and JupyterLab."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.browser.lab import LabServer, jupyter_lab

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# Flags from reference/testing-notes.md: quiet on a closed network, fake media devices,
# and WebRTC over loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


# One Playwright per package: its sync API allows one instance per thread, and keeps a loop
# running in this thread while it is open.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run scripts/test.sh, which installs Debian's chromium.")
    with sync_playwright() as pw:
        yield pw


def launch(playwright: Playwright, *extra_args: str) -> Browser:
    """Debian's Chromium, headless, with the flags above plus ``extra_args``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args])


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch(playwright)
    yield browser
    browser.close()


class PageLog:
    """Console messages and uncaught errors of one page."""

    def __init__(self, page: Page) -> None:
        self.console: list[ConsoleMessage] = []
        self.errors: list[str] = []
        page.on("console", lambda msg: self.console.append(msg))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def text(self) -> str:
        return "\n".join(f"[{m.type}] {m.text}" for m in self.console)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture
def page_log(page: Page) -> PageLog:
    return PageLog(page)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    with jupyter_lab(tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture(scope="module")
def browser_saying_hello(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Chromium whose fake microphone says "hello there" once (a test module may define its own)."""
    from tests.browser.mic import browser_hearing, speech_wav  # it imports this module

    yield from browser_hearing(playwright, speech_wav(tmp_path_factory.mktemp("mic") / "hello.wav", "hello there"))
