"""Writes that meet at the same moment leave the same state as one after the other."""

from __future__ import annotations

import asyncio

import httpx

from tests.factories import Account, add_member, make_task, make_workspace


async def test_a_subtask_created_while_its_parent_is_deleted_is_not_left_live(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Each subtask either fails (parent gone) or goes to the trash with its parent (1.10)."""
    for _ in range(4):
        parent = await make_task(client, alice)
        creates = [
            client.post(
                "/tasks",
                json={"title": f"step {n}", "parent_id": parent["id"]},
                headers=alice.headers,
            )
            for n in range(8)
        ]
        delete = client.delete(f"/tasks/{parent['id']}", headers=alice.headers)
        deleted, *created = await asyncio.gather(delete, *creates)
        assert deleted.status_code == 204, deleted.text
        assert {response.status_code for response in created} <= {201, 404}
        live = await client.get("/tasks", params={"parent_id": parent["id"]}, headers=alice.headers)
        assert live.json()["items"] == []
        for response in created:
            if response.status_code == 201:
                subtask = response.json()["id"]
                gone = await client.get(f"/tasks/{subtask}", headers=alice.headers)
                assert gone.status_code == 404
        # Restoring the parent brings back exactly the subtasks that were created.
        restored = await client.post(f"/tasks/{parent['id']}/restore", headers=alice.headers)
        assert restored.status_code == 200
        back = await client.get("/tasks", params={"parent_id": parent["id"]}, headers=alice.headers)
        assert len(back.json()["items"]) == sum(r.status_code == 201 for r in created)


async def test_two_tasks_moved_under_each_other_at_once_never_make_a_cycle(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """The parent is locked as for a new subtask; two moves that wait on each other end
    with one of them refused (409) or undone by the database (503, retry), never a 500."""
    for _ in range(4):
        first, second = await make_task(client, alice), await make_task(client, alice)
        answers = await asyncio.gather(
            client.patch(
                f"/tasks/{first['id']}", json={"parent_id": second["id"]}, headers=alice.headers
            ),
            client.patch(
                f"/tasks/{second['id']}", json={"parent_id": first["id"]}, headers=alice.headers
            ),
        )
        statuses = sorted(response.status_code for response in answers)
        assert statuses in ([200, 409], [200, 503]), [r.text for r in answers]


async def _chain_of_two_pairs(client: httpx.AsyncClient, alice: Account) -> list[str]:
    return [(await make_task(client, alice, title=f"step {n}"))["id"] for n in range(4)]


async def test_two_moves_that_would_close_a_longer_cycle_are_not_both_made(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """0 under 1 and 2 under 3; moving 1 under 2 and 3 under 0 at once would close a ring of
    four with no root, as each move alone passes its own check: one of them must fail."""
    for _ in range(4):
        first, second, third, fourth = await _chain_of_two_pairs(client, alice)
        await client.patch(f"/tasks/{first}", json={"parent_id": second}, headers=alice.headers)
        await client.patch(f"/tasks/{third}", json={"parent_id": fourth}, headers=alice.headers)
        answers = await asyncio.gather(
            client.patch(f"/tasks/{second}", json={"parent_id": third}, headers=alice.headers),
            client.patch(f"/tasks/{fourth}", json={"parent_id": first}, headers=alice.headers),
        )
        statuses = sorted(response.status_code for response in answers)
        assert statuses in ([200, 409], [200, 503]), [r.text for r in answers]


async def test_two_dependencies_that_would_close_a_longer_cycle_are_not_both_added(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """0 waits for 1 and 2 for 3; 1 waiting for 2 and 3 for 0, added at once, would be a
    cycle of four that neither request sees alone: one of them must fail."""
    for _ in range(4):
        first, second, third, fourth = await _chain_of_two_pairs(client, alice)
        for task, other in ((first, second), (third, fourth)):
            added = await client.post(
                f"/tasks/{task}/dependencies", json={"depends_on_id": other}, headers=alice.headers
            )
            assert added.status_code == 201
        answers = await asyncio.gather(
            client.post(
                f"/tasks/{second}/dependencies",
                json={"depends_on_id": third},
                headers=alice.headers,
            ),
            client.post(
                f"/tasks/{fourth}/dependencies",
                json={"depends_on_id": first},
                headers=alice.headers,
            ),
        )
        statuses = sorted(response.status_code for response in answers)
        assert statuses in ([201, 409], [201, 503]), [r.text for r in answers]


async def test_a_task_created_while_its_project_is_deleted_is_not_left_live(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Each new task either fails (project gone) or goes to the trash with the project."""
    for _ in range(4):
        project = (await client.post("/projects", json={"name": "P"}, headers=alice.headers)).json()
        creates = [
            client.post(
                "/tasks",
                json={"title": f"step {n}", "project_id": project["id"]},
                headers=alice.headers,
            )
            for n in range(6)
        ]
        delete = client.delete(f"/projects/{project['id']}", headers=alice.headers)
        deleted, *created = await asyncio.gather(delete, *creates)
        assert deleted.status_code == 204, deleted.text
        assert {response.status_code for response in created} <= {201, 404}
        for response in created:
            if response.status_code == 201:
                task = response.json()["id"]
                gone = await client.get(f"/tasks/{task}", headers=alice.headers)
                assert gone.status_code == 404


async def test_concurrent_project_and_tag_writes_take_turns(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Writers with one If-Match: one wins, the others get 412; writers without one all
    land, each at its own version (no acknowledged write is lost)."""
    project = (await client.post("/projects", json={"name": "P"}, headers=alice.headers)).json()
    tag = (await client.post("/tags", json={"name": "T"}, headers=alice.headers)).json()
    for path in (f"/projects/{project['id']}", f"/tags/{tag['id']}"):
        guarded = await asyncio.gather(
            *(
                client.patch(
                    path, json={"color": f"#00000{n}"}, headers={**alice.headers, "If-Match": '"1"'}
                )
                for n in range(6)
            )
        )
        assert sorted(r.status_code for r in guarded) == [200] + [412] * 5
        unguarded = await asyncio.gather(
            *(
                client.patch(path, json={"color": f"#00001{n}"}, headers=alice.headers)
                for n in range(6)
            )
        )
        assert [r.status_code for r in unguarded] == [200] * 6
        assert sorted(r.json()["version"] for r in unguarded) == list(range(3, 9))
        final = await client.get(path, headers=alice.headers)
        assert final.json()["version"] == 8


async def test_a_task_assigned_while_its_assignee_is_removed_is_not_left_assigned(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    """Removing a member unassigns their tasks; an assignment made at the same moment either
    fails (not a member any more) or is unassigned with the others."""
    for _ in range(3):
        team = await make_workspace(client, alice)
        assert (await add_member(client, alice, team, bob, "member")).status_code == 201
        removal = client.delete(f"/workspaces/{team}/members/{bob.id}", headers=alice.headers)
        assignments = [
            client.post(
                "/tasks",
                json={"title": f"for bob {n}", "workspace_id": team, "assignee_id": bob.id},
                headers=alice.headers,
            )
            for n in range(4)
        ]
        removed, *assigned = await asyncio.gather(removal, *assignments)
        assert removed.status_code == 204, removed.text
        assert {response.status_code for response in assigned} <= {201, 422}
        left = await client.get(
            "/tasks", params={"workspace_id": team, "assignee_id": bob.id}, headers=alice.headers
        )
        assert left.json()["items"] == []
