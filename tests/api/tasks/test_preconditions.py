"""If-Match on every write: a stale version is a 412 carrying the current resource."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import Account, make_task

STALE = '"99"'


async def _send(
    client: httpx.AsyncClient, who: Account, method: str, path: str, if_match: str, **kw: Any
) -> httpx.Response:
    return await client.request(method, path, headers={**who.headers, "If-Match": if_match}, **kw)


def _assert_stale(response: httpx.Response, current: dict[str, Any]) -> None:
    assert response.status_code == 412, response.text
    assert response.json()["current"]["version"] == current["version"]
    assert response.json()["current"]["id"] == current["id"]


async def _current(client: httpx.AsyncClient, who: Account, path: str) -> dict[str, Any]:
    response = await client.get(path, headers=who.headers)
    if response.status_code == 404:  # in the trash: read it from the trash list
        listed = await client.get("/tasks", params={"deleted": "true"}, headers=who.headers)
        return next(t for t in listed.json()["items"] if path.endswith(t["id"]))
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("open", "complete"),
        ("done", "complete"),  # already done: still a 412, not the earlier result
        ("done", "reopen"),
        ("open", "reopen"),
        ("recurring", "skip"),
        ("open", "delete"),
        ("deleted", "delete"),
        ("deleted", "restore"),
        ("open", "restore"),
        ("open", "patch"),
    ],
)
async def test_a_stale_if_match_is_412_in_every_state(
    client: httpx.AsyncClient, alice: Account, state: str, action: str
) -> None:
    fields: dict[str, Any] = {}
    if state == "recurring":
        fields = {"due": "2026-12-01", "recurrence": {"rule": "FREQ=DAILY"}}
    task = await make_task(client, alice, **fields)
    path = f"/tasks/{task['id']}"
    if state == "done":
        await client.post(f"{path}/complete", headers=alice.headers)
    if state == "deleted":
        await client.delete(path, headers=alice.headers)
    before = await _current(client, alice, path)
    method, target = {
        "complete": ("POST", f"{path}/complete"),
        "reopen": ("POST", f"{path}/reopen"),
        "skip": ("POST", f"{path}/skip"),
        "delete": ("DELETE", path),
        "restore": ("POST", f"{path}/restore"),
        "patch": ("PATCH", path),
    }[action]
    kw: dict[str, Any] = {"json": {"title": "y"}} if action == "patch" else {}
    response = await _send(client, alice, method, target, STALE, **kw)
    _assert_stale(response, before)
    after = await _current(client, alice, path)
    assert after == before, "a refused write changes nothing"
    # The version the client read goes through.
    fresh = await _send(client, alice, method, target, f'"{before["version"]}"', **kw)
    assert fresh.status_code in (200, 204), fresh.text


@pytest.mark.parametrize("kind", ["projects", "tags"])
async def test_projects_and_tags_check_if_match_and_send_their_etag(
    client: httpx.AsyncClient, alice: Account, kind: str
) -> None:
    created = await client.post(f"/{kind}", json={"name": "x"}, headers=alice.headers)
    assert created.headers["ETag"] == '"1"'
    item = created.json()
    path = f"/{kind}/{item['id']}"
    fetched = await client.get(path, headers=alice.headers)
    assert fetched.headers["ETag"] == '"1"'
    stale = await _send(client, alice, "PATCH", path, STALE, json={"name": "y"})
    _assert_stale(stale, item)
    changed = await _send(client, alice, "PATCH", path, '"1"', json={"name": "y"})
    assert changed.status_code == 200
    assert changed.headers["ETag"] == '"2"'
    refused = await _send(client, alice, "DELETE", path, '"1"')
    _assert_stale(refused, changed.json())
    assert (await _send(client, alice, "DELETE", path, '"2"')).status_code == 204


async def test_dependencies_check_the_tasks_if_match(
    client: httpx.AsyncClient, alice: Account
) -> None:
    first, then = await make_task(client, alice), await make_task(client, alice)
    path = f"/tasks/{then['id']}/dependencies"
    stale = await _send(client, alice, "POST", path, STALE, json={"depends_on_id": first["id"]})
    _assert_stale(stale, then)
    added = await _send(client, alice, "POST", path, '"1"', json={"depends_on_id": first["id"]})
    assert added.status_code == 201
    stale = await _send(client, alice, "DELETE", f"{path}/{first['id']}", '"1"')
    _assert_stale(stale, added.json())
    assert (await _send(client, alice, "DELETE", f"{path}/{first['id']}", '"2"')).status_code == 204
