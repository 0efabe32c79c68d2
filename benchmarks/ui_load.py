"""The web UI with 5,000 tasks in a project (issue 13), in headless Chromium against a real
`haven serve` on SQLite (what `make run` gives), beside a baseline measured in the same run.

- *First rows*: from the start of the navigation to the project's page until its first task
  rows are painted (a MutationObserver sees the first row, then two animation frames), warm
  (the hashed assets cached, as for a returning user) and cold (the browser cache off).
- *Scrolling to the end*: the renderer's scripting time (CDP Performance.ScriptDuration)
  and the wall time of scrolling the list until its last task shows, pages loading as the
  list nears its end.
- *Initial JS*: the gzip size of the scripts index.html loads at once (entry and
  modulepreloads), not the lazily loaded ones.

The baseline is a page of plain DOM served at the same origin (fulfilled by the browser's
request routing): it signs in silently from the same cookie, asks the API for the same list
with the same query the UI sent, and appends rows (a `<li>` with a button per task); it
scrolls the same way, asking for the next page at the end. Haven ÷ baseline is the figure
to trust on a shared machine.

    make bench-ui                                     # ~2 min; writes docs/benchmarks.md
    .venv/bin/python -m benchmarks.ui_load --quick    # 500 tasks, 2 rounds, no report
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.async_api import BrowserContext, Page, Route, async_playwright
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.server import HavenProcess, haven_serve

import haven
from benchmarks.sections import write_section

DIST = Path(haven.__file__).parent / "web" / "dist"
REPORT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
PASSWORD = "correct horse battery staple"
FIRST_ROWS_TARGET_MS = 1000.0
BUNDLE_TARGET_KB = 250.0
LIST = 'ul[aria-label$=" tasks"]'

# Installed before any script of each page: the time the first task row was painted.
FIRST_ROWS_PROBE = f"""
(() => {{
  window.__firstRows = null;
  const observer = new MutationObserver(() => {{
    if (document.querySelector('{LIST} li button')) {{
      observer.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => {{
        window.__firstRows = performance.now();
      }}));
    }}
  }});
  observer.observe(document, {{ childList: true, subtree: true }});
}})();
"""

BASELINE_PAGE = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>baseline</title>
<body style="margin:0;font:14px system-ui">
<ul aria-label="Baseline tasks" style="list-style:none;margin:0;padding:0"></ul>
<script>
(async () => {
  const list = document.querySelector("ul");
  const csrf = document.cookie.split("; ").find((c) => c.startsWith("haven_csrf="));
  const signedIn = await fetch("/api/v1/auth/refresh?transport=cookie", {
    method: "POST",
    headers: { "X-CSRF-Token": csrf ? decodeURIComponent(csrf.split("=")[1]) : "" },
  });
  const headers = { Authorization: "Bearer " + (await signedIn.json()).access_token };
  let cursor = null;
  let done = false;
  window.__more = async () => {
    if (done) return false;
    const url = new URL("/api/v1/tasks" + QUERY, location.href);
    if (cursor) url.searchParams.set("cursor", cursor);
    const page = await (await fetch(url, { headers })).json();
    for (const task of page.items) {
      const row = document.createElement("li");
      row.style.height = "44px";
      const button = document.createElement("button");
      button.textContent = task.title;
      row.append(button);
      list.append(row);
    }
    cursor = page.next_cursor;
    done = !cursor;
    return !done;
  };
  await window.__more();
})();
</script>
"""

# Scrolls the list's scrolling box to its end until the last task shows (or time runs out).
SCROLL_TO_END = """
async ([last, seconds, baseline]) => {
  const list = document.querySelector('ul[aria-label$=" tasks"]');
  let box = list;
  while (box && box !== document.body) {
    const style = getComputedStyle(box);
    if (/(auto|scroll)/.test(style.overflowY) && box.scrollHeight > box.clientHeight) break;
    box = box.parentElement;
  }
  if (!box || box === document.body) box = document.scrollingElement;
  const deadline = performance.now() + seconds * 1000;
  const shows = () => [...list.querySelectorAll("li button")].some((b) => b.textContent === last);
  while (!shows() && performance.now() < deadline) {
    box.scrollTop = box.scrollHeight;
    if (baseline) await window.__more();
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 16)));
  }
  return shows();
}
"""


