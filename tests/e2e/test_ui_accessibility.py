"""axe-core (the npm package the UI's build installs) on the UI's main pages (sign-in, sign-up,
a list, the task panel, the shortcuts, a board, a saved search and the save dialog, stats,
settings), light and dark: no serious or critical violation."""

from __future__ import annotations

import re
from typing import Any, Literal

import pytest
from playwright.async_api import Page, expect

from tests.e2e.server import HavenProcess
from tests.e2e.ui import api, register, sign_in, violations


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_main_pages_have_no_serious_accessibility_violations(
    ui_page: Page, ui_server: HavenProcess, scheme: Literal["light", "dark"]
) -> None:
    page = ui_page
    await page.emulate_media(color_scheme=scheme)
    found: dict[str, list[dict[str, Any]]] = {}

    await page.goto(f"{ui_server.base_url}/signin")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    found["sign in"] = await violations(page)
    await page.goto(f"{ui_server.base_url}/signup")
    await expect(page.get_by_role("button", name="Create account")).to_be_visible()
    found["sign up"] = await violations(page)

    account = await register(ui_server)
    project = await api(ui_server, account, "POST", "/projects", json={"name": "Errands"})
    for body in (
        {"title": "Renew passport", "due": "2020-01-01", "priority": "urgent", "tags": ["admin"]},
        {"title": "Buy bread", "project_id": project["id"], "recurrence": {"text": "every day"}},
        {"title": "Plan the trip", "description": "**Book** the [train](https://example.com)"},
    ):
        await api(ui_server, account, "POST", "/tasks", json=body)
    await sign_in(page, ui_server, account)
    await expect(page.get_by_role("button", name="Renew passport")).to_be_visible()
    found["inbox"] = await violations(page)

    await page.get_by_role("button", name="Plan the trip").click()
    await expect(page.get_by_role("complementary", name="Task details")).to_be_visible()
    found["task details"] = await violations(page)
    await page.keyboard.press("Escape")

    await page.keyboard.press("?")
    await expect(page.get_by_role("dialog")).to_be_visible()
    found["shortcuts"] = await violations(page)
    await page.keyboard.press("Escape")

    await page.goto(f"{ui_server.base_url}/projects/{project['id']}/board")
    await expect(page.get_by_role("button", name=re.compile("^Buy bread"))).to_be_visible()
    found["board"] = await violations(page)
    search = {"name": "Passport things", "query": {"q": "passport"}}
    saved = await api(ui_server, account, "POST", "/saved-searches", json=search)
    await page.goto(f"{ui_server.base_url}/search/{saved['id']}")
    await expect(page.get_by_role("button", name="Renew passport")).to_be_visible()
    found["saved search"] = await violations(page)
    await page.goto(f"{ui_server.base_url}/inbox")
    await page.get_by_label("Search tasks").fill("bread")
    await page.get_by_role("button", name="Save search").click()
    await expect(page.get_by_role("dialog", name="Save this search")).to_be_visible()
    found["save search dialog"] = await violations(page)
    await page.keyboard.press("Escape")
    await page.goto(f"{ui_server.base_url}/stats")
    await expect(page.get_by_role("heading", name="Stats", level=1)).to_be_visible()
    found["stats"] = await violations(page)
    await page.goto(f"{ui_server.base_url}/settings")
    await expect(page.get_by_role("button", name="Create key")).to_be_visible()
    await expect(page.get_by_role("button", name="Save notification settings")).to_be_visible()
    found["settings"] = await violations(page)
    await page.get_by_role("button", name=re.compile(r"^Notifications, ")).click()
    await expect(page.get_by_role("dialog", name="Notifications")).to_be_visible()
    found["notifications"] = await violations(page)
    await page.keyboard.press("Escape")

    assert {name: v for name, v in found.items() if v} == {}
