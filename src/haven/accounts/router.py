"""REST for accounts: sign-in and tokens, the caller's profile, API keys, devices."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request, Response, status

from haven.accounts import api_keys, browser, devices, sessions, users
from haven.accounts.deps import CurrentPrincipal, get_app_settings
from haven.accounts.ratelimit import login_limiter
from haven.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    AuthResponse,
    DeviceCreate,
    DeviceRead,
    LoginRequest,
    LogoutRequest,
    ProfileUpdate,
    RefreshRequest,
    RegisterRequest,
    UserRead,
    VapidPublicKey,
    api_key_read,
    body_refresh_token,
    device_read,
    user_read,
)
from haven.core.errors import Unauthorized
from haven.core.http import IfMatch, etag, parse_if_match
from haven.core.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Page,
    after_id,
    cut_page,
    fetch_limit,
)
from haven.db.session import ReadSession, WriteSession, get_database, write_session

router = APIRouter()


def token_policy(request: Request) -> sessions.TokenPolicy:
    settings = get_app_settings(request)
    return sessions.TokenPolicy(
        secret_key=request.app.state.secret_key,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_days),
    )


Tokens = Annotated[sessions.TokenPolicy, Depends(token_policy)]
_own_transaction = asynccontextmanager(write_session)


# --- sign-in and tokens ---------------------------------------------------------------------


COOKIE_TRANSPORT = (
    " With transport=cookie (the web UI) the refresh token is set as the httpOnly cookie "
    "haven_refresh instead of returned, with a haven_csrf cookie for the X-CSRF-Token header."
)


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    tags=["auth"],
    summary="Create an account (with a personal workspace) and sign in",
    description=COOKIE_TRANSPORT.strip(),
)
async def register(
    body: RegisterRequest,
    request: Request,
    response: Response,
    session: WriteSession,
    tokens: Tokens,
    transport: browser.TransportQuery = "bearer",
) -> AuthResponse:
    if transport == "cookie":
        browser.check_origin(request)
    issued = await sessions.register(
        session,
        email=body.email,
        password=body.password,
        name=body.name,
        timezone=body.timezone,
        tokens=tokens,
    )
    return browser.signed_in(
        issued, transport=transport, request=request, response=response, tokens=tokens
    )


@router.post(
    "/auth/login",
    tags=["auth"],
    summary="Sign in with email and password",
    description="Failed attempts are limited per account and per client IP; over the limit "
    "every attempt, even a right one, gets 429 with Retry-After until the window passes."
    + COOKIE_TRANSPORT,
)
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    read: ReadSession,
    write: WriteSession,
    tokens: Tokens,
    transport: browser.TransportQuery = "bearer",
) -> AuthResponse:
    if transport == "cookie":
        browser.check_origin(request)
    ip = request.client.host if request.client else "unknown"
    with login_limiter(request.app).attempt(ip=ip, account=body.email):
        user = await sessions.check_password(read, email=body.email, password=body.password)
    issued = sessions.start_session(write, user=user, tokens=tokens)
    return browser.signed_in(
        issued, transport=transport, request=request, response=response, tokens=tokens
    )


@router.post(
    "/auth/refresh",
    tags=["auth"],
    summary="Trade a refresh token for a new access and refresh token",
    description="Each refresh token works once. Presenting one again (a sign it leaked) "
    "revokes every token of that sign-in. With transport=cookie send no body (or {}): the "
    "token is the haven_refresh cookie, the X-CSRF-Token header must equal the haven_csrf "
    "cookie (else 403), both cookies are replaced, and no cookie is a 401.",
    response_model=AuthResponse,
)
async def refresh(
    request: Request,
    response: Response,
    tokens: Tokens,
    transport: browser.TransportQuery = "bearer",
    body: Annotated[RefreshRequest | None, Body()] = None,
) -> AuthResponse | Response:
    if transport == "cookie":
        refresh_token = browser.refresh_token_from_cookie(
            request, has_body_token=_has_token(body), secret_key=tokens.secret_key
        )
    else:
        refresh_token = body_refresh_token(body)
    issued = None
    if refresh_token is not None:
        # Not WriteSession: a replayed token's revocation must commit although we answer
        # 401, and an error raised inside the request's transaction would roll it back.
        async with _own_transaction(request) as session:
            issued = await sessions.refresh_session(
                session, refresh_token=refresh_token, tokens=tokens
            )
    if issued is None:
        failure = Unauthorized("the refresh token is invalid, expired or revoked; sign in again")
        if transport == "cookie":
            return browser.signed_out(failure, request)
        raise failure
    return browser.signed_in(
        issued, transport=transport, request=request, response=response, tokens=tokens
    )


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["auth"],
    summary="Sign out: revoke the refresh token and every token rotated from it",
    description="With transport=cookie send no body (or {}): the haven_refresh cookie's "
    "session is revoked (X-CSRF-Token required, as for refresh) and both cookies are cleared.",
)
async def logout(
    request: Request,
    response: Response,
    session: WriteSession,
    tokens: Tokens,
    transport: browser.TransportQuery = "bearer",
    body: Annotated[LogoutRequest | None, Body()] = None,
) -> None:
    if transport == "cookie":
        refresh_token = browser.refresh_token_from_cookie(
            request, has_body_token=_has_token(body), secret_key=tokens.secret_key
        )
        browser.clear_session_cookies(response, request)
    else:
        refresh_token = body_refresh_token(body)
    if refresh_token is not None:
        await sessions.logout(session, refresh_token=refresh_token)


def _has_token(body: RefreshRequest | LogoutRequest | None) -> bool:
    return body is not None and body.refresh_token is not None


# --- the caller's profile -------------------------------------------------------------------


@router.get(
    "/me",
    tags=["me"],
    summary="The caller's profile",
    description="Needs the account:read scope with an API key.",
)
async def get_me(principal: CurrentPrincipal, session: ReadSession, response: Response) -> UserRead:
    user = await users.get_me(session, principal=principal)
    response.headers["ETag"] = etag(user.version)
    return user_read(user)


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
    user = await users.update_me(
        session, principal=principal, data=body, if_match=parse_if_match(if_match)
    )
    response.headers["ETag"] = etag(user.version)
    return user_read(user)


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
        session,
        principal=principal,
        after=after_id("api-keys", cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(keys, limit=limit, kind="api-keys", key=lambda k: [str(k.id)])
    return Page[ApiKeyRead](items=[api_key_read(k) for k in page], next_cursor=next_cursor)


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
    return ApiKeyCreated(**api_key_read(key).model_dump(), key=token)


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
    found = await devices.list_devices(
        session,
        principal=principal,
        after=after_id("devices", cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(found, limit=limit, kind="devices", key=lambda d: [str(d.id)])
    return Page[DeviceRead](items=[device_read(d) for d in page], next_cursor=next_cursor)


@router.post(
    "/devices",
    status_code=status.HTTP_201_CREATED,
    tags=["devices"],
    summary=(
        "Register a device's push token or Web Push subscription "
        "(201 new; 200 when the token was registered)"
    ),
    responses={200: {"model": DeviceRead, "description": "the push token was registered already"}},
)
async def register_device(
    body: DeviceCreate,
    principal: CurrentPrincipal,
    session: WriteSession,
    request: Request,
    response: Response,
) -> DeviceRead:
    device, created = await devices.register_device(
        session,
        principal=principal,
        data=body,
        allow_private_targets=get_app_settings(request).push_allow_private_targets,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return device_read(device)


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
    await devices.remove_device(session, principal=principal, device_id=device_id)


@router.get(
    "/push/vapid-public-key",
    tags=["devices"],
    summary="The key browsers subscribe to Web Push with (applicationServerKey)",
)
async def vapid_public_key(request: Request) -> VapidPublicKey:
    key = await devices.vapid_public_key(
        get_database(request), secret_key=get_app_settings(request).resolved_secret_key()
    )
    return VapidPublicKey(public_key=key)
