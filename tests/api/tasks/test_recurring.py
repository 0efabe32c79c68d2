"""Recurring tasks: completing makes the next occurrence, once, DST-correct; skip; series end."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.factories import Account, make_task


async def complete(client: httpx.AsyncClient, who: Account, task_id: object) -> dict[str, Any]:
    response = await client.post(f"/tasks/{task_id}/complete", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_completing_creates_next_occurrence_with_fields_tags_subtasks_reminders(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(
        client,
        alice,
        title="Water plants",
        priority="medium",
        tags=["home"],
        due="2026-11-30T08:00:00Z",
        recurrence={"rule": "FREQ=WEEKLY;BYDAY=MO"},
        reminders=[{"offset_minutes": 15}],
    )
    sub = await make_task(client, alice, title="balcony", parent_id=task["id"])
    await complete(client, alice, sub["id"])
    result = await complete(client, alice, task["id"])
    done, nxt = result["task"], result["next"]
    assert isinstance(done, dict)
    assert isinstance(nxt, dict)
    assert done["status"] == "done"
    # 08:00Z is 09:00 in Berlin; the next Monday at 09:00 Berlin.
    assert nxt["due"] == "2026-12-07T08:00:00Z"
    assert nxt["status"] == "todo"
    assert nxt["title"] == "Water plants"
    assert nxt["priority"] == "medium"
    assert nxt["tags"] == ["home"]
    assert nxt["series_id"] == task["id"]
    assert nxt["occurrence_number"] == 2
    assert nxt["recurrence"] == {"rule": "FREQ=WEEKLY;BYDAY=MO", "mode": "due", "text": None}
    subtasks = (await client.get(f"/tasks/{nxt['id']}/subtasks", headers=alice.headers)).json()
    assert [(s["title"], s["status"]) for s in subtasks["items"]] == [("balcony", "todo")]
    reminders = (await client.get(f"/tasks/{nxt['id']}/reminders", headers=alice.headers)).json()
    assert reminders["items"][0]["fire_at"] == "2026-12-07T07:45:00Z"


async def test_completion_is_idempotent_and_concurrency_safe(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice, due="2026-11-30", recurrence={"text": "every day"})
    results = await asyncio.gather(
        *(client.post(f"/tasks/{task['id']}/complete", headers=alice.headers) for _ in range(3))
    )
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    next_ids = {r.json()["next"]["id"] for r in results}
    assert len(next_ids) == 1
    listed = (await client.get("/tasks?status=todo", headers=alice.headers)).json()["items"]
    assert [t["id"] for t in listed] == list(next_ids)
    assert listed[0]["due"] == "2026-12-01"


async def test_daily_time_stays_on_the_wall_clock_across_dst(
    client: httpx.AsyncClient, bob: Account
) -> None:
    # 09:00 in New York on the Saturday before DST ends (EDT, -04:00).
    task = await make_task(
        client, bob, due="2026-10-31T09:00:00-04:00", recurrence={"rule": "FREQ=DAILY"}
    )
    first = await complete(client, bob, task["id"])
    second = await complete(client, bob, first["next"]["id"])
    assert first["next"]["due"] == "2026-11-01T14:00:00Z"  # 09:00 EST
    assert second["next"]["due"] == "2026-11-02T14:00:00Z"


async def test_count_ends_the_series(client: httpx.AsyncClient, alice: Account) -> None:
    task = await make_task(
        client, alice, due="2026-12-01", recurrence={"rule": "FREQ=DAILY;COUNT=2"}
    )
    first = await complete(client, alice, task["id"])
    assert first["next"] is not None
    last = await complete(client, alice, first["next"]["id"])
    assert last["next"] is None


async def test_until_ends_the_series(client: httpx.AsyncClient, alice: Account) -> None:
    task = await make_task(
        client, alice, due="2026-12-01", recurrence={"rule": "FREQ=WEEKLY;UNTIL=20261205T000000Z"}
    )
    assert (await complete(client, alice, task["id"]))["next"] is None


async def test_completion_mode_schedules_from_completion(
    client: httpx.AsyncClient, alice: Account
) -> None:
    from datetime import UTC, datetime

    from haven.core import clock

    clock.set_clock(lambda: datetime(2026, 12, 10, 17, 0, tzinfo=UTC))
    task = await make_task(
        client, alice, due="2026-12-01T08:00:00Z", recurrence={"text": "every! 3 days"}
    )
    assert task["recurrence"]["mode"] == "completion"
    result = await complete(client, alice, task["id"])
    # Completed on the 10th (Berlin); three days later at the due's wall time (09:00 Berlin).
    assert result["next"]["due"] == "2026-12-13T08:00:00Z"


async def test_phrase_every_second_monday(client: httpx.AsyncClient, alice: Account) -> None:
    task = await make_task(client, alice, due="2026-12-14", recurrence={"text": "every 2nd monday"})
    result = await complete(client, alice, task["id"])
    assert result["next"]["due"] == "2027-01-11"


async def test_skip_moves_to_the_next_occurrence(client: httpx.AsyncClient, alice: Account) -> None:
    task = await make_task(client, alice, due="2026-12-01", recurrence={"rule": "FREQ=WEEKLY"})
    skipped = await client.post(f"/tasks/{task['id']}/skip", headers=alice.headers)
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["due"] == "2026-12-08"
    assert skipped.json()["status"] == "todo"
    plain = await make_task(client, alice)
    refused = await client.post(f"/tasks/{plain['id']}/skip", headers=alice.headers)
    assert refused.status_code == 409


async def test_bad_rules_answer_422_saying_what_is_wrong(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for recurrence in (
        {"rule": "FREQ=DAILY;BYDAY=XX"},
        {"rule": "INTERVAL=2"},
        {"rule": "FREQ=WEEKLY;COUNT=2;UNTIL=20270101T000000Z"},
        {"text": "whenever I feel like it"},
    ):
        response = await client.post(
            "/tasks",
            json={"title": "x", "due": "2026-12-01", "recurrence": recurrence},
            headers=alice.headers,
        )
        assert response.status_code == 422, (recurrence, response.text)
        assert response.json()["detail"].startswith("recurrence:")
        assert response.json()["errors"][0]["loc"][:2] == ["body", "recurrence"]


async def test_recurring_without_due_starts_at_first_occurrence(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice, recurrence={"text": "every monday"})
    from datetime import date

    due = date.fromisoformat(str(task["due"]))
    assert due.weekday() == 0


@pytest.mark.parametrize(
    ("recurrence", "first"),
    [
        ({"rule": "FREQ=WEEKLY"}, "2026-11-27"),  # made on Friday 27 November (Berlin)
        ({"rule": "FREQ=YEARLY"}, "2026-11-27"),
        ({"rule": "FREQ=DAILY;INTERVAL=3"}, "2026-11-27"),
        ({"rule": "FREQ=WEEKLY;BYDAY=FR"}, "2026-11-27"),
        ({"rule": "FREQ=WEEKLY;BYDAY=MO"}, "2026-11-30"),
        ({"rule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"}, "2026-11-30"),
        ({"rule": "FREQ=MONTHLY;BYMONTHDAY=1"}, "2026-12-01"),
        ({"rule": "FREQ=MONTHLY;BYDAY=-1FR"}, "2026-11-27"),
        ({"text": "every 2 weeks on mon"}, "2026-11-30"),
    ],
)
async def test_a_recurring_task_without_a_due_starts_on_the_rules_first_day_from_today(
    client: httpx.AsyncClient, alice: Account, recurrence: dict[str, str], first: str
) -> None:
    from datetime import UTC, datetime

    from haven.core import clock

    clock.set_clock(lambda: datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    task = await make_task(client, alice, recurrence=recurrence)
    assert task["due"] == first
    if "INTERVAL=2" in recurrence.get("rule", "INTERVAL=2"):
        result = await complete(client, alice, task["id"])
        assert result["next"]["due"] == "2026-12-14"  # every other Monday from there


async def test_reopening_takes_back_the_untouched_next_occurrence(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice, due="2026-12-01", recurrence={"rule": "FREQ=DAILY"})
    first = await complete(client, alice, task["id"])
    next_id = first["next"]["id"]
    reopened = await client.post(f"/tasks/{task['id']}/reopen", headers=alice.headers)
    assert reopened.json()["status"] == "todo"
    open_ids = [
        t["id"] for t in (await client.get("/tasks", headers=alice.headers)).json()["items"]
    ]
    assert open_ids == [task["id"]]
    again = await complete(client, alice, task["id"])
    assert again["next"]["id"] == next_id
    assert again["next"]["deleted_at"] is None
    listed = (await client.get("/tasks?status=todo", headers=alice.headers)).json()["items"]
    assert [t["id"] for t in listed] == [next_id]


async def test_reopening_keeps_a_next_occurrence_someone_worked_on(
    client: httpx.AsyncClient, alice: Account
) -> None:
    # Two open occurrences of one series are never allowed, so the reopen is refused instead.
    task = await make_task(client, alice, due="2026-12-01", recurrence={"rule": "FREQ=DAILY"})
    nxt = (await complete(client, alice, task["id"]))["next"]
    await client.patch(f"/tasks/{nxt['id']}", json={"progress": 30}, headers=alice.headers)
    refused = await client.patch(
        f"/tasks/{task['id']}", json={"status": "todo"}, headers=alice.headers
    )
    assert refused.status_code == 409
    assert nxt["id"] in refused.json()["detail"]
    kept = (await client.get(f"/tasks/{nxt['id']}", headers=alice.headers)).json()
    assert (kept["status"], kept["progress"], kept["deleted_at"]) == ("todo", 30, None)


async def test_reopening_a_task_moved_under_its_own_next_occurrence_is_409(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Reopening takes back an untouched next occurrence, with its subtree. A PATCH that
    also moved the task under that occurrence trashed the task itself (found by the
    stateful event test): the occurrence now holds the task, so it is in use and the
    reopen is refused, changing nothing."""
    task = await make_task(client, alice, due="2026-12-01", recurrence={"rule": "FREQ=DAILY"})
    nxt_id = (await complete(client, alice, task["id"]))["next"]["id"]

    moved = await client.patch(
        f"/tasks/{task['id']}",
        json={"status": "todo", "parent_id": nxt_id},
        headers=alice.headers,
    )

    assert moved.status_code == 409, moved.text
    after = (await client.get(f"/tasks/{task['id']}", headers=alice.headers)).json()
    assert (after["status"], after["parent_id"]) == ("done", None)
    assert (await client.get(f"/tasks/{nxt_id}", headers=alice.headers)).status_code == 200
