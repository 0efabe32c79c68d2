"""HTTP hygiene: probes, request ids, problem+json for every failure, nothing leaks."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from haven.accounts.active_users import active_users
from haven.app import create_app
from haven.core.problems import database_unreachable
from haven.db.engine import create_engine, create_sessionmaker
from haven.db.migrate import upgrade
from haven.db.session import Database, WriteSession
from haven.events.models import Event
from haven.events.outbox import DomainEvent, record
from haven.settings import Settings
from tests.factories import Account


async def test_health_probes(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/health/live")).json() == {"status": "ok"}
        ready = await client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["database"] == "ok"
        assert (await client.get("/openapi.json")).status_code == 200


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    mine = await client.get("/tasks", headers={"X-Request-ID": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    made = await client.get("/tasks", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32


async def test_nul_characters_are_refused_not_crashing(
    client: httpx.AsyncClient, alice: Account
) -> None:
    body = await client.post(
        "/tasks",
        content=b'{"title": "a\\u0000b"}',
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert body.status_code == 422
    assert body.json()["errors"]
    query = await client.get("/tasks?tag=a%00b", headers=alice.headers)
    assert query.status_code == 422


async def test_dates_out_of_range_are_422(client: httpx.AsyncClient, alice: Account) -> None:
    for due in ("0001-01-01T00:00:00+01:00", "9999-12-31", "1800-01-01"):
        response = await client.post(
            "/tasks", json={"title": "x", "due": due}, headers=alice.headers
        )
        assert response.status_code == 422, (due, response.text)


async def test_unexpected_errors_are_500_problem_without_traceback(
    settings: Settings, database: Database
) -> None:
    app = create_app(settings, database=database)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_a_request_that_fails_after_writing_leaves_no_event(
    settings: Settings, database: Database
) -> None:
    # The request owns the transaction (WriteSession): an error after the handler wrote its
    # rows and event rolls both back, so the outbox never announces a change that is not there.
    app = create_app(settings, database=database)

    @app.post("/write-then-fail")
    async def write_then_fail(session: WriteSession) -> None:
        record(
            session,
            DomainEvent(
                type="haven.task.created",
                subject="tasks/x",
                actor="system/test",
                workspace_id=None,
                version=None,
                data={},
            ),
        )
        await session.flush()
        raise RuntimeError("the request failed after writing")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/write-then-fail")
    assert response.status_code == 500
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 0


async def test_cors_allows_the_configured_origins(settings: Settings, database: Database) -> None:
    app = create_app(
        settings.model_copy(update={"cors_origins": ["https://app.example.com"]}), database=database
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        allowed = await client.options(
            "/api/v1/tasks",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        other = await client.get("/health/live", headers={"Origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in other.headers


async def test_values_of_the_wrong_json_type_are_422(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """What the OpenAPI schema refuses, the API refuses: no quiet coercion of a string or a
    boolean to a number, of a number to a boolean, or of a number to a Unix-time instant."""
    project = (await client.post("/projects", json={"name": "P"}, headers=alice.headers)).json()
    task = (await client.post("/tasks", json={"title": "T"}, headers=alice.headers)).json()
    wrong = [
        ("POST", "/tasks", {"title": "x", "progress": "5"}),
        ("POST", "/tasks", {"title": "x", "progress": True}),
        ("POST", "/tasks", {"title": "x", "estimate_minutes": "12"}),
        ("POST", "/tasks", {"title": "x", "due": 1_700_000_000}),
        ("POST", "/tasks", {"title": "x", "start": 1_700_000_000.5}),
        ("PATCH", f"/tasks/{task['id']}", {"progress": "5"}),
        ("POST", "/api-keys", {"name": "k", "scopes": ["tasks:read"], "expires_at": 2e9}),
        ("POST", f"/tasks/{task['id']}/reminders", {"offset_minutes": "10"}),
        ("POST", f"/tasks/{task['id']}/reminders", {"at": 1_700_000_000}),
        ("PATCH", f"/projects/{project['id']}", {"archived": 0}),
        ("PATCH", f"/projects/{project['id']}", {"archived": "true"}),
        ("PATCH", "/me", {"digest_enabled": 1}),
        ("PATCH", "/me", {"digest_enabled": "true"}),
        ("PATCH", "/me", {"digest_time": 700}),
    ]
    for method, path, body in wrong:
        response = await client.request(method, path, json=body, headers=alice.headers)
        assert response.status_code == 422, (method, path, body, response.text)


async def test_names_are_measured_as_sent_and_need_visible_text(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """maxLength in the OpenAPI schema holds for the value sent (a fuzzer found a 201-char
    device name accepted because it was trimmed first); a workspace or key name of only
    invisible characters is refused like an empty one."""
    too_long = "\n" + "x" * 200
    for method, path, body in [
        ("POST", "/devices", {"name": too_long, "platform": "web", "push_token": "t"}),
        ("PATCH", "/me", {"name": too_long}),
        ("POST", "/workspaces", {"name": too_long}),
        ("POST", "/workspaces", {"name": "\u200b \u2060"}),
        ("POST", "/api-keys", {"name": "\u200b", "scopes": ["tasks:read"]}),
    ]:
        response = await client.request(method, path, json=body, headers=alice.headers)
        assert response.status_code == 422, (method, path, body, response.text)
    named = await client.post(
        "/workspaces", json={"name": "  Home \n base "}, headers=alice.headers
    )
    assert named.json()["name"] == "Home base"


async def test_not_ready_until_the_database_is_migrated(settings: Settings, tmp_path: Path) -> None:
    """An unmigrated database answers SELECT 1, yet every API call would fail on it."""
    empty = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_path}/new.db"})
    engine = create_engine(empty)
    app = create_app(empty, database=Database(engine=engine, sessions=create_sessionmaker(engine)))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert "haven migrate" in ready.json()["detail"]
            await asyncio.to_thread(upgrade, empty.database_url)
            assert (await client.get("/health/ready")).status_code == 200
    finally:
        await engine.dispose()


async def test_reads_never_hold_a_connection_while_authentication_waits_for_one(
    client: httpx.AsyncClient, settings: Settings, alice: Account, bob: Account
) -> None:
    """With more concurrent reads than pooled connections, and users that authentication must
    look up, every read is answered: none holds one connection while waiting for a second
    (which stalled every reader for the pool's 30-second timeout)."""
    small = settings.model_copy(update={"db_pool_size": 2})
    engine = create_engine(small)
    app = create_app(small, database=Database(engine=engine, sessions=create_sessionmaker(engine)))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as other:
            active_users.reset()  # authentication must ask the database for each user
            reads = [other.get("/tasks", headers=account.headers) for account in (alice, bob) * 4]
            answers = await asyncio.wait_for(asyncio.gather(*reads), timeout=20)
        assert [answer.status_code for answer in answers] == [200] * len(reads)
    finally:
        await engine.dispose()


async def test_a_database_that_refuses_connections_is_503_not_500(
    settings: Settings, alice: Account
) -> None:
    """PostgreSQL down, restarting or out of connection slots ("too many clients"): every
    request is answered 503 problem+json with Retry-After, never a 500."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("a server that refuses connections: PostgreSQL")
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = settings.model_copy(
        update={"database_url": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/haven"}
    )
    engine = create_engine(down)
    app = create_app(down, database=Database(engine=engine, sessions=create_sessionmaker(engine)))
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as other:
            active_users.reset()
            for call in (
                other.get("/tasks", headers=alice.headers),
                other.post("/tasks", json={"title": "x"}, headers=alice.headers),
            ):
                response = await call
                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/problem+json"
                assert response.headers["retry-after"] == "2"
                assert "Traceback" not in response.text
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("sqlstate", "unreachable"),
    [
        ("53300", True),  # too many clients
        ("57P03", True),  # the server is starting up
        ("57P01", True),  # administrator shutdown
        ("08006", True),  # connection failure
        ("23505", False),  # unique violation: the request's fault, handled as 409
        ("42P01", False),  # undefined table: a bug, 500
        (None, False),
    ],
)
def test_which_database_errors_mean_unavailable(sqlstate: str | None, unreachable: bool) -> None:
    class DriverError(Exception):
        pass

    orig = DriverError("driver says no")
    orig.sqlstate = sqlstate  # type: ignore[attr-defined]  # as asyncpg's errors carry it
    error = DBAPIError("SELECT 1", None, orig)
    assert database_unreachable(error) is unreachable


def test_a_refused_socket_under_the_driver_error_means_unavailable() -> None:
    orig = Exception("connect failed")
    orig.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert database_unreachable(DBAPIError("SELECT 1", None, orig)) is True


async def test_an_os_error_outside_the_database_stays_a_500(
    settings: Settings, database: Database
) -> None:
    app = create_app(settings, database=database)

    @app.get("/disk")
    async def disk() -> None:
        raise OSError(28, "No space left on device")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/disk")
    assert response.status_code == 500
    assert "No space" not in response.text
