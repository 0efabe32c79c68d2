"""The web UI in Chromium against a real `haven serve`: what a new user does first.

Elements are found the way a person finds them (role, label, visible text); what the page
did is checked again through the API.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.server import HavenProcess
from tests.e2e.ui import PASSWORD, api, eventually, register, sign_in, tasks, unique_email

pytestmark = pytest.mark.usefixtures("ui_server")


def task_list(page: Page, view: str = "Inbox") -> object:
    return page.get_by_role("list", name=f"{view} tasks")


async def test_a_new_user_signs_up_and_keeps_no_token_where_scripts_can_read_it(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    await page.goto(ui_server.base_url)
    await expect(page).to_have_url(re.compile(r"/signin"))
    await page.get_by_role("link", name="Create one").click()
    await page.get_by_label("Name").fill("Grace Hopper")
    await page.get_by_label("Email").fill(unique_email("grace"))
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Inbox", level=1)).to_be_visible()
    await expect(page.get_by_text("press q to add one")).to_be_visible()

    # The refresh token is an httpOnly cookie; nothing token-like in storage or document.cookie.
    readable = await page.evaluate(
        "() => [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)]"
    )
    assert "haven_refresh" not in readable[0]
    assert "eyJ" not in "".join(readable)  # no JWT anywhere a script can read
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["haven_refresh"]["httpOnly"] is True
    assert cookies["haven_refresh"]["sameSite"] == "Strict"

    # A reload signs in again silently, from the cookie.
    await page.reload()
    await expect(page.get_by_role("heading", name="Inbox", level=1)).to_be_visible()


async def test_quick_add_then_complete_with_undo(ui_page: Page, ui_server: HavenProcess) -> None:
    page = ui_page
    account = await register(ui_server)
    await sign_in(page, ui_server, account)

    await page.keyboard.press("q")
    await expect(page.get_by_label("Add a task")).to_be_focused()
    await page.keyboard.type("Water the plants")
    await page.keyboard.press("Enter")
    row = page.get_by_role("button", name="Water the plants")
    await expect(row).to_be_visible()
    [created] = await eventually(
        lambda: tasks(ui_server, account), lambda found: len(found) == 1, what="the new task"
    )
    assert created["title"] == "Water the plants"

    async def status() -> str:
        return str((await api(ui_server, account, "GET", f"/tasks/{created['id']}"))["status"])

    await page.get_by_role("checkbox", name="Complete “Water the plants”").check()
    await expect(page.get_by_role("button", name="Undo")).to_be_visible()
    await expect(row).to_be_hidden()
    await eventually(status, lambda value: value == "done", what="the completed task")

    await page.get_by_role("button", name="Undo").click()
    await expect(row).to_be_visible()
    await eventually(status, lambda value: value != "done", what="the reopened task")


async def test_edits_in_the_detail_panel_are_saved(ui_page: Page, ui_server: HavenProcess) -> None:
    page = ui_page
    account = await register(ui_server)
    task = await api(ui_server, account, "POST", "/tasks", json={"title": "Draft the report"})
    await sign_in(page, ui_server, account)

    await page.get_by_role("button", name="Draft the report").click()
    panel = page.get_by_role("complementary", name="Task details")
    await expect(panel).to_be_visible()
    title = panel.get_by_label("Title")
    await title.fill("Finish the report")
    await title.press("Enter")
    await panel.get_by_label("Priority").select_option("high")
    await panel.get_by_label("Progress").fill("40")
    await panel.get_by_label("Progress").press("Tab")
    await panel.get_by_label("Tags").fill("work")
    await panel.get_by_label("Tags").press("Enter")

    async def saved() -> tuple[object, ...]:
        current = await api(ui_server, account, "GET", f"/tasks/{task['id']}")
        return (current["title"], current["priority"], current["progress"], current["tags"])

    await eventually(
        saved,
        lambda fields: fields == ("Finish the report", "high", 40, ["work"]),
        what="the panel's edits, through the API",
    )
    await expect(page.get_by_role("button", name="Finish the report")).to_be_visible()


async def test_completing_a_recurring_task_shows_its_next_occurrence(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)
    await api(
        ui_server,
        account,
        "POST",
        "/tasks",
        json={"title": "Stretch", "due": "2030-01-07", "recurrence": {"rule": "FREQ=WEEKLY"}},
    )
    await sign_in(page, ui_server, account)
    await expect(page.get_by_role("button", name="Stretch")).to_have_count(1)
    await page.get_by_role("checkbox", name="Complete “Stretch”").check()
    # The done occurrence leaves the Inbox; the next one (a week later) takes its place.
    await expect(page.locator("time", has_text=re.compile("Jan 14|14 Jan"))).to_be_visible()
    await eventually(
        lambda: tasks(ui_server, account, status="todo"),
        lambda found: [t["due"] for t in found] == ["2030-01-14"],
        what="the next occurrence",
    )


async def test_search_filters_as_you_type(ui_page: Page, ui_server: HavenProcess) -> None:
    page = ui_page
    account = await register(ui_server)
    for title in ("Call the plumber", "Buy stamps", "Call grandma"):
        await api(ui_server, account, "POST", "/tasks", json={"title": title})
    await sign_in(page, ui_server, account)
    await expect(page.get_by_role("button", name="Buy stamps")).to_be_visible()

    await page.keyboard.press("/")
    await expect(page.get_by_label("Search")).to_be_focused()
    await page.keyboard.type("call")
    await expect(page.get_by_role("button", name="Buy stamps")).to_be_hidden()
    await expect(page.get_by_role("button", name="Call the plumber")).to_be_visible()
    await expect(page.get_by_role("button", name="Call grandma")).to_be_visible()


async def test_keyboard_alone_creates_and_completes_a_task(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)
    await api(ui_server, account, "POST", "/tasks", json={"title": "Already here"})
    await sign_in(page, ui_server, account)

    await page.keyboard.press("q")
    await expect(page.get_by_label("Add a task")).to_be_focused()
    await page.keyboard.type("Typed without a mouse")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="Typed without a mouse")).to_be_visible()
    await page.keyboard.press("Escape")  # leave the quick add: shortcuts work again

    await page.keyboard.press("?")
    await expect(page.get_by_role("dialog", name=re.compile("shortcuts", re.I))).to_be_visible()
    await page.keyboard.press("Escape")

    # j selects rows from the top; x completes the selected one.
    target = "Typed without a mouse"
    await eventually(
        lambda: tasks(ui_server, account),
        lambda found: target in [t["title"] for t in found],
        what="the typed task",
    )
    for _ in range(3):
        await page.keyboard.press("j")
        selected = page.locator('[aria-current="true"]')
        if await selected.inner_text() == target:
            break
    await expect(page.locator('[aria-current="true"]')).to_have_text(target)
    await page.keyboard.press("x")
    await expect(page.get_by_role("button", name=target)).to_be_hidden()
    await eventually(
        lambda: tasks(ui_server, account, status="done"),
        lambda found: [t["title"] for t in found] == [target],
        what="the task completed with x",
    )


async def test_an_edit_that_lost_a_race_reloads_the_task_and_says_so(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    """Someone else changed the task after the panel loaded it: the panel's save answers 412,
    the panel shows their version and tells the user; nothing of theirs is overwritten."""
    page = ui_page
    account = await register(ui_server)
    task = await api(ui_server, account, "POST", "/tasks", json={"title": "Order the cake"})
    await sign_in(page, ui_server, account)
    await page.get_by_role("button", name="Order the cake").click()
    panel = page.get_by_role("complementary", name="Task details")
    await expect(panel.get_by_label("Title")).to_have_value("Order the cake")

    # Another device renames it meanwhile (with the version it read: no conflict there).
    await api(
        ui_server,
        account,
        "PATCH",
        f"/tasks/{task['id']}",
        json={"title": "Order the chocolate cake"},
        headers={"If-Match": f'"{task["version"]}"'},
    )
    await panel.get_by_label("Priority").select_option("urgent")

    await expect(panel.get_by_role("alert")).to_contain_text("Someone else changed this task")
    await expect(panel.get_by_label("Title")).to_have_value("Order the chocolate cake")
    current = await api(ui_server, account, "GET", f"/tasks/{task['id']}")
    assert (current["title"], current["priority"]) == ("Order the chocolate cake", "none")
