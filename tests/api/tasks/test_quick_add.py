"""POST /tasks/quick-add: one line becomes a task, through the same path as POST /tasks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from haven.core import clock
from haven.db.session import Database
from tests.factories import Account, make_api_key, make_team
from tests.support import event_types, freeze_clock

DENTIST = "Call the dentist tomorrow at 5pm, remind me 30 minutes before"


def _friday_morning() -> None:
    freeze_clock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))  # 10:00 in Berlin, Alice's zone


@pytest.fixture(autouse=True)
def _frozen(alice: Account, bob: Account) -> None:
    # After signing in: access tokens are checked against the real time.
    _friday_morning()


async def test_the_user_story(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post("/tasks/quick-add", json={"text": DENTIST}, headers=alice.headers)

    assert response.status_code == 201, response.text
    task = response.json()
    assert task["title"] == "Call the dentist"
    assert task["due"] == "2026-11-28T16:00:00Z"  # 17:00 in Berlin
    assert task["timezone"] == "Europe/Berlin"
    assert response.headers["ETag"] == f'"{task["version"]}"'
    assert task["parsed"] == [
        {"text": "tomorrow at 5pm", "start": 17, "end": 32, "kind": "due"},
        {"text": "remind me 30 minutes before", "start": 34, "end": 61, "kind": "reminder"},
    ]
    stored = (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).json()
    assert stored == {key: value for key, value in task.items() if key != "parsed"}
    reminders = (await client.get(f"/tasks/{task['id']}/reminders", headers=alice.headers)).json()
    [reminder] = reminders["items"]
    assert reminder["offset_minutes"] == 30
    assert reminder["fire_at"] == "2026-11-28T15:30:00Z"


async def test_everything_a_line_can_say(client: httpx.AsyncClient, alice: Account) -> None:
    home = (await client.post("/projects", json={"name": "Home"}, headers=alice.headers)).json()
    response = await client.post(
        "/tasks/quick-add",
        json={"text": "Pay rent every month on the 1st #home @money p1"},
        headers=alice.headers,
    )

    assert response.status_code == 201, response.text
    task = response.json()
    assert task["title"] == "Pay rent"
    assert task["project_id"] == home["id"]
    assert task["tags"] == ["money"]
    assert task["priority"] == "urgent"
    assert task["recurrence"] == {
        "rule": "FREQ=MONTHLY;BYMONTHDAY=1",
        "mode": "due",
        "text": "every month on the 1st",
    }
    assert task["due"] == "2026-12-01"
    assert [part["kind"] for part in task["parsed"]] == ["recurrence", "project", "tag", "priority"]


async def test_completion_mode_recurrence(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post(
        "/tasks/quick-add", json={"text": "Stretch every! 2 days"}, headers=alice.headers
    )
    assert response.json()["recurrence"]["mode"] == "completion"


async def test_a_missing_project_is_created_with_its_event(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    response = await client.post(
        "/tasks/quick-add", json={"text": "Plant tulips #garden"}, headers=alice.headers
    )

    assert response.status_code == 201, response.text
    project_id = response.json()["project_id"]
    projects = (await client.get("/projects", headers=alice.headers)).json()["items"]
    assert [(p["id"], p["name"]) for p in projects] == [(project_id, "garden")]
    assert await event_types(database, subject_prefix=f"projects/{project_id}") == [
        "haven.project.created"
    ]
    again = await client.post(
        "/tasks/quick-add", json={"text": "Water tulips #Garden"}, headers=alice.headers
    )
    assert again.json()["project_id"] == project_id


async def test_dry_run_creates_nothing(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    before = await event_types(database)
    response = await client.post(
        "/tasks/quick-add?dry_run=true",
        json={"text": "Plant tulips tomorrow 9am #garden @outside p2, remind me at 8am"},
        headers=alice.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "title": "Plant tulips",
        "due": "2026-11-28T08:00:00Z",
        "priority": "high",
        "project": "garden",
        "project_id": None,
        "tags": ["outside"],
        "recurrence": None,
        "reminders": [{"at": "2026-11-28T07:00:00Z", "offset_minutes": None}],
        "timezone": "Europe/Berlin",
        "parsed": [
            {"text": "tomorrow 9am", "start": 13, "end": 25, "kind": "due"},
            {"text": "#garden", "start": 26, "end": 33, "kind": "project"},
            {"text": "@outside", "start": 34, "end": 42, "kind": "tag"},
            {"text": "p2", "start": 43, "end": 45, "kind": "priority"},
            {"text": "remind me at 8am", "start": 47, "end": 63, "kind": "reminder"},
        ],
    }
    assert await event_types(database) == before
    assert (await client.get("/projects", headers=alice.headers)).json()["items"] == []
    assert (await client.get("/tasks", headers=alice.headers)).json()["items"] == []
    assert (await client.get("/tags", headers=alice.headers)).json()["items"] == []


async def test_defaults_of_the_list_apply_where_the_line_is_silent(
    client: httpx.AsyncClient, alice: Account
) -> None:
    work = (await client.post("/projects", json={"name": "Work"}, headers=alice.headers)).json()
    body = {"text": "Write report", "project_id": work["id"], "tags": ["q4"], "due": "2026-11-27"}
    task = (await client.post("/tasks/quick-add", json=body, headers=alice.headers)).json()
    assert (task["project_id"], task["tags"], task["due"]) == (work["id"], ["q4"], "2026-11-27")

    body["text"] = "Write report fri #errands @Q4"
    task = (await client.post("/tasks/quick-add", json=body, headers=alice.headers)).json()
    assert task["project_id"] != work["id"]
    assert (task["tags"], task["due"]) == (["q4"], "2026-12-04")


async def test_the_line_is_read_in_the_callers_zone(
    client: httpx.AsyncClient, bob: Account
) -> None:
    task = (
        await client.post("/tasks/quick-add", json={"text": "Call Ann 5pm"}, headers=bob.headers)
    ).json()
    assert task["due"] == "2026-11-27T22:00:00Z"  # 17:00 in New York
    tokyo = {"text": "Call Ann 5pm", "timezone": "Asia/Tokyo"}
    task = (await client.post("/tasks/quick-add", json=tokyo, headers=bob.headers)).json()
    assert (task["due"], task["timezone"]) == ("2026-11-28T08:00:00Z", "Asia/Tokyo")


async def test_a_retry_with_the_client_id_creates_one_task(
    client: httpx.AsyncClient, alice: Account, database: Database
) -> None:
    body = {"id": str(uuid.uuid4()), "text": "Buy milk tomorrow #shopping"}
    first = await client.post("/tasks/quick-add", json=body, headers=alice.headers)
    retry = await client.post("/tasks/quick-add", json=body, headers=alice.headers)

    assert (first.status_code, retry.status_code) == (201, 200)
    assert {k: v for k, v in retry.json().items() if k != "parsed"} == {
        k: v for k, v in first.json().items() if k != "parsed"
    }
    assert len((await client.get("/tasks", headers=alice.headers)).json()["items"]) == 1
    assert len((await client.get("/projects", headers=alice.headers)).json()["items"]) == 1
    assert await event_types(database, subject_prefix="tasks/") == ["haven.task.created"]


async def test_someone_elses_id_is_not_theirs_to_retry(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    body = {"id": str(uuid.uuid4()), "text": "Buy milk"}
    assert (
        await client.post("/tasks/quick-add", json=body, headers=alice.headers)
    ).status_code == 201
    response = await client.post("/tasks/quick-add", json=body, headers=bob.headers)
    assert response.status_code in (404, 409)
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_project_is_found_only_in_the_callers_workspace(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    bobs = (await client.post("/projects", json={"name": "Secret"}, headers=bob.headers)).json()
    preview = await client.post(
        "/tasks/quick-add?dry_run=true", json={"text": "Peek #secret"}, headers=alice.headers
    )
    assert preview.json()["project_id"] is None
    task = (
        await client.post("/tasks/quick-add", json={"text": "Peek #secret"}, headers=alice.headers)
    ).json()
    assert task["project_id"] != bobs["id"]
    assert task["workspace_id"] == alice.workspace_id
    into_bobs = {"text": "Peek", "project_id": bobs["id"]}
    refused = await client.post("/tasks/quick-add", json=into_bobs, headers=alice.headers)
    assert refused.status_code == 404
    elsewhere = {"text": "Peek", "workspace_id": bob.workspace_id}
    refused = await client.post("/tasks/quick-add", json=elsewhere, headers=alice.headers)
    assert refused.status_code == 404


async def test_a_shared_workspace_project_is_found_there(
    client: httpx.AsyncClient, alice: Account
) -> None:
    clock.set_clock(None)  # new accounts sign in at the real time
    team = await make_team(client, alice)
    _friday_morning()
    shared = await client.post(
        "/projects", json={"name": "Launch", "workspace_id": team.id}, headers=alice.headers
    )
    mine = await client.post("/projects", json={"name": "Launch"}, headers=alice.headers)
    body = {"text": "Ship it #launch", "workspace_id": team.id}
    member = team.headers("member")
    task = (await client.post("/tasks/quick-add", json=body, headers=member)).json()
    assert task["project_id"] == shared.json()["id"] != mine.json()["id"]
    viewer = team.headers("viewer")
    assert (await client.post("/tasks/quick-add", json=body, headers=viewer)).status_code == 403
    preview = await client.post("/tasks/quick-add?dry_run=true", json=body, headers=viewer)
    assert preview.json()["project_id"] == shared.json()["id"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "x" * 501},
        {"text": 5},
        {"text": "Pay rent", "language": "xx"},
        {"text": "Pay rent", "timezone": "Mars/Olympus"},
        {"text": "Pay rent", "extra": 1},
        {"text": "Pay rent #" + "a" * 250},
        {"text": "Pay rent @" + "a" * 150},
        {"text": "Check every hour"},  # hourly on a date-only due repeats within a day
    ],
)
async def test_bad_input_is_a_problem_not_a_crash(
    client: httpx.AsyncClient, alice: Account, body: dict[str, object]
) -> None:
    response = await client.post("/tasks/quick-add", json=body, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"]


async def test_a_blank_line_is_refused(client: httpx.AsyncClient, alice: Account) -> None:
    response = await client.post("/tasks/quick-add", json={"text": "   "}, headers=alice.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "text"]


async def test_only_signed_in_callers(client: httpx.AsyncClient) -> None:
    response = await client.post("/tasks/quick-add", json={"text": "x"})
    assert response.status_code == 401


async def test_a_read_only_key_may_preview_but_not_create(
    client: httpx.AsyncClient, alice: Account
) -> None:
    key = await make_api_key(client, alice, scopes=["tasks:read"])
    headers = {"Authorization": f"Bearer {key['key']}"}
    body = {"text": "Call Ann tomorrow"}
    assert (
        await client.post("/tasks/quick-add?dry_run=true", json=body, headers=headers)
    ).status_code == 200
    assert (await client.post("/tasks/quick-add", json=body, headers=headers)).status_code == 403


async def test_the_route_does_not_shadow_a_task(client: httpx.AsyncClient, alice: Account) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(method, "/tasks/quick-add", headers=alice.headers)
        assert (response.status_code, response.headers["Allow"]) == (405, "POST")
    assert (await client.get("/tasks/quick-adder", headers=alice.headers)).status_code == 422