@dataclass
class Figures:
    first_rows_warm: list[float] = field(default_factory=list)
    first_rows_cold: list[float] = field(default_factory=list)
    scroll_script_ms: list[float] = field(default_factory=list)
    scroll_wall_ms: list[float] = field(default_factory=list)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def initial_js_gzip() -> tuple[float, float, list[str]]:
    """KB gzip of the scripts index.html loads at once, of its CSS, and their names."""
    index = (DIST / "index.html").read_text()
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', index)
    scripts += re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"', index)
    styles = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', index)

    def size(paths: list[str]) -> float:
        return sum(len(gzip.compress((DIST / p.lstrip("/")).read_bytes(), 6)) for p in paths) / 1024

    return size(scripts), size(styles), scripts


async def seed(server: HavenProcess, tasks: int) -> tuple[str, str, str]:
    """An account and a project of `tasks` tasks; its email, the project's id, the last title."""
    email = f"ui-load-{os.getpid()}@example.com"
    async with httpx.AsyncClient(base_url=server.api, timeout=60) as client:
        signed = await client.post(
            "/auth/register", json={"email": email, "password": PASSWORD, "timezone": "UTC"}
        )
        signed.raise_for_status()
        client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"
        project = await client.post("/projects", json={"name": "Load"})
        project.raise_for_status()
        project_id = project.json()["id"]
        gate = asyncio.Semaphore(8)

        async def create(number: int) -> None:
            async with gate:
                body = {"title": f"Load task {number:05d}", "project_id": project_id}
                (await client.post("/tasks", json=body)).raise_for_status()

        for start in range(0, tasks, 500):  # in chunks: a bounded number of coroutines
            await asyncio.gather(
                *(create(n) for n in range(start + 1, min(start + 501, tasks + 1)))
            )
    return email, project_id, f"Load task {tasks:05d}"


async def sign_in(page: Page, server: HavenProcess, email: str) -> None:
    await page.goto(f"{server.base_url}/signin")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Inbox", level=1).wait_for(timeout=30_000)


async def first_rows(page: Page, url: str, *, cold: bool) -> float:
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": cold})
    await page.goto(url, wait_until="commit")
    await page.wait_for_function("() => window.__firstRows !== null", timeout=30_000)
    value = float(await page.evaluate("window.__firstRows"))
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    await cdp.detach()
    return value


async def scroll(page: Page, last: str, *, baseline: bool) -> tuple[float, float]:
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Performance.enable")

    async def script_seconds() -> float:
        metrics = (await cdp.send("Performance.getMetrics"))["metrics"]
        return float(next(m["value"] for m in metrics if m["name"] == "ScriptDuration"))

    before = await script_seconds()
    started = time.perf_counter()
    reached = await page.evaluate(SCROLL_TO_END, [last, 120, baseline])
    wall = (time.perf_counter() - started) * 1000
    script = (await script_seconds() - before) * 1000
    await cdp.detach()
    if not reached:
        raise RuntimeError(f"scrolling never showed {last!r}")
    return script, wall


async def measure(server: HavenProcess, tasks: int, rounds: int) -> dict[str, Any]:
    email, project_id, last = await seed(server, tasks)
    haven_url = f"{server.base_url}/projects/{project_id}"
    baseline_url = f"{server.base_url}/__baseline__"
    haven, baseline = Figures(), Figures()
    with tempfile.TemporaryDirectory() as profile:
        async with async_playwright() as playwright:
            context: BrowserContext = await playwright.chromium.launch_persistent_context(
                user_data_dir=profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
            )
            page = context.pages[0] if context.pages else await context.new_page()
            sent: list[str] = []
            page.on(
                "request",
                lambda request: (
                    sent.append(request.url)
                    if urlsplit(request.url).path == "/api/v1/tasks"
                    else None
                ),
            )
            await sign_in(page, server, email)
            await page.goto(haven_url)
            await page.wait_for_selector(f"{LIST} li button", timeout=30_000)
            query = next(
                "?" + urlsplit(url).query
                for url in sent
                if f"project_id={project_id}" in url and "cursor=" not in url
            )
            query_js = repr(query).replace("'", '"')

            async def serve_baseline(route: Route) -> None:
                body = BASELINE_PAGE.replace("QUERY", query_js)
                await route.fulfill(status=200, content_type="text/html", body=body)

            await context.route(baseline_url, serve_baseline)
            await context.add_init_script(FIRST_ROWS_PROBE)
            for _ in range(rounds):
                for cold in (False, True):
                    for figures, url in ((baseline, baseline_url), (haven, haven_url)):
                        value = await first_rows(page, url, cold=cold)
                        (figures.first_rows_cold if cold else figures.first_rows_warm).append(value)
                for figures, url, is_baseline in (
                    (baseline, baseline_url, True),
                    (haven, haven_url, False),
                ):
                    await first_rows(page, url, cold=False)
                    script, wall = await scroll(page, last, baseline=is_baseline)
                    figures.scroll_script_ms.append(script)
                    figures.scroll_wall_ms.append(wall)
            await context.close()
    return {"haven": haven, "baseline": baseline, "query": query}


