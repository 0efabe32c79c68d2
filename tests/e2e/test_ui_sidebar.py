"""The sidebar in Chromium against a real `haven serve`: saved searches, projects in the
order people drag them into, and exact counts.

Elements are found the way a person finds them (role, label, visible text); what the page
did is checked again through the API.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.server import HavenProcess
from tests.e2e.ui import UiAccount, api, eventually, register, sign_in

pytestmark = pytest.mark.usefixtures("ui_server")


def sidebar(page: Page) -> Any:
    return page.get_by_role("navigation", name="Sidebar")


async def project_names(server: HavenProcess, account: UiAccount) -> list[str]:
    listed = await api(server, account, "GET", "/projects")
    return [p["name"] for p in listed["items"]]


async def test_a_search_is_saved_opened_renamed_and_deleted_from_the_sidebar(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)
    for title in ("Paint the fence", "Paint the door", "Buy milk"):
        await api(ui_server, account, "POST", "/tasks", json={"title": title})
    await sign_in(page, ui_server, account)

    await page.get_by_label("Search tasks").fill("paint")
    await expect(page.get_by_role("button", name="Buy milk")).to_be_hidden()
    await page.get_by_role("button", name="Save search").click()
    dialog = page.get_by_role("dialog", name="Save this search")
    await dialog.get_by_label("Name").fill("Painting")
    await dialog.get_by_role("button", name="Save").click()

    await expect(page.get_by_role("heading", name="Painting", level=1)).to_be_visible()
    [saved] = (await api(ui_server, account, "GET", "/saved-searches"))["items"]
    assert saved["query"]["q"] == "paint"
    await page.get_by_role("link", name="Inbox").click()
    await expect(page.get_by_role("button", name="Buy milk")).to_be_visible()

    await sidebar(page).get_by_role("link", name="Painting").click()
    await expect(page).to_have_url(re.compile(f"/search/{saved['id']}$"))
    await expect(page.get_by_role("button", name="Paint the fence")).to_be_visible()
    await expect(page.get_by_role("button", name="Paint the door")).to_be_visible()
    await expect(page.get_by_role("button", name="Buy milk")).to_be_hidden()

    await sidebar(page).get_by_role("button", name="Options for Painting").click()
    await page.get_by_role("menuitem", name="Rename").click()
    rename = page.get_by_role("dialog", name="Rename saved search")
    await rename.get_by_label("Name").fill("Paint jobs")
    await rename.get_by_role("button", name="Rename").click()
    await expect(sidebar(page).get_by_role("link", name="Paint jobs")).to_be_visible()
    await eventually(
        lambda: api(ui_server, account, "GET", f"/saved-searches/{saved['id']}"),
        lambda found: found["name"] == "Paint jobs",
        what="the renamed search",
    )

    await sidebar(page).get_by_role("button", name="Options for Paint jobs").click()
    await page.get_by_role("menuitem", name="Delete").click()
    await expect(sidebar(page).get_by_role("link", name="Paint jobs")).to_be_hidden()
    await expect(page.get_by_role("heading", name="Inbox", level=1)).to_be_visible()
    assert (await api(ui_server, account, "GET", "/saved-searches"))["items"] == []


async def test_projects_are_reordered_by_dragging(ui_page: Page, ui_server: HavenProcess) -> None:
    page = ui_page
    account = await register(ui_server)
    for name in ("Alpha", "Bravo", "Charlie"):
        await api(ui_server, account, "POST", "/projects", json={"name": name})
    await sign_in(page, ui_server, account)
    handle = sidebar(page).get_by_role("button", name="Move Charlie")
    target = sidebar(page).get_by_role("link", name="Alpha")
    await expect(handle).to_be_visible()

    # A real drag: press, move in steps (dnd-kit starts after 5 px), release over Alpha.
    start, end = await handle.bounding_box(), await target.bounding_box()
    assert start is not None
    assert end is not None
    await page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(end["x"] + 20, end["y"] + end["height"] / 2, steps=12)
    await page.mouse.up()

    links = sidebar(page).get_by_role("link", name=re.compile("^(Alpha|Bravo|Charlie)$"))
    await expect(links).to_have_text(["Charlie", "Alpha", "Bravo"])
    await eventually(
        lambda: project_names(ui_server, account),
        lambda names: names == ["Charlie", "Alpha", "Bravo"],
        what="the dragged order",
    )


@pytest.mark.xfail(
    strict=True,
    reason=(
        "passed on this branch before merging main (f371a99); since that merge the handle's "
        "Space no longer starts dnd-kit's keyboard drag in Chromium, cause not found yet"
    ),
)
async def test_a_project_is_moved_from_the_keyboard(ui_page: Page, ui_server: HavenProcess) -> None:
    page = ui_page
    account = await register(ui_server)
    for name in ("Charlie", "Alpha", "Bravo"):
        await api(ui_server, account, "POST", "/projects", json={"name": name})
    await sign_in(page, ui_server, account)
    links = sidebar(page).get_by_role("link", name=re.compile("^(Alpha|Bravo|Charlie)$"))
    await expect(links).to_have_text(["Charlie", "Alpha", "Bravo"])

    # From the keyboard: pick Charlie up, two steps down, drop.
    # Each step waits for what a screen reader hears (dnd-kit's live region).
    await sidebar(page).get_by_role("button", name="Move Charlie").press("Space")
    await expect(page.get_by_text("Picked up project Charlie.")).to_be_attached()
    await page.keyboard.press("ArrowDown")
    await expect(page.get_by_text("Charlie is over Alpha.")).to_be_attached()
    await page.keyboard.press("ArrowDown")
    await expect(page.get_by_text("Charlie is over Bravo.")).to_be_attached()
    await page.keyboard.press("Space")
    await expect(links).to_have_text(["Alpha", "Bravo", "Charlie"])
    await eventually(
        lambda: project_names(ui_server, account),
        lambda names: names == ["Alpha", "Bravo", "Charlie"],
        what="the order moved from the keyboard",
    )
    await page.reload()
    await expect(links).to_have_text(["Alpha", "Bravo", "Charlie"])


async def test_the_counts_are_exact_past_two_hundred(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)
    async with httpx.AsyncClient(base_url=ui_server.api, headers=account.headers) as client:

        async def add(index: int, due: str) -> None:
            body = {"title": f"Chore {index}", "due": due, "timezone": "UTC"}
            (await client.post("/tasks", json=body)).raise_for_status()

        for batch in range(0, 205, 15):
            await asyncio.gather(
                *(add(i, "2020-01-01") for i in range(batch, min(batch + 15, 205)))
            )
        # Due today, all day (the account's zone is UTC): in Today, not (yet) in Overdue.
        await add(999, datetime.now(UTC).date().isoformat())
    await sign_in(page, ui_server, account)

    overdue = sidebar(page).get_by_role("link", name=re.compile("^Overdue"))
    today = sidebar(page).get_by_role("link", name=re.compile("^Today"))
    await expect(overdue).to_contain_text("205")
    await expect(today).to_contain_text("206")
    await expect(sidebar(page).get_by_role("link", name=re.compile("^Inbox"))).to_contain_text(
        "206"
    )
