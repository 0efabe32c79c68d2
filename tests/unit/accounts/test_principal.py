"""Principals: a user's authority, and who acts with it (the user, an integration, Haven)."""

from __future__ import annotations

import uuid

import pytest

from haven.accounts.authz import Scope, require_person, require_scope
from haven.accounts.principal import IntegrationAgent, Principal, SystemAgent
from haven.core.errors import Forbidden

OWNER = uuid.uuid4()


def test_a_user_acts_as_themself() -> None:
    principal = Principal(user_id=OWNER, method="jwt")

    assert principal.actor == f"users/{OWNER}"
    assert principal.is_person


def test_an_api_key_acts_as_its_user_but_is_not_the_person() -> None:
    principal = Principal(user_id=OWNER, method="api_key", scopes=frozenset({"tasks:read"}))

    assert principal.actor == f"users/{OWNER}"
    assert not principal.is_person
    with pytest.raises(Forbidden, match="API key lacks the 'tasks:write' scope"):
        require_scope(principal, Scope.TASKS_WRITE)


def test_an_integration_has_its_own_actor_and_only_its_scopes() -> None:
    connection = uuid.uuid4()

    principal = Principal.for_integration(connection, owner_id=OWNER, scopes=["tasks:write"])

    assert principal.actor == f"integrations/{connection}"
    assert principal.user_id == OWNER  # its owner's memberships bound what it may do
    assert principal.agent == IntegrationAgent(connection)
    require_scope(principal, Scope.TASKS_WRITE)
    with pytest.raises(Forbidden, match="integration lacks the 'account:write' scope"):
        require_scope(principal, Scope.ACCOUNT_WRITE)
    with pytest.raises(Forbidden):
        require_person(principal, "a person only")


def test_a_system_job_has_its_own_actor() -> None:
    principal = Principal.for_system("scheduler", on_behalf_of=OWNER)

    assert principal.actor == "system/scheduler"
    assert principal.agent == SystemAgent("scheduler")
    assert principal.user_id == OWNER
    assert not principal.is_person


@pytest.mark.parametrize("name", ["", "Scheduler", "system/x", "a b", "../users/1"])
def test_a_system_actor_has_a_plain_name(name: str) -> None:
    with pytest.raises(ValueError, match="not a system actor name"):
        SystemAgent(name)


def test_only_internal_principals_have_an_agent() -> None:
    with pytest.raises(ValueError, match="internal"):
        Principal(user_id=OWNER, method="jwt", agent=SystemAgent("scheduler"))
    with pytest.raises(ValueError, match="internal"):
        Principal(user_id=OWNER, method="internal")
