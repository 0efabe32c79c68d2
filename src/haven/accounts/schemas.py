"""API shapes of the accounts domain, and their serialisers: sign-in, profile, API keys, devices."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from haven.accounts.authz import Scope
from haven.accounts.models import ApiKey, Device, User
from haven.core.emails import normalize_email
from haven.core.schemas import FromText, PatchBody, RequestBody
from haven.core.text import one_line
from haven.core.timezones import TimeZoneName
from haven.notifications import push
from haven.webhooks import ssrf

if TYPE_CHECKING:
    from haven.accounts.sessions import IssuedSession

# --- shared field types ------------------------------------------------------------------


def _normalize_if_text(value: Any) -> Any:
    return normalize_email(value) if isinstance(value, str) else value


# Normalised before the syntax check (so " Alice@Example.com" is fine) and after it (the
# checker's own normal form of a domain is not always ours).
Email = Annotated[EmailStr, BeforeValidator(_normalize_if_text), AfterValidator(normalize_email)]
# Any text: a sign-in with a malformed email is a wrong credential (401), not a 422.
LoginEmail = Annotated[
    str, StringConstraints(min_length=1, max_length=320), AfterValidator(normalize_email)
]
NewPassword = Annotated[str, StringConstraints(min_length=8, max_length=1024)]
AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
# Lengths are checked on the value as sent, as the OpenAPI schema states them; the value is
# tidied after (trimmed, or made one line of visible text like task titles).
PersonName = Annotated[str, Field(max_length=200), AfterValidator(str.strip)]
Title = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(one_line)]
OpaqueToken = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Platform = Literal["ios", "android", "web", "desktop"]


# --- users and sessions ---------------------------------------------------------------------


# "HH:MM", 00:00 to 23:59: the time of day a daily digest is sent, in the user's zone.
DigestTime = Annotated[
    str,
    StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$"),
    Field(examples=["07:00"]),
]


class UserRead(BaseModel):
    id: uuid.UUID = Field(description="the user's id")
    email: str = Field(description="the sign-in email, normalised (NFKC, case-folded)")
    name: str = Field(description="the display name (may be empty)")
    timezone: str = Field(description="IANA time zone for due times, reminders and digests")
    digest_enabled: bool = Field(description="whether the daily digest email is sent")
    digest_time: str = Field(
        description='when the daily digest is sent, "HH:MM" of the user\'s own day (default 07:00)'
    )
    created_at: datetime = Field(description="when the account was created")
    version: int = Field(description="changes on every update; sent as the ETag")


class RegisterRequest(RequestBody):
    email: Email = Field(
        max_length=320, description="the sign-in email (stored normalised: NFKC, case-folded)"
    )
    password: NewPassword = Field(description="8 to 1024 characters")
    name: PersonName = Field(default="", description="display name; optional")
    timezone: TimeZoneName = Field(
        default="UTC", description="IANA time zone, e.g. 'Europe/Berlin' (default UTC)"
    )


class LoginRequest(RequestBody):
    email: LoginEmail = Field(
        description="the sign-in email (case, spacing and Unicode width do not matter)"
    )
    password: AnyPassword = Field(description="the account's password")


class RefreshRequest(RequestBody):
    refresh_token: OpaqueToken | None = Field(
        default=None,
        description="the refresh token of the last sign-in or refresh; each works once. "
        "Required, except with transport=cookie, where it must be left out (the cookie has it)",
    )


class LogoutRequest(RequestBody):
    refresh_token: OpaqueToken | None = Field(
        default=None,
        description="the session's refresh token; it and every token rotated from it stop "
        "working. Required, except with transport=cookie, where it must be left out",
    )


def body_refresh_token(body: RefreshRequest | LogoutRequest | None) -> str:
    """The refresh token the bearer transport needs in the body, refused as FastAPI would
    have refused a body without it (the field is optional only for transport=cookie)."""
    if body is None:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    if body.refresh_token is None:
        sent_null = "refresh_token" in body.model_fields_set
        raise RequestValidationError(
            [
                {
                    "type": "string_type" if sent_null else "missing",
                    "loc": ("body", "refresh_token"),
                    "msg": "Input should be a valid string" if sent_null else "Field required",
                    "input": None if sent_null else {},
                }
            ]
        )
    return body.refresh_token


class AuthResponse(BaseModel):
    user: UserRead = Field(description="the signed-in user")
    access_token: str = Field(description="a short-lived JWT for Authorization: Bearer")
    refresh_token: str | None = Field(
        description="an opaque token for POST /auth/refresh; works once, store it securely. "
        "null with transport=cookie: then it is in the httpOnly cookie haven_refresh only"
    )
    token_type: Literal["bearer"] = Field(default="bearer", description="always 'bearer'")
    expires_in: int = Field(description="seconds until the access token expires")


class ProfileUpdate(PatchBody):
    name: PersonName | None = Field(default=None, description="new display name")
    timezone: TimeZoneName | None = Field(default=None, description="new IANA time zone")
    digest_enabled: StrictBool | None = Field(
        default=None, description="turn the daily digest on or off"
    )
    digest_time: DigestTime | None = Field(
        default=None, description='send the digest at this "HH:MM" of the user\'s day'
    )
    current_password: AnyPassword | None = Field(
        default=None, description="to change the password: the current one"
    )
    new_password: NewPassword | None = Field(
        default=None,
        description="to change the password: the new one (8-1024 characters); "
        "signs out every session of the account",
    )

    @model_validator(mode="after")
    def _password_fields_together(self) -> ProfileUpdate:
        if (self.current_password is None) != (self.new_password is None):
            raise ValueError("send current_password and new_password together")
        return self


# --- API keys -------------------------------------------------------------------------------


class ApiKeyCreate(RequestBody):
    name: Title = Field(description="what the key is for, e.g. 'home automation'")
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=len(Scope),
        description="what the key may do: " + ", ".join(scope.value for scope in Scope),
    )
    expires_at: Annotated[AwareDatetime, FromText] | None = Field(
        default=None, description="when the key stops working (RFC 3339); omit for never"
    )


class ApiKeyRead(BaseModel):
    id: uuid.UUID = Field(description="the key's id")
    name: str = Field(description="what the key is for")
    scopes: list[str] = Field(description="what the key may do")
    prefix: str = Field(description="the public part of the key, to recognise it (hvn_<prefix>_…)")
    created_at: datetime = Field(description="when the key was created")
    last_used_at: datetime | None = Field(
        description="when the key was last used (updated at most every few minutes)"
    )
    expires_at: datetime | None = Field(description="when the key stops working, if ever")


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="the full key, hvn_<prefix>_<secret>: shown only this once")


# --- devices --------------------------------------------------------------------------------


def _subscriber_key(parse: Callable[[str], bytes]) -> Callable[[str], str]:
    def check(value: str) -> str:
        return push.canonical(parse(value))

    return check


def _endpoint_form(value: str) -> str:
    ssrf.check_url(value)
    return value


class WebPushKeys(RequestBody):
    p256dh: Annotated[
        str, Field(max_length=128), AfterValidator(_subscriber_key(push.parse_p256dh))
    ] = Field(description="the browser's P-256 public key: the uncompressed point, base64url")
    auth: Annotated[str, Field(max_length=64), AfterValidator(_subscriber_key(push.parse_auth))] = (
        Field(description="the subscription's 16-byte authentication secret, base64url")
    )


class WebPushSubscription(RequestBody):
    """A browser's PushSubscription (`subscription.toJSON()`, without `expirationTime`)."""

    endpoint: Annotated[
        str, Field(min_length=1, max_length=2048), AfterValidator(_endpoint_form)
    ] = Field(description="the push service URL the subscription receives at (https)")
    keys: WebPushKeys = Field(description="the keys the browser decrypts pushes with")