def chromium_version() -> str:
    try:
        found = subprocess.run(
            [str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return "chromium (version unknown)"
    return found.stdout.strip() or "chromium"


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def report(figures: dict[str, Any], tasks: int, rounds: int, seconds: float) -> str:
    haven: Figures = figures["haven"]
    baseline: Figures = figures["baseline"]
    js_kb, css_kb, scripts = initial_js_gzip()
    rows = [
        ("first rows, warm (ms)", haven.first_rows_warm, baseline.first_rows_warm),
        ("first rows, cold cache (ms)", haven.first_rows_cold, baseline.first_rows_cold),
        ("scroll to the end: scripting (ms)", haven.scroll_script_ms, baseline.scroll_script_ms),
        ("scroll to the end: wall (ms)", haven.scroll_wall_ms, baseline.scroll_wall_ms),
    ]
    worst_first = max(median(haven.first_rows_warm), median(haven.first_rows_cold))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    lines = [
        "## Web UI: first rows and scrolling with 5,000 tasks (issue 13)",
        "",
        "Command: `make bench-ui` (from the repository root; it builds the UI first)."
        " Written by `benchmarks/ui_load.py`.",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on commit {commit}, "
        f"{os.cpu_count()} cores, {platform.python_version()}, {chromium_version()}; "
        f"{tasks:,} tasks in one project, {rounds} rounds, {seconds:.0f} s in all.",
        "",
        "| figure | Haven (median) | baseline (median) | Haven ÷ baseline | Haven per round |",
        "|---|---:|---:|---:|---|",
    ]
    for name, mine, theirs in rows:
        ratio = median(mine) / median(theirs) if median(theirs) else float("nan")
        each = ", ".join(f"{value:.0f}" for value in mine)
        lines.append(
            f"| {name} | {median(mine):.0f} | {median(theirs):.0f} | {ratio:.2f} | {each} |"
        )
    lines += [
        "",
        f"Initial JS: {js_kb:.1f} KB gzip ({', '.join(scripts)}); CSS {css_kb:.1f} KB gzip.",
        "",
        "Targets:",
        "",
        f"- first rows under {FIRST_ROWS_TARGET_MS:.0f} ms on localhost (the slower of warm and"
        f" cold): {worst_first:.0f} ms — {verdict(worst_first < FIRST_ROWS_TARGET_MS)}",
        f"- initial JS under {BUNDLE_TARGET_KB:.0f} KB gzip: {js_kb:.1f} KB —"
        f" {verdict(js_kb < BUNDLE_TARGET_KB)}",
        "",
        "Method: the baseline page is plain DOM at the same origin; it signs in from the same"
        " cookie (one refresh, as the UI's silent sign-in) and asks for"
        f" `/api/v1/tasks{figures['query']}`, the UI's own first request, then the next page"
        " whenever it is scrolled to its end. Each round measures the baseline, then Haven,"
        " warm and then cold, then scrolls each to its last task.",
    ]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ui_load", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="500 tasks, 2 rounds, no report")
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-report", action="store_true")
    options = parser.parse_args()
    tasks, rounds = (500, 2) if options.quick else (options.tasks, options.rounds)
    if not (DIST / "index.html").exists():
        sys.exit(f"the web UI is not built ({DIST}): run `make install`")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as data, haven_serve(Path(data)) as server:
        figures = await measure(server, tasks, rounds)
    text = report(figures, tasks, rounds, time.perf_counter() - started)
    print(text)
    if not (options.quick or options.no_report):
        write_section(REPORT, "ui_load", "benchmarks/ui_load.py", text)


if __name__ == "__main__":
    asyncio.run(main())
