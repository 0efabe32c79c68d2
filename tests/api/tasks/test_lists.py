"""Listing tasks: filters, sorting, full-text search and cursor pagination."""

from __future__ import annotations

import httpx

from tests.factories import Account, make_task


async def test_filters(client: httpx.AsyncClient, alice: Account) -> None:
    project = (await client.post("/projects", json={"name": "P"}, headers=alice.headers)).json()
    a = await make_task(
        client, alice, title="a", priority="high", tags=["work"], due="2026-12-01T10:00:00Z"
    )
    b = await make_task(client, alice, title="b", project_id=project["id"], status="in_progress")
    c = await make_task(client, alice, title="c", parent_id=a["id"], due="2026-12-05T10:00:00Z")

    async def ids(query: str) -> set[str]:
        response = await client.get(f"/tasks?{query}", headers=alice.headers)
        assert response.status_code == 200, response.text
        return {t["id"] for t in response.json()["items"]}

    assert await ids("") == {a["id"], b["id"], c["id"]}
    assert await ids(f"project_id={project['id']}") == {b["id"]}
    assert await ids("status=in_progress") == {b["id"]}
    assert await ids("status=todo&status=in_progress") == {a["id"], b["id"], c["id"]}
    assert await ids("status=in_progress,done") == {b["id"]}
    assert await ids("priority=high") == {a["id"]}
    assert await ids("tag=WORK") == {a["id"]}
    assert await ids(f"parent_id={a['id']}") == {c["id"]}
    assert await ids("parent_id=none") == {a["id"], b["id"]}
    assert await ids("project_id=none") == {a["id"], c["id"]}  # the Inbox: in no project
    assert await ids("project_id=none&parent_id=none") == {a["id"]}
    for wrong in ("project_id=nope", "parent_id=nope"):
        refused = await client.get(f"/tasks?{wrong}", headers=alice.headers)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["loc"] == ["query", wrong.split("=")[0]]
    assert await ids("due_before=2026-12-03T00:00:00Z") == {a["id"]}
    assert await ids("due_after=2026-12-03") == {c["id"]}
    assert await ids(f"assignee_id={alice.id}") == set()
    bad = await client.get("/tasks?status=nope", headers=alice.headers)
    assert bad.status_code == 422


async def test_full_text_search(client: httpx.AsyncClient, alice: Account) -> None:
    found = await make_task(client, alice, title="Renew passport", description="at the town hall")
    await make_task(client, alice, title="Buy milk")

    async def search(q: str) -> list[str]:
        response = await client.get("/tasks", params={"q": q}, headers=alice.headers)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    assert await search("passport") == [found["id"]]
    assert await search("town hall") == [found["id"]]
    assert await search("pass") == [found["id"]]
    assert await search("nothing-like-this") == []
    assert await search('"unbalanced (quote * OR') == []
    await client.patch(f"/tasks/{found['id']}", json={"title": "Renew visa"}, headers=alice.headers)
    assert await search("passport") == []
    assert await search("visa") == [found["id"]]


async def test_sorting(client: httpx.AsyncClient, alice: Account) -> None:
    low = await make_task(client, alice, title="low", priority="low", due="2026-12-03")
    urgent = await make_task(client, alice, title="urgent", priority="urgent")
    high = await make_task(client, alice, title="high", priority="high", due="2026-12-01")

    async def order(sort: str) -> list[str]:
        response = await client.get("/tasks", params={"sort": sort}, headers=alice.headers)
        assert response.status_code == 200, response.text
        return [t["title"] for t in response.json()["items"]]

    assert await order("-priority") == ["urgent", "high", "low"]
    assert await order("due") == ["high", "low", "urgent"]  # no due sorts last
    assert await order("-due") == ["low", "high", "urgent"]
    assert await order("title") == ["high", "low", "urgent"]
    assert (await order("due,-priority,created_at"))[0] == "high"
    assert low
    assert urgent
    assert high
    bad = await client.get("/tasks", params={"sort": "colour"}, headers=alice.headers)
    assert bad.status_code == 422


async def test_cursor_pagination_never_skips_or_repeats_while_data_changes(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for i in range(12):
        await make_task(client, alice, title=f"t{i:02}", priority=["low", "high"][i % 2])
    seen: list[str] = []
    cursor = None
    inserted = 0
    while True:
        params = {"limit": "5", "sort": "-priority"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/tasks", params=params, headers=alice.headers)).json()
        seen.extend(t["id"] for t in page["items"])
        if inserted < 2:  # concurrent inserts land on either side of the cursor
            await make_task(client, alice, title=f"new{inserted}", priority="urgent")
            await make_task(client, alice, title=f"late{inserted}", priority="low")
            inserted += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    original = list(seen)
    assert len(original) >= 12
    bad = await client.get("/tasks", params={"cursor": "garbage"}, headers=alice.headers)
    assert bad.status_code == 422
    other_sort = await client.get(
        "/tasks", params={"cursor": cursor or "x", "sort": "title"}, headers=alice.headers
    )
    assert other_sort.status_code == 422


async def test_pagination_visits_every_row_exactly_once(
    client: httpx.AsyncClient, alice: Account
) -> None:
    created = {
        (await make_task(client, alice, title=f"n{i}", due=f"2026-12-{1 + i % 3:02}"))["id"]
        for i in range(9)
    }
    for sort in ("due", "-due,title", "created_at"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": "2", "sort": sort}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/tasks", params=params, headers=alice.headers)).json()
            seen.extend(t["id"] for t in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(created), sort
