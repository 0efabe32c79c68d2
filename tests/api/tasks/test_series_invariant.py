"""A series has at most one open occurrence, whatever is done to it, serially or at once.

The stateful test drives the real API through the ASGI app with random sequences of complete,
reopen (by POST and by PATCH), skip, delete, restore, due changes and status changes on any
occurrence of one series, and checks the invariant after every step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from tests.factories import Account, make_task, register

OPEN = {"todo", "in_progress", "blocked"}


async def open_occurrences(client: httpx.AsyncClient, who: Account, series_id: str) -> list[str]:
    listed = await client.get("/tasks", params={"limit": "200"}, headers=who.headers)
    assert listed.status_code == 200, listed.text
    return [
        t["id"]
        for t in listed.json()["items"]
        if t["series_id"] == series_id and t["status"] in OPEN and t["deleted_at"] is None
    ]


async def test_complete_reopen_complete_reopen_leaves_one_open_task(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice, due="2026-12-01", recurrence={"rule": "FREQ=DAILY"})
    for _ in range(3):
        done = await client.post(f"/tasks/{task['id']}/complete", headers=alice.headers)
        assert done.status_code == 200, done.text
        reopened = await client.post(f"/tasks/{task['id']}/reopen", headers=alice.headers)
        assert reopened.status_code == 200, reopened.text
        assert await open_occurrences(client, alice, task["id"]) == [task["id"]]


async def test_reopening_while_a_later_occurrence_is_worked_on_is_a_conflict(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice, due="2026-12-01", recurrence={"rule": "FREQ=DAILY"})
    nxt = (await client.post(f"/tasks/{task['id']}/complete", headers=alice.headers)).json()
    started = await client.patch(
        f"/tasks/{nxt['next']['id']}", json={"progress": 30}, headers=alice.headers
    )
    assert started.status_code == 200
    for reopen in (
        client.post(f"/tasks/{task['id']}/reopen", headers=alice.headers),
        client.patch(f"/tasks/{task['id']}", json={"status": "todo"}, headers=alice.headers),
    ):
        response = await reopen
        assert response.status_code == 409, response.text
        assert "another occurrence of this series is open" in response.json()["detail"]
    assert await open_occurrences(client, alice, task["id"]) == [nxt["next"]["id"]]


async def test_restoring_an_occurrence_while_another_is_open_is_a_conflict(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice, due="2026-12-01", recurrence={"rule": "FREQ=DAILY"})
    nxt = (await client.post(f"/tasks/{task['id']}/complete", headers=alice.headers)).json()["next"]
    await client.delete(f"/tasks/{nxt['id']}", headers=alice.headers)
    reopened = await client.post(f"/tasks/{task['id']}/reopen", headers=alice.headers)
    assert reopened.status_code == 200
    restored = await client.post(f"/tasks/{nxt['id']}/restore", headers=alice.headers)
    assert restored.status_code == 409, restored.text
    assert await open_occurrences(client, alice, task["id"]) == [task["id"]]


class SeriesMachine(RuleBasedStateMachine):
    """Random operations on the occurrences of one daily series."""

    def __init__(self, client: httpx.AsyncClient, run: Any) -> None:
        super().__init__()
        self.client, self.run = client, run
        # A user of its own per example, so that listing shows only this series' tasks.
        self.who: Account = run(register(client))
        self.series_id = ""

    occurrences = Bundle("occurrences")

    def call(self, coroutine: Coroutine[Any, Any, httpx.Response]) -> httpx.Response:
        response: httpx.Response = self.run(coroutine)
        assert response.status_code < 500, response.text
        return response

    def learn(self, response: httpx.Response) -> list[str]:
        """Ids of occurrences a response reveals (a completion's next)."""
        if response.status_code != 200:
            return []
        body = response.json()
        nxt = body.get("next") if isinstance(body, dict) else None
        return [nxt["id"]] if isinstance(nxt, dict) else []

    @initialize(target=occurrences)
    def start(self) -> str:
        task = self.run(
            make_task(
                self.client, self.who, due="2026-12-01T09:00:00Z", recurrence={"rule": "FREQ=DAILY"}
            )
        )
        self.series_id = str(task["id"])
        return self.series_id

    @rule(target=occurrences, task=occurrences)
    def complete(self, task: str) -> Any:
        response = self.call(self.client.post(f"/tasks/{task}/complete", headers=self.who.headers))
        return self._multiple(self.learn(response))

    @rule(target=occurrences, task=occurrences)
    def complete_by_patch(self, task: str) -> Any:
        response = self.call(
            self.client.patch(f"/tasks/{task}", json={"status": "done"}, headers=self.who.headers)
        )
        return self._multiple(self.learn(response))

    @rule(task=occurrences)
    def reopen(self, task: str) -> None:
        self.call(self.client.post(f"/tasks/{task}/reopen", headers=self.who.headers))

    @rule(task=occurrences, status=st.sampled_from(["todo", "in_progress", "cancelled"]))
    def set_status(self, task: str, status: str) -> None:
        self.call(
            self.client.patch(f"/tasks/{task}", json={"status": status}, headers=self.who.headers)
        )

    @rule(task=occurrences)
    def skip(self, task: str) -> None:
        self.call(self.client.post(f"/tasks/{task}/skip", headers=self.who.headers))

    @rule(task=occurrences)
    def delete(self, task: str) -> None:
        self.call(self.client.delete(f"/tasks/{task}", headers=self.who.headers))

    @rule(task=occurrences)
    def restore(self, task: str) -> None:
        self.call(self.client.post(f"/tasks/{task}/restore", headers=self.who.headers))

    @rule(task=occurrences, days=st.integers(-3, 3))
    def move_due(self, task: str, days: int) -> None:
        due = f"2026-12-{10 + days:02}T09:00:00Z"
        self.call(self.client.patch(f"/tasks/{task}", json={"due": due}, headers=self.who.headers))

    def _multiple(self, ids: list[str]) -> Any:
        return multiple(*ids)

    @invariant()
    def at_most_one_open_occurrence(self) -> None:
        if self.series_id:
            assert len(self.run(open_occurrences(self.client, self.who, self.series_id))) <= 1


def test_any_sequence_leaves_at_most_one_open_occurrence(
    client: httpx.AsyncClient, event_loop_runner: Any
) -> None:
    def machine() -> SeriesMachine:
        return SeriesMachine(client, event_loop_runner)

    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=20,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


async def test_concurrent_operations_leave_at_most_one_open_occurrence(
    client: httpx.AsyncClient, alice: Account
) -> None:
    task = await make_task(client, alice, due="2026-12-01", recurrence={"rule": "FREQ=DAILY"})
    known = {task["id"]}
    headers = alice.headers
    for round_ in range(6):
        ids = sorted(known)
        calls = []
        for i, task_id in enumerate(ids * 2):
            kind = (i + round_) % 5
            if kind == 0:
                calls.append(client.post(f"/tasks/{task_id}/complete", headers=headers))
            elif kind == 1:
                calls.append(client.post(f"/tasks/{task_id}/reopen", headers=headers))
            elif kind == 2:
                calls.append(client.post(f"/tasks/{task_id}/restore", headers=headers))
            elif kind == 3:
                calls.append(client.delete(f"/tasks/{task_id}", headers=headers))
            else:
                calls.append(
                    client.patch(f"/tasks/{task_id}", json={"status": "todo"}, headers=headers)
                )
        for response in await asyncio.gather(*calls):
            assert response.status_code < 500, response.text
            body = response.json() if response.status_code == 200 else None
            if isinstance(body, dict) and isinstance(body.get("next"), dict):
                known.add(body["next"]["id"])
        assert len(await open_occurrences(client, alice, task["id"])) <= 1


@pytest.fixture
async def event_loop_runner() -> Any:
    """Runs a coroutine to its end on the test session's loop, from synchronous code.

    Hypothesis drives a state machine synchronously; the session loop is idle while a
    synchronous test runs, so each step can run on it with the app and database it owns.
    """
    loop = asyncio.get_running_loop()

    def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
        return loop.run_until_complete(coroutine)

    return run
