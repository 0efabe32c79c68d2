"""The web UI's notifications in Chromium against a real `haven serve` (its worker included):
a reminder fires through the scheduler and the notifications consumer into the bell, and the
notification settings make the round trip to the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from tests.e2e.server import HavenProcess
from tests.e2e.ui import api, eventually, register, sign_in

pytestmark = pytest.mark.usefixtures("ui_server")


async def test_a_reminder_reaches_the_bell_and_opens_its_task(
    ui_page: Page, ui_server: HavenProcess
) -> None:
    page = ui_page
    account = await register(ui_server)
    await sign_in(page, ui_server, account)
    bell = page.get_by_role("button", name=re.compile(r"^Notifications, "))
    await expect(bell).to_have_accessible_name("Notifications, none unread")

    task = await api(ui_server, account, "POST", "/tasks", json={"title": "Call the plumber"})
    at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    await api(ui_server, account, "POST", f"/tasks/{task['id']}/reminders", json={"at": at})
    # The scheduler fires it, the consumer makes the in-app notification.
    await eventually(
        lambda: api(ui_server, account, "GET", "/notifications", params={"unread": "true"}),
        lambda page_: len(page_["items"]) == 1,
        what="the reminder's notification",
        seconds=30,
    )
    # The bell polls every minute; a reload (or the window regaining focus) asks at once.
    await page.reload()
    await expect(bell).to_have_accessible_name("Notifications, 1 unread")
    await expect(bell).to_have_text("1")

    await bell.click()
    dialog = page.get_by_role("dialog", name="Notifications")
    entry = dialog.get_by_role("link", name=re.compile(r"^Unread: Call the plumber"))
    await expect(entry).to_be_visible()
    await entry.click()
    await expect(dialog).to_be_hidden()
    panel = page.get_by_role("complementary", name="Task details")
    await expect(panel.get_by_label("Title")).to_have_value("Call the plumber")
    await expect(bell).to_have_accessible_name("Notifications, none unread")
    read = await api(ui_server, account, "GET", "/notifications")
    assert [n["read_at"] is not None for n in read["items"]] == [True]

    # Reopened: the entry is read now, and the empty-unread state has nothing to mark.
    await bell.click()
    await expect(dialog.get_by_role("link", name=re.compile(r"^Call the plumber"))).to_be_visible()
    await expect(dialog.get_by_role("button", name="Mark all read")).to_be_disabled()
    await page.keyboard.press("Escape")
    await expect(bell).to_be_focused()


async def test_notification_settings_round_trip(ui_page: Page, ui_server: HavenProcess) -> None:
    page = ui_page
    account = await register(ui_server)
    await sign_in(page, ui_server, account)
    await page.goto(f"{ui_server.base_url}/settings")
    section = page.get_by_role("region", name="Notifications")
    await section.get_by_role("checkbox", name=re.compile("^Email")).uncheck()
    await section.get_by_role("checkbox", name=re.compile("Hold email and push")).check()
    await section.get_by_label("Quiet from").fill("21:30")
    await section.get_by_label("Quiet until").fill("06:15")
    await section.get_by_role("checkbox", name=re.compile("digest every morning")).check()
    await section.get_by_label("Digest time").fill("06:45")
    await section.get_by_role("button", name="Save notification settings").click()
    await expect(page.get_by_text("Notification settings saved")).to_be_visible()

    preferences = await api(ui_server, account, "GET", "/notification-preferences")
    assert preferences == {
        "email": False,
        "push": True,
        "in_app": True,
        "quiet_hours_start": "21:30",
        "quiet_hours_end": "06:15",
    }
    me = await api(ui_server, account, "GET", "/me")
    assert (me["digest_enabled"], me["digest_time"]) == (True, "06:45")

    # What the page shows after a reload is what the API keeps.
    await page.reload()
    await expect(section.get_by_role("checkbox", name=re.compile("^Email"))).not_to_be_checked()
    await expect(section.get_by_label("Quiet from")).to_have_value("21:30")
    await expect(section.get_by_label("Digest time")).to_have_value("06:45")
    # Quiet hours off again clears both ends.
    await section.get_by_role("checkbox", name=re.compile("Hold email and push")).uncheck()
    await section.get_by_role("button", name="Save notification settings").click()
    await eventually(
        lambda: api(ui_server, account, "GET", "/notification-preferences"),
        lambda p: p["quiet_hours_start"] is None and p["quiet_hours_end"] is None,
        what="quiet hours cleared",
    )
