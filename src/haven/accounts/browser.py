"""Browser sign-in: the refresh token in an httpOnly cookie, guarded by CSRF and Origin checks.

With ``?transport=cookie`` on /auth/login, /auth/register, /auth/refresh and /auth/logout
the refresh token never reaches the page's scripts: it travels only as the cookie
``haven_refresh`` (HttpOnly, SameSite=Strict, sent only to /api/v1/auth, Secure over
https), and the answer's ``refresh_token`` is null. A second cookie, ``haven_csrf``,
readable by the page, holds a random token that /auth/refresh and /auth/logout want back
in the ``X-CSRF-Token`` header: another site's page can make the browser send cookies,
but cannot read them to echo one. The token is also bound (HMAC with the server's secret
key) to the refresh token it was issued with, so a cookie planted by a sibling subdomain
does not pass either. Both rotate on every refresh. An ``Origin`` header, when the browser
sends one, must be this server's own origin.

Rotation and replay detection are the bearer flow's (sessions.refresh_session): a replayed
refresh cookie revokes its whole sign-in, exactly as a replayed body token does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit

from fastapi import Query, Request, Response

from haven.accounts.schemas import AuthResponse, auth_response
from haven.accounts.sessions import IssuedSession, TokenPolicy
from haven.core.errors import Forbidden, Unauthorized, ValidationFailed
from haven.core.problems import problem_response

REFRESH_COOKIE: Final = "haven_refresh"
CSRF_COOKIE: Final = "haven_csrf"
CSRF_HEADER: Final = "X-CSRF-Token"
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

Transport = Literal["bearer", "cookie"]
TransportQuery = Annotated[
    Transport,
    Query(
        description="`bearer` (default): the refresh token is in the JSON body. `cookie` (for "
        "the web UI): it travels only as the httpOnly cookie haven_refresh, the body's "
        "refresh_token is null, and refresh and logout need the X-CSRF-Token header equal "
        "to the haven_csrf cookie."
    ),
]


def check_origin(request: Request) -> None:
    """403 unless the Origin header, when there is one, is this server's own origin."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "")
    own = _origin(f"{request.url.scheme}://{host}")
    if own is None or _origin(origin) != own:
        raise Forbidden(f"cookie sign-in only from this server's own pages, not from {origin!r}")


def signed_in(
    issued: IssuedSession,
    *,
    transport: Transport,
    request: Request,
    response: Response,
    tokens: TokenPolicy,
) -> AuthResponse:
    """The answer to a sign-in or refresh: the token pair in the body, or for the cookie
    transport the access token in the body and the refresh token in cookies."""
    if transport == "bearer":
        return auth_response(issued)
    set_session_cookies(response, request, issued=issued, tokens=tokens)
    return auth_response(issued, refresh_token_in_body=False)


def refresh_token_from_cookie(
    request: Request, *, has_body_token: bool, secret_key: str
) -> str | None:
    """The refresh cookie of a refresh or logout that passed the Origin and CSRF checks;
    None when there is none (a signed-out browser's page load: no forgery, no session)."""
    check_origin(request)
    _no_body_token(has_body_token)
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        return None
    _check_csrf(request, refresh_token=token, secret_key=secret_key)
    return token


def signed_out(failure: Unauthorized, request: Request) -> Response:
    """The 401 of a failed cookie refresh, clearing both cookies: the page then knows from
    the missing haven_csrf cookie that there is no session, without asking again."""
    response = problem_response(
        failure.status,
        failure.detail,
        slug=failure.type_slug,
        title=failure.title,
        headers=failure.headers,
    )
    clear_session_cookies(response, request)
    return response


def set_session_cookies(
    response: Response, request: Request, *, issued: IssuedSession, tokens: TokenPolicy
) -> None:
    """Hand the browser the session's refresh token and a CSRF token bound to it."""
    secure = request.url.scheme == "https"
    max_age = int(tokens.refresh_ttl.total_seconds())
    response.set_cookie(
        REFRESH_COOKIE,
        issued.refresh_token,
        max_age=max_age,
        path=_auth_path(request),
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE,
        _new_csrf_token(refresh_token=issued.refresh_token, secret_key=tokens.secret_key),
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=False,  # the page reads it to send it back in X-CSRF-Token
        samesite="strict",
    )


def clear_session_cookies(response: Response, request: Request) -> None:
    secure = request.url.scheme == "https"
    response.delete_cookie(
        REFRESH_COOKIE,
        path=_auth_path(request),
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="strict")


def _no_body_token(has_body_token: bool) -> None:
    # One session, one place for its token: a body token with the cookie transport is a
    # client mixing up the two flows, and guessing which token to spend would be worse.
    if has_body_token:
        raise ValidationFailed(
            "with transport=cookie the refresh token is the haven_refresh cookie; "
            "send no refresh_token in the body",
            loc=["body", "refresh_token"],
        )


def _check_csrf(request: Request, *, refresh_token: str, secret_key: str) -> None:
    sent = request.headers.get(CSRF_HEADER, "").encode()
    cookie = request.cookies.get(CSRF_COOKIE, "").encode()
    if not sent or not hmac.compare_digest(sent, cookie):
        raise Forbidden(f"send the {CSRF_COOKIE} cookie's value in the {CSRF_HEADER} header")
    nonce, _, mac = cookie.decode().partition(".")
    expected = _csrf_mac(nonce=nonce, refresh_token=refresh_token, secret_key=secret_key)
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        raise Forbidden(f"the {CSRF_COOKIE} cookie does not belong to this sign-in; sign in again")


def _new_csrf_token(*, refresh_token: str, secret_key: str) -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_csrf_mac(nonce=nonce, refresh_token=refresh_token, secret_key=secret_key)}"


def _csrf_mac(*, nonce: str, refresh_token: str, secret_key: str) -> str:
    message = f"haven-csrf|{nonce}|{refresh_token}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def _auth_path(request: Request) -> str:
    """/api/v1/auth (under any prefix a proxy mounts Haven at): the folder of these routes."""
    return request.url.path.rsplit("/", 1)[0]


def _origin(url: str) -> tuple[str, str, int] | None:
    """scheme, host and port, with the scheme's default port filled in; None if malformed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]
