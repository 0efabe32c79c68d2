"""REST for accounts: sign-in and tokens, the profile, API keys, workspaces, members, devices."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response, status

from haven.accounts import api_keys, service
from haven.accounts.deps import CurrentPrincipal, get_app_settings
from haven.accounts.models import ApiKey, Device, User
from haven.accounts.principal import Scope
from haven.accounts.ratelimit import login_limiter
from haven.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    AuthResponse,
    DeviceCreate,
    DeviceRead,
    DigestSettings,
    LoginRequest,
    LogoutRequest,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    ProfileUpdate,
    RefreshRequest,
    RegisterRequest,
    UserRead,
    WorkspaceCreate,
    WorkspaceRead,
    WorkspaceUpdate,
)
from haven.core.errors import Unauthorized, ValidationFailed
from haven.core.http import IfMatch, etag, parse_if_match
from haven.core.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, encode_cursor
from haven.db.session import ReadSession, WriteSession, write_session

router = APIRouter()

T = TypeVar("T")

WorkspaceId = Annotated[uuid.UUID, Path(description="the workspace's id")]
MemberId = Annotated[uuid.UUID, Path(description="the member's user id")]
# --- helpers --------------------------------------------------------------------------------


def token_policy(request: Request) -> service.TokenPolicy:
    settings = get_app_settings(request)
    return service.TokenPolicy(
        secret_key=request.app.state.secret_key,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_days),
    )


Tokens = Annotated[service.TokenPolicy, Depends(token_policy)]
_own_transaction = asynccontextmanager(write_session)


def _page(
    rows: Sequence[T], *, limit: int, kind: str, key: Callable[[T], list[Any]]
) -> tuple[Sequence[T], str | None]:
    """The first `limit` of `limit + 1` fetched rows, and the cursor to the rest if any."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(kind, key(rows[-1]))


def _after_id(kind: str, cursor: str | None) -> uuid.UUID | None:
    if cursor is None:
        return None
    (value,) = decode_cursor(kind, cursor, arity=1)
    return _cursor_uuid(value)


def _cursor_uuid(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise _bad_cursor() from exc


def _cursor_instant(value: object) -> datetime:
    instant = datetime.fromisoformat(str(value))
    if instant.tzinfo is None:
        raise ValueError("a cursor's instant carries its offset")
    return instant


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed("cursor is not valid for this list", loc=["query", "cursor"])


def _user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        name=user.name,
        timezone=user.timezone,
        digest=DigestSettings.model_validate(service.digest_of(user)),
        created_at=user.created_at,
        version=user.version,
    )


def _auth_response(issued: service.IssuedSession) -> AuthResponse:
    return AuthResponse(
        user=_user_read(issued.user),
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
    )


def _workspace_read(view: service.WorkspaceView) -> WorkspaceRead:
    return WorkspaceRead.model_validate(service.workspace_body(view.workspace, view.role))


def _member_read(view: service.MemberView) -> MemberRead:
    return MemberRead(
        user_id=view.user_id,
        email=view.email,
        name=view.name,
        role=view.role,
        joined_at=view.joined_at,
    )


def _api_key_read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        scopes=list(key.scopes),
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        expires_at=key.expires_at,
    )


def _device_read(device: Device) -> DeviceRead:
    return DeviceRead.model_validate(device, from_attributes=True)


# --- sign-in and tokens ---------------------------------------------------------------------


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    tags=["auth"],
    summary="Create an account (with a personal workspace) and sign in",
)
async def register(body: RegisterRequest, session: WriteSession, tokens: Tokens) -> AuthResponse:
    issued = await service.register(
        session,
        email=body.email,
        password=body.password,
        name=body.name,
        timezone=body.timezone,
        tokens=tokens,
    )
    return _auth_response(issued)


