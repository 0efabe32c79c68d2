"""Property: for any sort and page size, paging visits every task exactly once, in order."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import Account, make_task

FIELDS = ["due", "start", "priority", "created_at", "updated_at", "title", "progress"]

sorts = st.lists(
    st.tuples(st.sampled_from(FIELDS), st.booleans()),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
).map(lambda keys: ",".join(("-" if desc else "") + field for field, desc in keys))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(sort=sorts, limit=st.integers(min_value=1, max_value=7))
async def test_paging_visits_every_task_once_in_sort_order(
    client: httpx.AsyncClient, alice: Account, sort: str, limit: int
) -> None:
    existing = (await client.get("/tasks?limit=200", headers=alice.headers)).json()["items"]
    if not existing:  # one data set per test run, shared by every example
        priorities = ["none", "low", "medium", "high", "urgent"]
        for i in range(13):
            await make_task(
                client,
                alice,
                title=f"task {i % 5}",
                priority=priorities[i % 5],
                progress=(i * 7) % 3 * 50,
                due=None if i % 4 == 0 else f"2026-12-{1 + i % 3:02}",
                start=None if i % 3 else f"2026-11-{10 + i % 2}T09:00:00Z",
            )
        existing = (await client.get("/tasks?limit=200", headers=alice.headers)).json()["items"]

    whole = await client.get("/tasks", params={"sort": sort, "limit": "200"}, headers=alice.headers)
    assert whole.status_code == 200, whole.text
    expected = [t["id"] for t in whole.json()["items"]]
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        params = {"sort": sort, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/tasks", params=params, headers=alice.headers)).json()
        assert len(page["items"]) <= limit
        seen.extend(t["id"] for t in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert sorted(seen) == sorted(t["id"] for t in existing)
