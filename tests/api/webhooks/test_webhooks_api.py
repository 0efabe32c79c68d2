"""The webhooks API: who manages endpoints, what they may point at, secrets, events."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from haven.db.session import Database
from haven.events.models import Event
from tests.factories import Account, make_api_key, make_team
from tests.support import event_types, freeze_clock
from tests.webhook_support import create_webhook

PUBLIC = "https://93.184.216.34/hooks"


async def test_an_owner_creates_reads_changes_and_deletes_a_webhook(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    created = await client.post(
        "/webhooks",
        json={"url": PUBLIC, "event_types": ["haven.task.*", "haven.project.created"]},
        headers=alice.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["etag"] == '"1"'
    assert body["workspace_id"] == alice.workspace_id  # the personal workspace by default
    assert body["enabled"] is True
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64
    webhook_id = body["id"]

    read = await client.get(f"/webhooks/{webhook_id}", headers=alice.headers)
    assert read.status_code == 200
    assert "secret" not in read.json()
    assert read.json()["event_types"] == ["haven.task.*", "haven.project.created"]
    listed = await client.get("/webhooks", headers=alice.headers)
    assert [w["id"] for w in listed.json()["items"]] == [webhook_id]

    stale = await client.patch(
        f"/webhooks/{webhook_id}",
        json={"description": "CI"},
        headers={**alice.headers, "If-Match": '"7"'},
    )
    assert stale.status_code == 412
    assert stale.json()["current"]["version"] == 1
    changed = await client.patch(
        f"/webhooks/{webhook_id}",
        json={"description": "CI", "enabled": False},
        headers={**alice.headers, "If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    assert changed.json()["enabled"] is False

    gone = await client.delete(f"/webhooks/{webhook_id}", headers=alice.headers)
    assert gone.status_code == 204
    assert (await client.get(f"/webhooks/{webhook_id}", headers=alice.headers)).status_code == 404

    assert await event_types(database, subject_prefix=f"webhooks/{webhook_id}") == [
        "haven.webhook.created",
        "haven.webhook.updated",
        "haven.webhook.deleted",
    ]
    async with database.sessions() as session:
        datas = await session.scalars(select(Event.data).where(Event.subject.like("webhooks/%")))
        written = str(list(datas))
    assert secret not in written
    assert "changes" in written
    assert "'enabled': [True, False]" in written


async def test_owners_and_admins_manage_members_and_viewers_may_not(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    team = await make_team(client, alice)
    by_admin = await client.post(
        "/webhooks",
        json={"url": PUBLIC, "workspace_id": team.id},
        headers=team.headers("admin"),
    )
    assert by_admin.status_code == 201, by_admin.text
    webhook_id = by_admin.json()["id"]
    for role in ("member", "viewer"):
        headers = team.headers(role)
        refused = await client.post(
            "/webhooks", json={"url": PUBLIC, "workspace_id": team.id}, headers=headers
        )
        assert refused.status_code == 403, role
        assert (await client.get(f"/webhooks/{webhook_id}", headers=headers)).status_code == 403
        listed = await client.get(f"/webhooks?workspace_id={team.id}", headers=headers)
        assert listed.status_code == 403
    owner_list = await client.get(f"/webhooks?workspace_id={team.id}", headers=alice.headers)
    assert [w["id"] for w in owner_list.json()["items"]] == [webhook_id]

    # A stranger learns nothing: 404, as for a webhook that does not exist.
    for method, path in (
        ("GET", f"/webhooks/{webhook_id}"),
        ("PATCH", f"/webhooks/{webhook_id}"),
        ("DELETE", f"/webhooks/{webhook_id}"),
        ("POST", f"/webhooks/{webhook_id}/test"),
        ("POST", f"/webhooks/{webhook_id}/secret"),
        ("GET", f"/webhooks/{webhook_id}/deliveries"),
        ("GET", f"/webhooks?workspace_id={team.id}"),
    ):
        kwargs = {"json": {"description": "x"}} if method == "PATCH" else {}
        response = await client.request(method, path, headers=bob.headers, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/webhooks", headers=bob.headers)).json()["items"] == []


async def test_an_api_key_needs_the_workspaces_scopes(
    client: httpx.AsyncClient, alice: Account
) -> None:
    tasks_only = await make_api_key(client, alice, scopes=["tasks:read", "tasks:write"])
    headers = {"Authorization": f"Bearer {tasks_only['key']}"}
    assert (await client.get("/webhooks", headers=headers)).status_code == 403
    refused = await client.post("/webhooks", json={"url": PUBLIC}, headers=headers)
    assert refused.status_code == 403
    key = await make_api_key(client, alice, scopes=["workspaces:read", "workspaces:write"])
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert (
        await client.post("/webhooks", json={"url": PUBLIC}, headers=headers)
    ).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://93.184.216.34/x"},
        {"url": "https://user:pass@93.184.216.34/x"},
        {"url": "https:///no-host"},
        {"url": "not a url"},
        {"url": "https://93.184.216.34:99999/"},
        {"url": "https://93.184.216.34/" + "a" * 2100},
        {"url": PUBLIC, "event_types": []},
        {"url": PUBLIC, "event_types": ["task.created"]},
        {"url": PUBLIC, "event_types": ["haven.task.exploded"]},
        {"url": PUBLIC, "event_types": ["haven.nothing.*"]},
        {"url": PUBLIC, "event_types": ["*"] * 101},
        {"url": PUBLIC, "event_types": "haven.task.created"},
        {"url": PUBLIC, "enabled": "yes"},
        {"url": PUBLIC, "secret": "whsec_mine"},
        {"url": PUBLIC, "description": "x" * 501},
    ],
)
async def test_bad_input_is_a_422_problem(
    client: httpx.AsyncClient, alice: Account, body: dict[str, object]
) -> None:
    response = await client.post("/webhooks", json=body, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]


async def test_patch_validates_like_create(client: httpx.AsyncClient, alice: Account) -> None:
    webhook = await create_webhook(client, alice, PUBLIC)
    for body in ({"url": None}, {"event_types": ["bogus"]}, {"url": "gopher://x"}, {"x": 1}):
        response = await client.patch(
            f"/webhooks/{webhook['id']}", json=body, headers=alice.headers
        )
        assert response.status_code == 422, (body, response.text)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://100.64.0.1/",
    ],
)
async def test_inside_targets_are_refused_when_saved(
    strict_client: httpx.AsyncClient, alice: Account, url: str
) -> None:
    response = await strict_client.post("/webhooks", json={"url": url}, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "url"]


async def test_an_inside_target_is_refused_by_patch_too(
    strict_client: httpx.AsyncClient, alice: Account
) -> None:
    webhook = await create_webhook(strict_client, alice, PUBLIC)
    response = await strict_client.patch(
        f"/webhooks/{webhook['id']}", json={"url": "http://127.0.0.1/"}, headers=alice.headers
    )
    assert response.status_code == 422
    read = await strict_client.get(f"/webhooks/{webhook['id']}", headers=alice.headers)
    assert read.json()["url"] == PUBLIC


async def test_rotating_the_secret_keeps_the_old_one_valid_for_a_day(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    now = freeze_clock(datetime.now(UTC).replace(microsecond=0))
    webhook = await create_webhook(client, alice, PUBLIC)
    rotated = await client.post(
        f"/webhooks/{webhook['id']}/secret", headers={**alice.headers, "If-Match": '"1"'}
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != webhook["secret"]
    read = (await client.get(f"/webhooks/{webhook['id']}", headers=alice.headers)).json()
    expected = (now[0] + timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    assert read["previous_secret_expires_at"] == expected
    assert read["version"] == 2
    async with database.sessions() as session:
        data = (
            await session.scalars(select(Event.data).where(Event.type == "haven.webhook.updated"))
        ).one()
    assert data["secret_rotated"] is True
    assert new_secret not in str(data)
    assert webhook["secret"] not in str(data)


async def test_a_retried_create_answers_the_first_without_its_secret(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    chosen = "01936d3c-0000-7000-8000-000000000001"
    first = await client.post(
        "/webhooks", json={"id": chosen, "url": PUBLIC}, headers=alice.headers
    )
    assert first.status_code == 201
    again = await client.post(
        "/webhooks", json={"id": chosen, "url": PUBLIC}, headers=alice.headers
    )
    assert again.status_code == 200
    assert again.json()["secret"] is None
    clash = await client.post("/webhooks", json={"id": chosen, "url": PUBLIC}, headers=bob.headers)
    assert clash.status_code == 409


async def test_lists_page_with_a_cursor(client: httpx.AsyncClient, alice: Account) -> None:
    made = [(await create_webhook(client, alice, f"{PUBLIC}/{n}"))["id"] for n in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = "/webhooks?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(query, headers=alice.headers)).json()
        seen += [w["id"] for w in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    bad = await client.get("/webhooks?cursor=garbage", headers=alice.headers)
    assert bad.status_code == 422


async def test_send_test_queues_one_delivery_and_answers_202(
    client: httpx.AsyncClient, alice: Account
) -> None:
    webhook = await create_webhook(client, alice, PUBLIC)
    sent = await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    assert sent.status_code == 202, sent.text
    delivery_id = sent.json()["delivery_id"]
    log = (await client.get(f"/webhooks/{webhook['id']}/deliveries", headers=alice.headers)).json()
    assert [d["id"] for d in log["items"]] == [delivery_id]
    assert log["items"][0]["event_type"] == "haven.webhook.test"
    assert log["items"][0]["status"] == "pending"
    assert log["items"][0]["next_attempt_at"] is not None
    one = await client.get(
        f"/webhooks/{webhook['id']}/deliveries/{delivery_id}", headers=alice.headers
    )
    assert one.status_code == 200
    assert one.json()["attempts"] == []

    await client.patch(f"/webhooks/{webhook['id']}", json={"enabled": False}, headers=alice.headers)
    paused = await client.post(f"/webhooks/{webhook['id']}/test", headers=alice.headers)
    assert paused.status_code == 409