@router.post(
    "/auth/login",
    tags=["auth"],
    summary="Sign in with email and password",
    description="Failed attempts are limited per account and per client IP; over the limit "
    "every attempt, even a right one, gets 429 with Retry-After until the window passes.",
)
async def login(
    body: LoginRequest,
    request: Request,
    read: ReadSession,
    write: WriteSession,
    tokens: Tokens,
) -> AuthResponse:
    ip = request.client.host if request.client else "unknown"
    with login_limiter(request.app).attempt(ip=ip, account=body.email):
        user = await service.check_password(read, email=body.email, password=body.password)
    return _auth_response(service.start_session(write, user=user, tokens=tokens))


@router.post(
    "/auth/refresh",
    tags=["auth"],
    summary="Trade a refresh token for a new access and refresh token",
    description="Each refresh token works once. Presenting one again (a sign it leaked) "
    "revokes every token of that sign-in.",
)
async def refresh(body: RefreshRequest, request: Request, tokens: Tokens) -> AuthResponse:
    # Not WriteSession: a replayed token's revocation must commit although we answer 401,
    # and an error raised inside the request's transaction would roll it back.
    async with _own_transaction(request) as session:
        issued = await service.refresh_session(
            session, refresh_token=body.refresh_token, tokens=tokens
        )
    if issued is None:
        raise Unauthorized("the refresh token is invalid, expired or revoked; sign in again")
    return _auth_response(issued)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["auth"],
    summary="Sign out: revoke the refresh token and every token rotated from it",
)
async def logout(body: LogoutRequest, session: WriteSession) -> None:
    await service.logout(session, refresh_token=body.refresh_token)


# --- the caller's profile -------------------------------------------------------------------


@router.get(
    "/me",
    tags=["me"],
    summary="The caller's profile",
    description="Needs the account:read scope with an API key.",
)
async def get_me(principal: CurrentPrincipal, session: ReadSession, response: Response) -> UserRead:
    principal.require(Scope.ACCOUNT_READ)
    user = await service.get_me(session, principal=principal)
    response.headers["ETag"] = etag(user.version)
    return _user_read(user)


@router.patch(
    "/me",
    tags=["me"],
    summary="Change name, time zone, digest settings or password",
    description="Needs the account:write scope with an API key; a password change needs a "
    "signed-in session and signs out every other session (refresh tokens are revoked).",
)
async def update_me(
    body: ProfileUpdate,
    principal: CurrentPrincipal,
    session: WriteSession,
    response: Response,
    if_match: IfMatch = None,
) -> UserRead:
    principal.require(Scope.ACCOUNT_WRITE)
    user = await service.update_me(
        session, principal=principal, data=body, if_match=parse_if_match(if_match)
    )
    response.headers["ETag"] = etag(user.version)
    return _user_read(user)


# --- API keys -------------------------------------------------------------------------------


@router.get(
    "/api-keys",
    tags=["api-keys"],
    summary="The caller's API keys (never their secrets)",
    description="Needs a signed-in session: an API key cannot manage keys.",
)
async def list_api_keys(
    principal: CurrentPrincipal,
    session: ReadSession,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ApiKeyRead]:
    keys = await api_keys.list_keys(
        session, principal=principal, after=_after_id("api-keys", cursor), limit=limit + 1
    )
    page, next_cursor = _page(keys, limit=limit, kind="api-keys", key=lambda k: [str(k.id)])
    return Page[ApiKeyRead](items=[_api_key_read(k) for k in page], next_cursor=next_cursor)


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    tags=["api-keys"],
    summary="Create an API key; its secret is in this answer only",
    description="Needs a signed-in session: an API key cannot create keys.",
)
async def create_api_key(
    body: ApiKeyCreate, principal: CurrentPrincipal, session: WriteSession
) -> ApiKeyCreated:
    key, token = await api_keys.create_key(
        session,
        principal=principal,
        name=body.name,
        scopes=body.scopes,
        expires_at=body.expires_at,
    )
    return ApiKeyCreated(**_api_key_read(key).model_dump(), key=token)


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["api-keys"],
    summary="Revoke an API key",
)
async def revoke_api_key(
    key_id: Annotated[uuid.UUID, Path(description="the key's id")],
    principal: CurrentPrincipal,
    session: WriteSession,
) -> None:
    await api_keys.revoke_key(session, principal=principal, key_id=key_id)


