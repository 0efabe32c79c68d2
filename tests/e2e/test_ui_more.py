"""The web UI's other flows in Chromium against a real `haven serve`: dragging a card across a
project's board, creating an API key (its secret shown once), and sharing a workspace so the
second user sees its tasks in their own session."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.server import HavenProcess
from tests.e2e.ui import api, eventually, register, sign_in

pytestmark = pytest.mark.usefixtures("ui_server")


@pytest.fixture
async def second_page(tmp_path: Path) -> AsyncIterator[Page]:
    """Another browser profile: another person's session beside the first one's."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            user_data_dir=tmp_path / "second-profile",
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            yield context.pages[0] if context.pages else await context.new_page()
        finally:
            await context.close()


async def test_a_card_dragged_to_another_column_changes_the_tasks_status(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)
    project = await api(ui_server, account, "POST", "/projects", json={"name": "Launch"})
    task = await api(
        ui_server,
        account,
        "POST",
        "/tasks",
        json={"title": "Write the press release", "project_id": project["id"]},
    )
    await sign_in(page, ui_server, account)
    await page.goto(f"{ui_server.base_url}/projects/{project['id']}/board")

    card = page.get_by_role("button", name=re.compile("^Write the press release"))
    target = page.get_by_role("region", name=re.compile("^In progress"))
    await expect(card).to_be_visible()
    # A real drag: press, move in steps (dnd-kit starts after 5 px), release over the column.
    start, end = await card.bounding_box(), await target.bounding_box()
    assert start is not None
    assert end is not None
    await page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 60, steps=12)
    await page.mouse.up()

    await expect(
        page.get_by_role("list", name=re.compile("^In progress, 1 tasks")).get_by_role(
            "button", name=re.compile("^Write the press release")
        )
    ).to_be_visible()
    await eventually(
        lambda: api(ui_server, account, "GET", f"/tasks/{task['id']}"),
        lambda found: found["status"] == "in_progress",
        what="the dragged task's status",
    )


async def test_an_api_key_is_created_and_its_secret_shown_once(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)
    await api(ui_server, account, "POST", "/tasks", json={"title": "Visible to the key"})
    await sign_in(page, ui_server, account)
    await page.get_by_role("button", name=re.compile("Account menu")).click()
    await page.get_by_role("menuitem", name="Settings").click()

    await page.get_by_label("Key name").fill("home automation")
    await page.get_by_role("checkbox", name=re.compile("tasks:read")).check()
    await page.get_by_role("button", name="Create key").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("only this once")
    secret = await dialog.get_by_label("Your new API key").input_value()
    assert secret

    async with httpx.AsyncClient(base_url=ui_server.api) as client:
        read = await client.get("/tasks", headers={"Authorization": f"Bearer {secret}"})
        assert read.status_code == 200
        assert [t["title"] for t in read.json()["items"]] == ["Visible to the key"]
        write = await client.post(
            "/tasks", json={"title": "x"}, headers={"Authorization": f"Bearer {secret}"}
        )
        assert write.status_code == 403  # the key was given tasks:read only

    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    keys = page.get_by_role("list", name="API keys")
    await expect(keys).to_contain_text("home automation")
    assert secret not in await page.content()  # shown once: gone with its dialog


async def test_a_shared_workspaces_tasks_show_in_the_new_members_session(
    ui_page: Page, second_page: Page, ui_server: HavenProcess
) -> None:
    owner = await register(ui_server, name="Olivia Owner")
    member = await register(ui_server, name="Max Member")
    team = await api(ui_server, owner, "POST", "/workspaces", json={"name": "Studio"})
    await api(
        ui_server,
        owner,
        "POST",
        "/tasks",
        json={"title": "Book the venue", "workspace_id": team["id"]},
    )

    page = ui_page
    await sign_in(page, ui_server, owner)
    await page.get_by_label("Workspace").select_option(label="Studio")
    await expect(page.get_by_role("button", name="Book the venue")).to_be_visible()
    await page.get_by_role("button", name=re.compile("Account menu")).click()
    await page.get_by_role("menuitem", name="Settings").click()
    add = page.get_by_role("form", name="Add a member")
    await add.get_by_label("Email").fill(member.email)
    await add.get_by_label("Role").select_option("member")
    await add.get_by_role("button", name="Add member").click()
    await expect(page.get_by_role("list", name="Members")).to_contain_text("Max Member")

    other = second_page
    await sign_in(other, ui_server, member)
    await other.get_by_label("Workspace").select_option(label="Studio")
    await expect(other.get_by_role("button", name="Book the venue")).to_be_visible()


async def test_repeat_timer_and_history_in_the_detail_panel(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)
    task = await api(
        ui_server, account, "POST", "/tasks", json={"title": "Team sync", "due": "2030-01-07"}
    )
    await sign_in(page, ui_server, account)
    await page.get_by_role("button", name="Team sync").click()
    panel = page.get_by_role("complementary", name="Task details")

    # Every 2 weeks on Monday and Thursday, summarised in words, saved as an RRULE.
    await panel.get_by_label("Repeat", exact=True).select_option(label="Every 2 weeks on…")
    await panel.get_by_role("checkbox", name="Thursday").check()
    await eventually(
        lambda: api(ui_server, account, "GET", f"/tasks/{task['id']}"),
        lambda found: (
            found["recurrence"] is not None
            and "INTERVAL=2" in found["recurrence"]["rule"]
            and "TH" in found["recurrence"]["rule"]
        ),
        what="the chosen repeat rule",
    )
    await expect(
        panel.get_by_text(re.compile(r"Every 2 weeks on Monday and Thursday"))
    ).to_be_visible()

    # A timer started and stopped leaves a time log.
    await panel.get_by_role("button", name="Start timer").click()
    await expect(panel.get_by_role("timer", name="Running time")).to_be_visible()
    await panel.get_by_role("button", name="Stop timer").click()
    await expect(panel.get_by_role("list", name="Time logs").get_by_role("listitem")).to_have_count(
        1
    )

    # The history tells what happened, in words.
    await panel.get_by_role("button", name="History").click()
    history = panel.get_by_role("list", name="History")
    await expect(history).to_contain_text("Created")
    await expect(history).to_contain_text(re.compile("[Rr]epeat"))
