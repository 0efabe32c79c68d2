"""Task rows in Chromium against a real `haven serve`: the subtask count a row shows, `#` to
move a task to a project (keyboard alone, with Undo), and Upcoming read like a calendar list.

Elements are found the way a person finds them (role, label, visible text); what the page
did is checked again through the API.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.e2e.server import HavenProcess
from tests.e2e.ui import api, eventually, register, sign_in, tasks

pytestmark = pytest.mark.usefixtures("ui_server")

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"


async def _serious_axe_violations(page: Page) -> list[dict[str, Any]]:
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())  # through DevTools: the CSP keeps <script> out
    violations = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


async def test_a_row_shows_its_subtasks_done_and_follows_them(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)
    parent = await api(ui_server, account, "POST", "/tasks", json={"title": "Move house"})
    for title in ("Pack the books", "Book a van"):
        await api(
            ui_server, account, "POST", "/tasks", json={"title": title, "parent_id": parent["id"]}
        )
    await sign_in(page, ui_server, account)

    inbox = page.get_by_role("list", name="Inbox tasks")
    count = inbox.get_by_role("img", name="0 of 2 subtasks done")
    await expect(count).to_have_text("0/2")

    await inbox.get_by_role("button", name="Move house").click()
    panel = page.get_by_role("complementary", name="Task details")
    await panel.get_by_label("Pack the books").check()
    await expect(inbox.get_by_role("img", name="1 of 2 subtasks done")).to_have_text("1/2")
    shown = await api(ui_server, account, "GET", f"/tasks/{parent['id']}")
    assert (shown["subtask_count"], shown["subtasks_done"]) == (2, 1)


async def test_hash_moves_the_selected_task_to_a_project_by_keyboard_and_undo_brings_it_back(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)
    garden = await api(ui_server, account, "POST", "/projects", json={"name": "Garden"})
    await api(ui_server, account, "POST", "/projects", json={"name": "Groceries"})
    task = await api(ui_server, account, "POST", "/tasks", json={"title": "Buy seeds"})
    await sign_in(page, ui_server, account)
    inbox = page.get_by_role("list", name="Inbox tasks")
    await expect(inbox.get_by_role("button", name="Buy seeds")).to_be_visible()

    await page.keyboard.press("j")
    await expect(inbox.get_by_role("button", name="Buy seeds")).to_have_attribute(
        "aria-current", "true"
    )
    await page.keyboard.press("#")
    picker = page.get_by_role("dialog", name="Move “Buy seeds” to…")
    await expect(picker).to_be_visible()
    await expect(picker.get_by_role("combobox", name="Project")).to_be_focused()
    await page.keyboard.type("gar")
    await expect(picker.get_by_role("option")).to_have_text(["Garden"])
    await page.keyboard.press("Enter")

    await expect(picker).to_be_hidden()
    await expect(inbox.get_by_role("button", name="Buy seeds")).to_be_hidden()
    await expect(page.get_by_text("Moved “Buy seeds” to Garden")).to_be_visible()
    await eventually(
        lambda: api(ui_server, account, "GET", f"/tasks/{task['id']}"),
        lambda shown: shown["project_id"] == garden["id"],
        what="the task's project",
    )

    await page.get_by_role("button", name="Undo").click()
    await expect(inbox.get_by_role("button", name="Buy seeds")).to_be_visible()
    back = await eventually(
        lambda: api(ui_server, account, "GET", f"/tasks/{task['id']}"),
        lambda shown: shown["project_id"] is None,
        what="the task's project after Undo",
    )
    assert back["version"] == 3  # moved, and moved back: two changes, each with If-Match

    # Esc leaves the task where it is.
    await page.keyboard.press("j")
    await page.keyboard.press("#")
    await expect(picker).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(picker).to_be_hidden()
    assert (await api(ui_server, account, "GET", f"/tasks/{task['id']}"))["project_id"] is None


def _heading(day: date, today: date) -> str:
    if day == today + timedelta(days=1):
        return "Tomorrow"
    year = "" if day.year == today.year else f" {day.year}"
    return f"{day:%a} {day.day} {day:%b}{year}"


async def test_upcoming_heads_each_day_in_order_and_j_k_skip_the_headings(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)  # its zone: UTC
    today = datetime.now(UTC).date()
    tomorrow, later, much_later = (today + timedelta(days=n) for n in (1, 3, 10))
    for title, due in (
        ("Dentist", f"{tomorrow.isoformat()}T15:00:00Z"),
        ("Renew passport", much_later.isoformat()),
        ("Call the bank", f"{tomorrow.isoformat()}T08:30:00Z"),
        ("Pay rent", tomorrow.isoformat()),
        ("Plan the trip", later.isoformat()),
    ):
        await api(ui_server, account, "POST", "/tasks", json={"title": title, "due": due})
    await sign_in(page, ui_server, account)
    await page.get_by_role("link", name=re.compile("^Upcoming")).click()

    upcoming = page.get_by_role("list", name="Upcoming tasks")
    await expect(upcoming.get_by_role("heading", level=2)).to_have_text(
        [_heading(day, today) for day in (tomorrow, later, much_later)]
    )
    # All-day first, then by time; each under its day.
    titles = ["Pay rent", "Call the bank", "Dentist", "Plan the trip", "Renew passport"]
    await expect(upcoming.get_by_role("listitem")).to_have_text(
        [
            re.compile(f"^{_heading(tomorrow, today)}$"),
            *(re.compile(re.escape(t)) for t in titles[:3]),
            re.compile(f"^{_heading(later, today)}$"),
            re.compile(re.escape(titles[3])),
            re.compile(f"^{_heading(much_later, today)}$"),
            re.compile(re.escape(titles[4])),
        ]
    )

    for title in [*titles[:4], titles[4], titles[4]]:  # j past the last stays on it
        await page.keyboard.press("j")
        await expect(upcoming.get_by_role("button", name=title)).to_have_attribute(
            "aria-current", "true"
        )
    for title in reversed(titles[:4]):
        await page.keyboard.press("k")
        await expect(upcoming.get_by_role("button", name=title)).to_have_attribute(
            "aria-current", "true"
        )
    assert await _serious_axe_violations(page) == []
    assert len(await tasks(ui_server, account)) == len(titles)
