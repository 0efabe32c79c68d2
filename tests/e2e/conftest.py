"""Browser tests: Debian's Chromium, driven by Playwright, against a real uvicorn server.

The browser reaches nothing but this machine: every request to another host is aborted and
recorded, so a page that still needs the internet fails here the way it fails offline.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.async_api import BrowserContext, Page, Route, async_playwright

import haven
from haven.app import create_app
from haven.settings import Settings
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, LOOPBACK, LiveServer, OfflinePage
from tests.e2e.server import HavenProcess, haven_serve

# Generous: a cold Chromium on a busy two-core machine, never a speed check.
STARTUP_SECONDS = 60


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """Haven under uvicorn on a free loopback port, in a thread with its own event loop."""
    config = uvicorn.Config(
        create_app(settings), host=LOOPBACK, port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="haven-live-server", daemon=True)
    thread.start()
    # server.started is set once the socket listens; a failed start ends the thread instead.
    while not server.started and thread.is_alive():
        thread.join(timeout=0.05)
    if not server.started:
        pytest.fail("uvicorn did not start (see the log above)")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(base_url=f"http://{LOOPBACK}:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_SECONDS)


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = (
        f"{CHROMIUM} is missing: install Debian's chromium package "
        "(make test does so as root: scripts/ensure-chromium.sh)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
async def browser_context(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """A fresh Chromium profile per test."""
    _require_chromium()
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            user_data_dir=tmp_path / "chromium-profile",
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=STARTUP_SECONDS * 1000,
        )
        try:
            yield context
        finally:
            await context.close()


@pytest.fixture
async def offline_page(browser_context: BrowserContext) -> OfflinePage:
    page = browser_context.pages[0] if browser_context.pages else await browser_context.new_page()
    offline = OfflinePage(page=page)

    async def only_this_machine(route: Route) -> None:
        if urlsplit(route.request.url).hostname == LOOPBACK:
            await route.continue_()
        else:
            offline.blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    await browser_context.route("**/*", only_this_machine)
    page.on("pageerror", lambda error: offline.errors.append(str(error)))
    return offline


# --- the web UI against a real `haven serve` -------------------------------------------------

UI_DIST = Path(haven.__file__).parent / "web" / "dist"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HavenProcess]:
    """One `haven serve` (SQLite, the built UI) for the UI tests; each signs up its own users.

    The server keeps its own SQLite database whatever the suite's: the UI tests run once,
    in the SQLite pass.
    """
    if os.environ.get("HAVEN_TEST_DATABASE") == "postgres":
        pytest.skip("the UI tests run against haven serve on SQLite: once, in the SQLite pass")
    if not (UI_DIST / "index.html").exists():
        reason = f"the web UI is not built ({UI_DIST}): `make install` builds it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with haven_serve(tmp_path_factory.mktemp("haven-serve")) as server:
        yield server


@pytest.fixture
async def ui_page(offline_page: OfflinePage, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """The offline page; when the test fails, a screenshot of it in test-results/screenshots/."""
    yield offline_page.page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = request.node.nodeid.replace("/", "_").replace("::", "__")
        await offline_page.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
