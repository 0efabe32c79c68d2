"""FastAPI dependencies that authenticate the caller."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from haven.accounts import api_keys, oidc
from haven.accounts.principal import Principal
from haven.core.errors import Unauthorized
from haven.core.security import decode_access_token
from haven.db.session import read_session
from haven.settings import Settings

API_KEY_PREFIX = api_keys.KEY_PREFIX
_bearer = HTTPBearer(auto_error=False, description="access JWT, API key (hvn_…) or OIDC token")


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("send Authorization: Bearer <token>")
    token = credentials.credentials
    settings = get_app_settings(request)
    if token.startswith(API_KEY_PREFIX):
        async with _auth_session(request) as session:
            return await api_keys.authenticate(session, token=token)
    claims = decode_access_token(token, secret=request.app.state.secret_key)
    if claims is not None:
        try:
            return Principal(user_id=uuid.UUID(str(claims["sub"])), method="jwt")
        except ValueError as exc:
            raise Unauthorized("the access token is not valid") from exc
    if settings.oidc_issuer:
        async with _auth_session(request) as session:
            return await oidc.authenticate(session, token=token, request=request)
    raise Unauthorized("the access token is invalid or has expired")


# Authentication reads one or two rows per request. It runs on an autocommit connection, not
# in a transaction: on SQLite a write transaction takes the database lock up front, and
# every API-key request would queue behind every write. The rare bookkeeping write (an API
# key's last use) commits on its own; a first OIDC sign-in opens its own transaction.
_auth_session = asynccontextmanager(read_session)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
