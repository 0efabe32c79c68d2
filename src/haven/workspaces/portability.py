"""How a workspace and its members travel in a workspace export (haven.portability)."""

from __future__ import annotations

from typing import Final

from haven.core.clock import utcnow
from haven.events.outbox import EventList
from haven.portability.registry import (
    IMPORT_ACTOR,
    ImportContext,
    Row,
    Section,
    register_section,
)
from haven.workspaces import events, repository
from haven.workspaces.models import Membership, Workspace

OWNER_ROLE: Final = "owner"


async def keep_one_personal_workspace(context: ImportContext, rows: list[Row]) -> list[Row]:
    """A user has one personal workspace: an imported one becomes shared if that would clash."""
    (workspace,) = rows
    if not workspace["is_personal"]:
        return rows
    creator = workspace["created_by"]
    if creator is None:
        workspace["is_personal"] = False
        context.report.warnings.append(
            "the workspace was someone's personal workspace; their account is not here, "
            "so it is imported as a shared workspace"
        )
    elif await repository.get_access(context.session, user_id=creator, workspace_id=None):
        workspace["is_personal"] = False
        context.report.warnings.append(
            "its creator already has a personal workspace here, so it is imported as shared"
        )
    return rows


async def give_the_workspace_an_owner(context: ImportContext, rows: list[Row]) -> list[Row]:
    """The user --owner names becomes an owner; without any owner, the report says so."""
    if context.owner_id is not None:
        _make_owner(rows, context)
    if not any(row["role"] == OWNER_ROLE for row in rows):
        context.report.warnings.append(
            "the workspace has no owner here; import again with --owner EMAIL"
        )
    return rows


def _make_owner(memberships: list[Row], context: ImportContext) -> None:
    for row in memberships:
        if row["user_id"] == context.owner_id:
            row["role"] = OWNER_ROLE
            return
    now = utcnow()
    memberships.append(
        {
            "workspace_id": context.workspace_id,
            "user_id": context.owner_id,
            "role": OWNER_ROLE,
            "created_at": now,
            "updated_at": now,
        }
    )


def workspace_created(_context: ImportContext, rows: list[Row]) -> EventList:
    return [events.created(Workspace(**row), actor=IMPORT_ACTOR) for row in rows]


def members_added(_context: ImportContext, rows: list[Row]) -> EventList:
    return [events.member_added(Membership(**row), actor=IMPORT_ACTOR) for row in rows]


register_section(
    Section(
        "workspace",
        "workspaces",
        root=True,
        prepare=keep_one_personal_workspace,
        events=workspace_created,
    )
)
register_section(
    Section(
        "memberships",
        "memberships",
        order_by=("user_id",),
        emails_of=("user_id",),
        prepare=give_the_workspace_an_owner,
        events=members_added,
    )
)
