"""FastAPI dependencies that authenticate the caller (the REST side of `authn`)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import authn, oidc
from haven.accounts.principal import Principal
from haven.core.errors import Unauthorized
from haven.db.session import (
    Database,
    autocommit_engine,
    check_before_commit,
    writes_in_transaction,
)
from haven.settings import Settings

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_bearer = HTTPBearer(auto_error=False, description="access JWT, API key (hvn_…) or OIDC token")


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def verifiers(app: FastAPI) -> authn.Verifiers:
    """The app's bearer verifiers, made on first use from its settings."""
    found: authn.Verifiers | None = getattr(app.state, "verifiers", None)
    if found is None:
        database: Database = app.state.database
        issuer = oidc.OidcIssuer.from_settings(
            app.state.settings, keys=oidc.JwksCache(), database=database
        )
        found = app.state.verifiers = authn.Verifiers(
            secret_key=app.state.secret_key, oidc_issuer=issuer
        )
    return found


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("send Authorization: Bearer <token>")
    for_write = request.method not in _READ_METHODS
    bearer = credentials.credentials
    checked = verifiers(request.app)
    check_in_transaction = _transaction_check(request) if for_write else None
    known = authn.principal_without_database(
        bearer, verifiers=checked, for_write=for_write, check_in_transaction=check_in_transaction
    )
    if known is not None:
        return known
    async with _auth_session(request) as session:
        return await authn.authenticate(
            session,
            bearer,
            verifiers=checked,
            for_write=for_write,
            check_in_transaction=check_in_transaction,
        )


def _transaction_check(request: Request) -> Callable[[uuid.UUID], None] | None:
    """For a write in the request's transaction: have it look the user up before committing.

    The look-up then runs on the write's own connection and transaction (often in the same
    statement as the workspace access check, see `authn.confirm_active`), not on another one.
    """
    if not writes_in_transaction(request):
        return None

    def check_in_transaction(user_id: uuid.UUID) -> None:
        check_before_commit(request, functools.partial(authn.require_active_in, user_id=user_id))

    return check_in_transaction


@asynccontextmanager
async def _auth_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session that connects only if authentication asks the database something.

    Authentication reads one or two rows, and for a recently seen user none. It runs in
    autocommit, not in a transaction: on SQLite a write transaction takes the database lock
    up front, and every API-key request would queue behind every write. The rare
    bookkeeping write (an API key's last use) commits on its own; a first OIDC sign-in opens
    its own transaction.
    """
    async with AsyncSession(bind=autocommit_engine(request.app), expire_on_commit=False) as s:
        yield s


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
