"""Screenshots of the web UI's main pages for docs/screenshots/ (linked from README.md).

Starts `haven serve` on a throwaway SQLite database, signs up a user with a realistic week
of tasks, and photographs the pages in Debian's Chromium: light and dark, desktop and phone
width. Run from the repository root after `make install`:

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, ViewportSize, async_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 - after the path is set
from tests.e2e.server import HavenProcess, haven_serve  # noqa: E402 - as above

OUT = ROOT / "docs" / "screenshots"
EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway account
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


async def seed(server: HavenProcess) -> str:
    """A week of tasks; the id of the project whose task the task pages show."""
    today = datetime.now(UTC).date()

    def day(offset: int) -> str:
        return (today + timedelta(days=offset)).isoformat()

    async with httpx.AsyncClient(base_url=server.api, timeout=30) as client:
        signed = await client.post(
            "/auth/register",
            json={"email": EMAIL, "password": PASSWORD, "name": "Ada Lovelace", "timezone": "UTC"},
        )
        signed.raise_for_status()
        client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = await client.post(path, json=body)
            response.raise_for_status()
            return dict(response.json())

        home = await post("/projects", {"name": "Home", "color": "#16a34a"})
        work = await post("/projects", {"name": "Work", "color": "#2563eb"})
        tasks: list[dict[str, Any]] = [
            {"title": "Renew passport", "due": day(-2), "priority": "urgent", "tags": ["admin"]},
            {
                "title": "Pay the electricity bill",
                "due": day(0),
                "priority": "high",
                "project_id": home["id"],
                "tags": ["bills"],
            },
            {
                "title": "Water the plants",
                "due": day(0),
                "project_id": home["id"],
                "recurrence": {"text": "every 3 days"},
            },
            {
                "title": "Prepare the quarterly review",
                "due": day(1),
                "priority": "high",
                "project_id": work["id"],
                "progress": 40,
                "tags": ["reports"],
                "description": (
                    "Numbers from **finance**, then the roadmap slides.\n\n- revenue\n- hiring"
                ),
            },
            {
                "title": "Stand-up notes",
                "due": day(1),
                "project_id": work["id"],
                "recurrence": {"text": "every weekday"},
            },
            {"title": "Book the dentist", "due": day(3), "priority": "medium", "tags": ["health"]},
            {"title": "Read “Thinking, Fast and Slow”", "tags": ["books"]},
            {
                "title": "Plan the summer trip",
                "due": day(9),
                "priority": "low",
                "project_id": home["id"],
            },
        ]
        for task in tasks:
            await post("/tasks", task)
        return str(work["id"])


async def shoot(page: Page, name: str) -> None:
    await page.wait_for_timeout(400)  # the last frame of any transition
    await page.screenshot(path=OUT / f"{name}.png")
    print(f"docs/screenshots/{name}.png")


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data, haven_serve(Path(data)) as server:
        work = await seed(server)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            for scheme in ("light", "dark"):
                for size_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                    context = await browser.new_context(
                        viewport=viewport, color_scheme=scheme, device_scale_factor=1
                    )
                    page = await context.new_page()
                    await page.goto(f"{server.base_url}/signin")
                    await shoot(page, f"signin-{size_name}-{scheme}")
                    await page.get_by_label("Email").fill(EMAIL)
                    await page.get_by_label("Password").fill(PASSWORD)
                    await page.get_by_role("button", name="Sign in").click()
                    await page.get_by_role("heading", name="Inbox", level=1).wait_for()
                    await page.get_by_role("button", name="Renew passport").wait_for()
                    await shoot(page, f"inbox-{size_name}-{scheme}")
                    await page.goto(f"{server.base_url}/projects/{work}")
                    await page.get_by_role("button", name="Prepare the quarterly review").click()
                    await page.get_by_role("complementary", name="Task details").wait_for()
                    await shoot(page, f"task-{size_name}-{scheme}")
                    await context.close()
            await browser.close()


if __name__ == "__main__":
    asyncio.run(main())
