"""Account flows that span modules: a sign-up makes a user and their personal workspace."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import users
from haven.accounts.models import User
from haven.workspaces import service as workspaces


async def sign_up(
    session: AsyncSession,
    *,
    email: str,
    password: str | None,
    name: str,
    timezone: str,
    is_superuser: bool = False,
) -> User:
    """A new user with their personal workspace (registration, the CLI, first OIDC sign-in).

    `password` None makes an account that can only sign in through an external provider.
    """
    user = await users.create_user(
        session,
        email=email,
        password=password,
        name=name,
        timezone=timezone,
        is_superuser=is_superuser,
    )
    await workspaces.create_personal_workspace(
        session, owner_id=user.id, owner_name=user.name or user.email.split("@", 1)[0]
    )
    return user