class DeviceCreate(RequestBody):
    """A device with an APNs/FCM `push_token`, or a browser with a `web_push` subscription."""

    name: PersonName = Field(default="", description="a name to recognise it, e.g. 'Pixel 8'")
    platform: Platform = Field(description="ios, android, web or desktop")
    push_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = Field(
        default=None,
        description="the push token (APNs/FCM); write-only. Give this or `web_push`",
    )
    web_push: WebPushSubscription | None = Field(
        default=None,
        description="a Web Push subscription (docs/push.md); write-only. Give this or `push_token`",
    )

    @model_validator(mode="after")
    def _one_way_to_reach_it(self) -> DeviceCreate:
        if (self.push_token is None) == (self.web_push is None):
            raise ValueError("give either push_token or web_push")
        return self


class VapidPublicKey(BaseModel):
    public_key: str = Field(
        description="Haven's VAPID public key: the uncompressed P-256 point, base64url "
        "(PushManager.subscribe's applicationServerKey)"
    )


class DeviceRead(BaseModel):
    id: uuid.UUID = Field(description="the device's id")
    name: str = Field(description="the device's name")
    platform: Platform = Field(description="ios, android, web or desktop")
    created_at: datetime = Field(description="when the device was first registered")
    last_seen_at: datetime | None = Field(description="when the device last registered")


# --- serialisers ----------------------------------------------------------------------------


def user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        name=user.name,
        timezone=user.timezone,
        digest_enabled=user.digest_enabled,
        digest_time=user.digest_time,
        created_at=user.created_at,
        version=user.version,
    )


def auth_response(issued: IssuedSession, *, refresh_token_in_body: bool = True) -> AuthResponse:
    return AuthResponse(
        user=user_read(issued.user),
        access_token=issued.access_token,
        refresh_token=issued.refresh_token if refresh_token_in_body else None,
        expires_in=issued.expires_in,
    )


def api_key_read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        scopes=list(key.scopes),
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        expires_at=key.expires_at,
    )


def device_read(device: Device) -> DeviceRead:
    return DeviceRead.model_validate(device, from_attributes=True)
