"""What a write may contain: fields that cannot be null, and text that must be visible."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import Account, make_task

# Every field a PATCH body may name but not clear, per resource.
NOT_NULLABLE = {
    "tasks": ["title", "description", "status", "priority", "progress", "timezone", "tags"],
    "projects": ["name", "description", "archived"],
    "tags": ["name"],
}


async def _resource(client: httpx.AsyncClient, alice: Account, kind: str) -> str:
    body = {"tasks": {"title": "x"}, "projects": {"name": "x"}, "tags": {"name": "x"}}[kind]
    response = await client.post(f"/{kind}", json=body, headers=alice.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize(
    ("kind", "field"), [(kind, field) for kind, fields in NOT_NULLABLE.items() for field in fields]
)
async def test_null_for_a_field_that_cannot_be_empty_is_422(
    client: httpx.AsyncClient, alice: Account, kind: str, field: str
) -> None:
    resource_id = await _resource(client, alice, kind)
    response = await client.patch(
        f"/{kind}/{resource_id}", json={field: None}, headers=alice.headers
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
    unchanged = await client.get(f"/{kind}/{resource_id}", headers=alice.headers)
    assert unchanged.json()["version"] == 1


async def test_null_clears_the_fields_that_may_be_empty(
    client: httpx.AsyncClient, alice: Account
) -> None:
    project = (await client.post("/projects", json={"name": "p"}, headers=alice.headers)).json()
    task = await make_task(
        client,
        alice,
        project_id=project["id"],
        due="2026-12-01",
        estimate_minutes=5,
        assignee_id=alice.id,
    )
    cleared = await client.patch(
        f"/tasks/{task['id']}",
        json={"project_id": None, "due": None, "estimate_minutes": None, "assignee_id": None},
        headers=alice.headers,
    )
    assert cleared.status_code == 200, cleared.text
    body = cleared.json()
    assert (body["project_id"], body["due"], body["estimate_minutes"], body["assignee_id"]) == (
        None,
        None,
        None,
        None,
    )


INVISIBLE = [
    "   ",
    "\t\n",
    "\u00a0\u3000",  # no-break and ideographic spaces
    "\u200b",  # zero-width space
    "\u200b\u200c\u200d\u2060\ufeff",  # zero-width (non-)joiners, word joiner, BOM
    " \u200b \u00ad ",  # with a soft hyphen
]


@pytest.mark.parametrize("text", INVISIBLE)
@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("POST", "/tasks", "title"),
        ("PATCH", "/tasks/{task}", "title"),
        ("POST", "/projects", "name"),
        ("PATCH", "/projects/{project}", "name"),
        ("POST", "/tags", "name"),
        ("PATCH", "/tags/{tag}", "name"),
        ("POST", "/tasks", "tags"),
        ("PATCH", "/tasks/{task}", "tags"),
    ],
)
async def test_text_with_nothing_visible_is_422(
    client: httpx.AsyncClient, alice: Account, text: str, method: str, path: str, field: str
) -> None:
    ids = {
        "task": await _resource(client, alice, "tasks"),
        "project": await _resource(client, alice, "projects"),
        "tag": await _resource(client, alice, "tags"),
    }
    body: dict[str, object] = {field: [text] if field == "tags" else text}
    if method == "POST" and path == "/tasks" and field == "tags":
        body["title"] = "x"
    response = await client.request(method, path.format(**ids), json=body, headers=alice.headers)
    assert response.status_code == 422, response.text


async def test_names_are_kept_tidy_in_one_way(client: httpx.AsyncClient, alice: Account) -> None:
    task = await make_task(client, alice, title="  Call\u200b  Bob\n ", tags=["\u200bhome  work "])
    assert task["title"] == "Call Bob"
    assert task["tags"] == ["home work"]
    project = await client.post(
        "/projects", json={"name": "\ufeff Garden\u2060 "}, headers=alice.headers
    )
    assert project.json()["name"] == "Garden"
    # The same tag, whichever invisible characters a client left in its name.
    again = await make_task(client, alice, tags=["home\u200b work"])
    assert again["tags"] == ["home work"]
    tags = (await client.get("/tags", headers=alice.headers)).json()["items"]
    assert [tag["name"] for tag in tags] == ["home work"]


async def test_joiners_inside_a_name_are_kept(client: httpx.AsyncClient, alice: Account) -> None:
    """ZWJ and ZWNJ carry meaning inside words and emoji (family, Persian spelling)."""
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    task = await make_task(
        client,
        alice,
        title=f"Plan {family} trip",
        tags=["\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"],
    )
    assert task["title"] == f"Plan {family} trip"
    assert task["tags"] == ["\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"]
