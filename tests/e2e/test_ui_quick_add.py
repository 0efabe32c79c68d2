"""Quick add in Chromium against a real `haven serve`: the API reads the line, the page
highlights what it understood, and Enter creates the task the line describes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.e2e.server import HavenProcess
from tests.e2e.ui import AXE, SERIOUS, api, eventually, register, sign_in, tasks

pytestmark = pytest.mark.usefixtures("ui_server")


async def quick_add_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious findings in the quick-add form (the whole page has its own test)."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())
    found = await page.evaluate(
        """async () => (await axe.run(document.getElementById("quick-add").form,
                                      {resultTypes: ["violations"]})).violations"""
    )
    return [v for v in found if v["impact"] in SERIOUS]


DENTIST = "Call the dentist tomorrow at 5pm, remind me 30 minutes before"


async def test_the_dentist_line_becomes_a_task_with_a_due_time_and_a_reminder(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)  # in UTC
    await sign_in(page, ui_server, account)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()

    await page.keyboard.press("q")
    await page.keyboard.type(DENTIST)
    understood = page.get_by_role("group", name="Quick add understood")
    due_part = understood.locator("mark", has_text="tomorrow at 5pm")
    await expect(due_part).to_have_attribute("title", "Due")
    reminder_part = understood.locator("mark", has_text="remind me 30 minutes before")
    await expect(reminder_part).to_have_attribute("title", "Reminder")
    await expect(understood).to_contain_text("“Call the dentist” · Tomorrow 17:00 · 1 reminder")
    await expect(page.get_by_label("Add a task")).to_have_attribute(
        "aria-describedby", "quick-add-parsed"
    )

    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Add a task")).to_have_value("")
    await expect(understood).to_be_hidden()
    row = page.get_by_role("listitem").filter(
        has=page.get_by_role("button", name="Call the dentist", exact=True)
    )
    await expect(row).to_contain_text("Tomorrow 17:00")

    [created] = await eventually(
        lambda: tasks(ui_server, account), lambda found: len(found) == 1, what="the new task"
    )
    assert created["title"] == "Call the dentist"
    assert created["due"] == f"{tomorrow.isoformat()}T17:00:00Z"
    reminders = await api(ui_server, account, "GET", f"/tasks/{created['id']}/reminders")
    [reminder] = reminders["items"]
    assert reminder["offset_minutes"] == 30
    assert reminder["fire_at"] == f"{tomorrow.isoformat()}T16:30:00Z"


async def test_project_tag_and_priority_are_highlighted_and_applied(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)
    await sign_in(page, ui_server, account)

    await page.get_by_label("Add a task").fill("Plant tulips every saturday #garden @outside p2")
    understood = page.get_by_role("group", name="Quick add understood")
    for text, kind in [
        ("every saturday", "Repeats"),
        ("#garden", "Project"),
        ("@outside", "Tag"),
        ("p2", "Priority"),
    ]:
        await expect(understood.locator("mark", has_text=text)).to_have_attribute("title", kind)
    await expect(understood).to_contain_text("garden (new project)")
    for scheme in ("light", "dark"):  # the highlight colours keep their contrast in both
        # No motion: axe reads colours as they are, never halfway through the theme's
        # transition (a wait for it to end raced a busy machine).
        await page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
        assert await quick_add_violations(page) == [], scheme
    await page.get_by_label("Add a task").press("Enter")
    await expect(page.get_by_label("Add a task")).to_have_value("")

    [created] = await eventually(
        lambda: tasks(ui_server, account), lambda found: len(found) == 1, what="the new task"
    )
    assert created["title"] == "Plant tulips"
    assert (created["tags"], created["priority"]) == (["outside"], "high")
    assert created["recurrence"]["rule"] == "FREQ=WEEKLY;BYDAY=SA"
    projects = (await api(ui_server, account, "GET", "/projects"))["items"]
    assert [(p["id"], p["name"]) for p in projects] == [(created["project_id"], "garden")]
    # The new project shows in the sidebar without a reload.
    await expect(page.get_by_role("link", name="garden")).to_be_visible()


async def test_a_refused_line_stays_typed_with_the_reason(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)
    await sign_in(page, ui_server, account)

    line = "Check the logs every hour"  # hourly cannot repeat on a date-only due
    await page.get_by_label("Add a task").fill(line)
    await page.get_by_label("Add a task").press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("recurrence")
    await expect(page.get_by_label("Add a task")).to_have_value(line)
    assert await tasks(ui_server, account) == []
