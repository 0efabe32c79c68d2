"""GET /tasks/count: the count of exactly the tasks GET /tasks lists, bounded in cost."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from haven.tasks import router
from tests.factories import Account, make_task, make_workspace


async def _listed(client: httpx.AsyncClient, who: Account, params: dict[str, Any]) -> set[str]:
    response = await client.get("/tasks", params={**params, "limit": 200}, headers=who.headers)
    assert response.status_code == 200, response.text
    return {task["id"] for task in response.json()["items"]}


async def _counted(client: httpx.AsyncClient, who: Account, params: dict[str, Any]) -> int:
    response = await client.get("/tasks/count", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["capped"] is False
    count: int = body["count"]
    return count


async def test_the_count_is_of_the_tasks_the_list_shows_for_every_filter(
    client: httpx.AsyncClient, alice: Account
) -> None:
    project = (await client.post("/projects", json={"name": "P"}, headers=alice.headers)).json()
    a = await make_task(
        client, alice, title="paint fence", priority="high", tags=["home"], due="2026-12-01"
    )
    await make_task(client, alice, title="b", project_id=project["id"], status="in_progress")
    await make_task(client, alice, title="c", parent_id=a["id"], due="2026-12-05T10:00:00Z")
    done = await make_task(client, alice, title="paint door", status="done")
    await client.delete(f"/tasks/{done['id']}", headers=alice.headers)

    for params in (
        {},
        {"project_id": project["id"]},
        {"project_id": "none", "parent_id": "none"},
        {"status": ["todo", "in_progress"]},
        {"priority": "high"},
        {"tag": "HOME"},
        {"q": "paint"},
        {"q": "!!!"},  # no searchable word: nothing
        {"due_before": "2026-12-03", "sort": "due,-priority"},
        {"due_after": "2026-12-02T00:00:00Z"},
        {"deleted": "true"},
        {"workspace_id": alice.workspace_id, "assignee_id": alice.id},
    ):
        assert await _counted(client, alice, params) == len(await _listed(client, alice, params))
    assert await _counted(client, alice, {"q": "paint"}) == 1


async def test_overdue_leaves_out_a_whole_day_due_today(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Overdue as the web UI shows it: a timed due before now, or a day before today."""
    now, start_of_today = "2026-12-02T15:00:00Z", "2026-12-02T00:00:00Z"
    overdue = {
        (await make_task(client, alice, due="2026-12-02T09:00:00Z"))["id"],
        (await make_task(client, alice, due="2026-12-01", timezone="UTC"))["id"],
    }
    # Today, all day (in the zone of the bounds): not overdue yet.
    await make_task(client, alice, due="2026-12-02", timezone="UTC")
    await make_task(client, alice, due="2026-12-02T18:00:00Z")  # later today
    await make_task(client, alice, title="no due")
    params = {"due_before": now, "whole_day_due_before": start_of_today}

    assert await _listed(client, alice, params) == overdue
    assert await _counted(client, alice, params) == 2
    assert await _counted(client, alice, {"due_before": now}) == 3


async def test_only_tasks_the_caller_may_see_are_counted(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    await make_task(client, alice)
    team = await make_workspace(client, alice)
    await make_task(client, alice, workspace_id=team)

    assert await _counted(client, alice, {}) == 2
    assert await _counted(client, alice, {"workspace_id": team}) == 1
    assert await _counted(client, bob, {}) == 0
    assert await _counted(client, bob, {"workspace_id": team}) == 0


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"project_id": "nope"}, ["query", "project_id"]),
        ({"due_before": "tomorrow"}, ["query", "due_before"]),
        ({"whole_day_due_before": "2026-12-02T00:00:00"}, ["query", "whole_day_due_before"]),
        ({"sort": "colour"}, ["query", "sort"]),
        ({"status": "nope"}, ["query", "status", 0]),
        ({"workspace_id": "x"}, ["query", "workspace_id"]),
    ],
)
async def test_bad_filters_are_422_problems(
    client: httpx.AsyncClient, alice: Account, params: dict[str, str], loc: list[Any]
) -> None:
    response = await client.get("/tasks/count", params=params, headers=alice.headers)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == loc


async def test_the_count_needs_credentials(client: httpx.AsyncClient) -> None:
    response = await client.get("/tasks/count")
    assert response.status_code == 401


async def test_the_count_stops_at_the_cap(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(4):
        await make_task(client, alice)
    monkeypatch.setattr(router, "TASK_COUNT_CAP", 3)

    capped = (await client.get("/tasks/count", headers=alice.headers)).json()
    exact = (await client.get("/tasks/count?priority=high", headers=alice.headers)).json()

    assert capped == {"count": 3, "capped": True}  # four match; no more than the cap is read
    assert exact == {"count": 0, "capped": False}
