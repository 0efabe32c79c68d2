"""GET /notifications, POST /notifications/{id}/read, /notification-preferences and
GET /admin/notifications: whose, in which order, and what bad input gets."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import update

from haven.accounts.models import User
from haven.db.session import Database
from haven.notifications.models import Notification
from tests.factories import Account, make_api_key, make_task
from tests.integration.notifications.helpers import consume, emit, reminder_due
from tests.support import event_types


async def remind(
    client: httpx.AsyncClient, database: Database, account: Account, title: str
) -> Notification:
    task = await make_task(client, account, title=title, due="2026-12-10")
    notification = await consume(
        database, await emit(database, reminder_due(task, user_id=account.id))
    )
    assert notification is not None
    return notification


async def make_superuser(database: Database, account: Account) -> None:
    async with database.sessions() as session, session.begin():
        await session.execute(
            update(User).where(User.id == uuid.UUID(account.id)).values(is_superuser=True)
        )


async def test_the_caller_sees_their_own_notifications_newest_first_page_by_page(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    titles = [f"Task {n}" for n in range(5)]
    for title in titles:
        await remind(client, database, alice, title)
    await remind(client, database, bob, "Bob's own")

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/notifications", params=params, headers=alice.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["title"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == titles[::-1]
    first = (await client.get("/notifications", headers=alice.headers)).json()["items"][0]
    assert first["kind"] == "reminder"
    assert first["data"]["task"]["title"] == "Task 4"
    assert {d["channel"]: d["status"] for d in first["deliveries"]} == {
        "email": "queued",
        "in_app": "sent",
    }


async def test_reading_is_idempotent_and_filters_unread(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    one = await remind(client, database, alice, "One")
    await remind(client, database, alice, "Two")

    first = await client.post(f"/notifications/{one.id}/read", headers=alice.headers)
    assert first.status_code == 200, first.text
    read_at = first.json()["read_at"]
    assert read_at is not None
    again = await client.post(f"/notifications/{one.id}/read", headers=alice.headers)
    assert again.status_code == 200
    assert again.json()["read_at"] == read_at
    assert (await event_types(database)).count("haven.notification.read") == 1

    unread = await client.get("/notifications?unread=true", headers=alice.headers)
    assert [n["title"] for n in unread.json()["items"]] == ["Two"]
    read = await client.get("/notifications?unread=false", headers=alice.headers)
    assert [n["title"] for n in read.json()["items"]] == ["One"]


async def test_someone_elses_notification_is_not_found(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    theirs = await remind(client, database, alice, "Alice's")
    response = await client.post(f"/notifications/{theirs.id}/read", headers=bob.headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    missing = await client.post(f"/notifications/{uuid.uuid4()}/read", headers=bob.headers)
    assert missing.status_code == 404


async def test_bad_input_is_a_problem_not_a_crash(
    client: httpx.AsyncClient, alice: Account
) -> None:
    h = alice.headers
    for response in (
        await client.post("/notifications/not-an-id/read", headers=h),
        await client.get("/notifications?cursor=garbage", headers=h),
        await client.get("/notifications?limit=0", headers=h),
        await client.get("/notifications?unread=perhaps", headers=h),
    ):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/notifications")).status_code == 401


async def test_a_read_only_key_lists_but_cannot_mark_read(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    notification = await remind(client, database, alice, "Keyed")
    key = await make_api_key(client, alice, scopes=["account:read"])
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert (await client.get("/notifications", headers=headers)).status_code == 200
    refused = await client.post(f"/notifications/{notification.id}/read", headers=headers)
    assert refused.status_code == 403


async def test_preferences_default_change_and_refuse_bad_values(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    h = alice.headers
    defaults = await client.get("/notification-preferences", headers=h)
    assert defaults.json() == {
        "email": True,
        "push": True,
        "in_app": True,
        "quiet_hours_start": None,
        "quiet_hours_end": None,
    }
    changed = await client.patch(
        "/notification-preferences",
        json={"email": False, "quiet_hours_start": "22:30", "quiet_hours_end": "06:45"},
        headers=h,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] is False
    assert (await client.get("/notification-preferences", headers=h)).json() == changed.json()
    same = await client.patch("/notification-preferences", json={"email": False}, headers=h)
    assert same.status_code == 200
    assert (await event_types(database)).count("haven.notification_preferences.updated") == 1

    for body in (
        {"quiet_hours_start": "25:00", "quiet_hours_end": "06:00"},
        {"quiet_hours_start": "7:00", "quiet_hours_end": "08:00"},
        {"quiet_hours_start": "22:00"},
        {"quiet_hours_start": "22:00", "quiet_hours_end": None},
        {"email": None},
        {"email": "yes please"},
        {"sms": True},
    ):
        response = await client.patch("/notification-preferences", json=body, headers=h)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    cleared = await client.patch(
        "/notification-preferences",
        json={"quiet_hours_start": None, "quiet_hours_end": None},
        headers=h,
    )
    assert cleared.json()["quiet_hours_start"] is None


async def test_email_turned_off_makes_no_mail_delivery(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    off = await client.patch(
        "/notification-preferences", json={"email": False}, headers=alice.headers
    )
    assert off.status_code == 200
    await remind(client, database, alice, "Quietly")
    (item,) = (await client.get("/notifications", headers=alice.headers)).json()["items"]
    assert [d["channel"] for d in item["deliveries"]] == ["in_app"]


async def test_the_queue_is_for_superusers_with_filters(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    await remind(client, database, alice, "For Alice")
    await remind(client, database, bob, "For Bob")
    refused = await client.get("/admin/notifications", headers=bob.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"

    await make_superuser(database, alice)
    everything = await client.get("/admin/notifications", headers=alice.headers)
    assert everything.status_code == 200, everything.text
    items = everything.json()["items"]
    assert {(i["notification"]["title"], i["channel"]) for i in items} == {
        ("For Alice", "email"),
        ("For Alice", "in_app"),
        ("For Bob", "email"),
        ("For Bob", "in_app"),
    }
    queued = await client.get(
        "/admin/notifications",
        params={"status": "queued", "channel": "email"},
        headers=alice.headers,
    )
    assert {i["notification"]["title"] for i in queued.json()["items"]} == {"For Alice", "For Bob"}
    assert all(i["status"] == "queued" for i in queued.json()["items"])
    bobs = await client.get(
        "/admin/notifications", params={"user_id": bob.id}, headers=alice.headers
    )
    assert {i["notification"]["user_id"] for i in bobs.json()["items"]} == {bob.id}
    paged = await client.get("/admin/notifications", params={"limit": 3}, headers=alice.headers)
    rest = await client.get(
        "/admin/notifications",
        params={"limit": 3, "cursor": paged.json()["next_cursor"]},
        headers=alice.headers,
    )
    ids = [i["id"] for i in paged.json()["items"] + rest.json()["items"]]
    assert len(ids) == len(set(ids)) == 4

    bad = await client.get("/admin/notifications?status=lost", headers=alice.headers)
    assert bad.status_code == 422
    key = await make_api_key(client, alice, scopes=["account:read"])
    keyed = await client.get(
        "/admin/notifications", headers={"Authorization": f"Bearer {key['key']}"}
    )
    assert keyed.status_code == 403


async def test_read_all_marks_only_the_callers_unread_ones(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    one = await remind(client, database, alice, "One")
    await remind(client, database, alice, "Two")
    await remind(client, database, bob, "Bob's")
    assert (await client.post(f"/notifications/{one.id}/read", headers=alice.headers)).is_success

    response = await client.post("/notifications/read-all", headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"marked": 1, "more": False}
    unread = await client.get("/notifications?unread=true", headers=alice.headers)
    assert unread.json()["items"] == []
    bobs = await client.get("/notifications?unread=true", headers=bob.headers)
    assert [n["title"] for n in bobs.json()["items"]] == ["Bob's"]
    assert (await event_types(database)).count("haven.notification.read") == 2
    again = await client.post("/notifications/read-all", headers=alice.headers)
    assert again.json() == {"marked": 0, "more": False}
