"""Ways in that are not REST (WebSocket, GraphQL, MCP, jobs) get the same answers.

They turn a bearer string into a principal with `authn.authenticate`, and call services,
which make every scope and role check themselves.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select

from haven.accounts import users
from haven.accounts.authn import Verifiers, authenticate
from haven.accounts.principal import Principal
from haven.core.errors import Forbidden, Unauthorized
from haven.db.session import Database
from haven.events.models import Event
from haven.settings import Settings
from haven.workspaces import service as workspaces
from haven.workspaces.schemas import WorkspaceCreate
from tests.factories import Account, make_api_key


@pytest.fixture
def verifiers(settings: Settings) -> Verifiers:
    return Verifiers(secret_key=settings.secret_key)


async def test_an_access_token_is_its_user(
    alice: Account, database: Database, verifiers: Verifiers
) -> None:
    async with database.sessions() as session:
        principal = await authenticate(session, alice.token, verifiers=verifiers)

    assert principal == Principal(user_id=uuid.UUID(alice.id), method="jwt")


async def test_an_api_key_is_its_user_with_its_scopes(
    client: httpx.AsyncClient, alice: Account, database: Database, verifiers: Verifiers
) -> None:
    key = await make_api_key(client, alice, scopes=["tasks:read"])

    async with database.sessions() as session:
        principal = await authenticate(session, key["key"], verifiers=verifiers)

    assert principal.user_id == uuid.UUID(alice.id)
    assert principal.method == "api_key"
    assert principal.scopes == {"tasks:read"}


@pytest.mark.parametrize("bearer", ["", "not a token", "hvn_abcdefghijkl_nope", "a.b.c"])
async def test_anything_else_is_refused(
    database: Database, verifiers: Verifiers, bearer: str
) -> None:
    async with database.sessions() as session:
        with pytest.raises(Unauthorized):
            await authenticate(session, bearer, verifiers=verifiers)


async def test_a_deactivated_users_token_is_refused(
    alice: Account, database: Database, verifiers: Verifiers
) -> None:
    async with database.sessions() as session, session.begin():
        await users.deactivate_user(session, user_id=uuid.UUID(alice.id), actor="system/support")

    async with database.sessions() as session:
        with pytest.raises(Unauthorized):
            await authenticate(session, alice.token, verifiers=verifiers)


async def test_services_check_scopes_whoever_calls_them(alice: Account, database: Database) -> None:
    reader = Principal.for_integration(
        uuid.uuid4(), owner_id=uuid.UUID(alice.id), scopes=["workspaces:read"]
    )

    async with database.sessions() as session, session.begin():
        with pytest.raises(Forbidden):
            await workspaces.create_workspace(
                session, principal=reader, data=WorkspaceCreate(name="Sync")
            )


async def test_an_integrations_changes_are_recorded_as_its_own(
    alice: Account, database: Database
) -> None:
    connection = uuid.uuid4()
    writer = Principal.for_integration(
        connection, owner_id=uuid.UUID(alice.id), scopes=["workspaces:write"]
    )

    async with database.sessions() as session, session.begin():
        view = await workspaces.create_workspace(
            session, principal=writer, data=WorkspaceCreate(name="Synced from GitHub")
        )

    async with database.sessions() as session:
        actors = set(
            await session.scalars(
                select(Event.actor).where(
                    Event.subject.startswith(f"workspaces/{view.workspace.id}")
                )
            )
        )
    assert actors == {f"integrations/{connection}"}