# --- workspaces -----------------------------------------------------------------------------


@router.get(
    "/workspaces",
    tags=["workspaces"],
    summary="The caller's workspaces, with their role in each",
)
async def list_workspaces(
    principal: CurrentPrincipal,
    session: ReadSession,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[WorkspaceRead]:
    principal.require(Scope.WORKSPACES_READ)
    views = await service.list_workspaces(
        session, principal=principal, after=_after_id("workspaces", cursor), limit=limit + 1
    )
    page, next_cursor = _page(
        views, limit=limit, kind="workspaces", key=lambda v: [str(v.workspace.id)]
    )
    return Page[WorkspaceRead](items=[_workspace_read(v) for v in page], next_cursor=next_cursor)


@router.post(
    "/workspaces",
    status_code=status.HTTP_201_CREATED,
    tags=["workspaces"],
    summary="Create a shared workspace; the caller becomes its owner",
)
async def create_workspace(
    body: WorkspaceCreate, principal: CurrentPrincipal, session: WriteSession, response: Response
) -> WorkspaceRead:
    principal.require(Scope.WORKSPACES_WRITE)
    view = await service.create_workspace(session, principal=principal, data=body)
    response.headers["ETag"] = etag(view.workspace.version)
    return _workspace_read(view)


@router.get(
    "/workspaces/{workspace_id}",
    tags=["workspaces"],
    summary="One workspace (any member)",
)
async def get_workspace(
    workspace_id: WorkspaceId,
    principal: CurrentPrincipal,
    session: ReadSession,
    response: Response,
) -> WorkspaceRead:
    principal.require(Scope.WORKSPACES_READ)
    view = await service.get_workspace(session, principal=principal, workspace_id=workspace_id)
    response.headers["ETag"] = etag(view.workspace.version)
    return _workspace_read(view)


@router.patch(
    "/workspaces/{workspace_id}",
    tags=["workspaces"],
    summary="Rename a workspace (admins and owners)",
)
async def update_workspace(
    workspace_id: WorkspaceId,
    body: WorkspaceUpdate,
    principal: CurrentPrincipal,
    session: WriteSession,
    response: Response,
    if_match: IfMatch = None,
) -> WorkspaceRead:
    principal.require(Scope.WORKSPACES_WRITE)
    view = await service.rename_workspace(
        session,
        principal=principal,
        workspace_id=workspace_id,
        name=body.name,
        if_match=parse_if_match(if_match),
    )
    response.headers["ETag"] = etag(view.workspace.version)
    return _workspace_read(view)


@router.delete(
    "/workspaces/{workspace_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["workspaces"],
    summary="Delete a workspace (owners; not a personal workspace)",
)
async def delete_workspace(
    workspace_id: WorkspaceId,
    principal: CurrentPrincipal,
    session: WriteSession,
    if_match: IfMatch = None,
) -> None:
    principal.require(Scope.WORKSPACES_WRITE)
    await service.delete_workspace(
        session,
        principal=principal,
        workspace_id=workspace_id,
        if_match=parse_if_match(if_match),
    )


# --- members --------------------------------------------------------------------------------


@router.get(
    "/workspaces/{workspace_id}/members",
    tags=["members"],
    summary="The members of a workspace (any member)",
)
async def list_members(
    workspace_id: WorkspaceId,
    principal: CurrentPrincipal,
    session: ReadSession,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[MemberRead]:
    principal.require(Scope.WORKSPACES_READ)
    after: tuple[datetime, uuid.UUID] | None = None
    if cursor is not None:
        joined_at, user_id = decode_cursor("members", cursor, arity=2)
        try:
            after = (_cursor_instant(joined_at), _cursor_uuid(user_id))
        except ValueError as exc:
            raise _bad_cursor() from exc
    views = await service.list_members(
        session, principal=principal, workspace_id=workspace_id, after=after, limit=limit + 1
    )
    page, next_cursor = _page(
        views, limit=limit, kind="members", key=lambda v: [v.joined_at, str(v.user_id)]
    )
    return Page[MemberRead](items=[_member_read(v) for v in page], next_cursor=next_cursor)


@router.post(
    "/workspaces/{workspace_id}/members",
    status_code=status.HTTP_201_CREATED,
    tags=["members"],
    summary="Add an existing Haven user (admins; owners to add an owner)",
)
async def add_member(
    workspace_id: WorkspaceId,
    body: MemberCreate,
    principal: CurrentPrincipal,
    session: WriteSession,
) -> MemberRead:
    principal.require(Scope.WORKSPACES_WRITE)
    view = await service.add_member(
        session, principal=principal, workspace_id=workspace_id, data=body
    )
    return _member_read(view)


@router.patch(
    "/workspaces/{workspace_id}/members/{user_id}",
    tags=["members"],
    summary="Change a member's role (admins; owners to grant or take away owner)",
)
async def change_member_role(
    workspace_id: WorkspaceId,
    user_id: MemberId,
    body: MemberUpdate,
    principal: CurrentPrincipal,
    session: WriteSession,
) -> MemberRead:
    principal.require(Scope.WORKSPACES_WRITE)
    view = await service.change_member_role(
        session, principal=principal, workspace_id=workspace_id, user_id=user_id, role=body.role
    )
    return _member_read(view)


@router.delete(
    "/workspaces/{workspace_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["members"],
    summary="Remove a member (admins), or leave (yourself)",
    description="The last owner cannot leave or be removed: make someone else owner first.",
)
async def remove_member(
    workspace_id: WorkspaceId,
    user_id: MemberId,
    principal: CurrentPrincipal,
    session: WriteSession,
) -> None:
    principal.require(Scope.WORKSPACES_WRITE)
    await service.remove_member(
        session, principal=principal, workspace_id=workspace_id, user_id=user_id
    )


# --- devices --------------------------------------------------------------------------------


@router.get(
    "/devices",
    tags=["devices"],
    summary="The caller's devices",
)
async def list_devices(
    principal: CurrentPrincipal,
    session: ReadSession,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DeviceRead]:
    principal.require(Scope.ACCOUNT_READ)
    devices = await service.list_devices(
        session, principal=principal, after=_after_id("devices", cursor), limit=limit + 1
    )
    page, next_cursor = _page(devices, limit=limit, kind="devices", key=lambda d: [str(d.id)])
    return Page[DeviceRead](items=[_device_read(d) for d in page], next_cursor=next_cursor)


@router.post(
    "/devices",
    status_code=status.HTTP_201_CREATED,
    tags=["devices"],
    summary="Register a device's push token (201 new; 200 when the token was registered)",
    responses={200: {"model": DeviceRead, "description": "the push token was registered already"}},
)
async def register_device(
    body: DeviceCreate, principal: CurrentPrincipal, session: WriteSession, response: Response
) -> DeviceRead:
    principal.require(Scope.ACCOUNT_WRITE)
    device, created = await service.register_device(session, principal=principal, data=body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _device_read(device)


@router.delete(
    "/devices/{device_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["devices"],
    summary="Forget a device (it gets no more pushes)",
)
async def remove_device(
    device_id: Annotated[uuid.UUID, Path(description="the device's id")],
    principal: CurrentPrincipal,
    session: WriteSession,
) -> None:
    principal.require(Scope.ACCOUNT_WRITE)
    await service.remove_device(session, principal=principal, device_id=device_id)
