"""API shapes of the accounts domain: sign-in, profile, API keys, workspaces, members, devices."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from haven.accounts.principal import Role, Scope
from haven.core.emails import normalize_email
from haven.core.timezones import TimeZoneName

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
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OpaqueToken = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Platform = Literal["ios", "android", "web", "desktop"]


class RequestBody(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class PatchBody(RequestBody):
    """A partial update: only the fields sent change; `null` only where a field allows it."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required_values(self) -> PatchBody:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.nullable:
                raise ValueError(f"{name} cannot be null; leave it out to keep it unchanged")
        return self


# --- users and sessions ---------------------------------------------------------------------


class DigestSettings(BaseModel):
    enabled: bool = Field(description="whether the daily digest is sent")
    hour: int = Field(ge=0, le=23, description="the hour (0-23) in the user's time zone")


class DigestUpdate(PatchBody):
    enabled: bool | None = Field(default=None, description="turn the daily digest on or off")
    hour: int | None = Field(
        default=None, ge=0, le=23, description="send it at this hour (0-23) of the user's day"
    )


class UserRead(BaseModel):
    id: uuid.UUID = Field(description="the user's id")
    email: str = Field(description="the sign-in email, normalised (NFKC, case-folded)")
    name: str = Field(description="the display name (may be empty)")
    timezone: str = Field(description="IANA time zone for due times, reminders and digests")
    digest: DigestSettings = Field(description="daily digest settings")
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
    refresh_token: OpaqueToken = Field(
        description="the refresh token of the last sign-in or refresh; each works once"
    )


class LogoutRequest(RequestBody):
    refresh_token: OpaqueToken = Field(
        description="the session's refresh token; it and every token rotated from it stop working"
    )


class AuthResponse(BaseModel):
    user: UserRead = Field(description="the signed-in user")
    access_token: str = Field(description="a short-lived JWT for Authorization: Bearer")
    refresh_token: str = Field(
        description="an opaque token for POST /auth/refresh; works once, store it securely"
    )
    token_type: Literal["bearer"] = Field(default="bearer", description="always 'bearer'")
    expires_in: int = Field(description="seconds until the access token expires")


class ProfileUpdate(PatchBody):
    name: PersonName | None = Field(default=None, description="new display name")
    timezone: TimeZoneName | None = Field(default=None, description="new IANA time zone")
    digest: DigestUpdate | None = Field(
        default=None, description="digest settings to change (fields left out stay)"
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
    expires_at: AwareDatetime | None = Field(
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


# --- workspaces and members -----------------------------------------------------------------


class WorkspaceCreate(RequestBody):
    id: uuid.UUID | None = Field(
        default=None, description="a client-made UUIDv7; repeating a create with it is safe"
    )
    name: Title = Field(description="the workspace's name")


class WorkspaceUpdate(PatchBody):
    name: Title | None = Field(default=None, description="a new name")


class WorkspaceRead(BaseModel):
    id: uuid.UUID = Field(description="the workspace's id")
    name: str = Field(description="the workspace's name")
    is_personal: bool = Field(description="the caller's own workspace, made at sign-up")
    role: Role = Field(description="the caller's role here: owner, admin, member or viewer")
    created_at: datetime = Field(description="when the workspace was created")
    version: int = Field(description="changes on every update; sent as the ETag")


class MemberCreate(RequestBody):
    email: Email = Field(max_length=320, description="the email of an existing Haven user")
    role: Role = Field(description="owner (owners only), admin, member or viewer")


class MemberUpdate(RequestBody):
    role: Role = Field(description="the new role; granting or taking away owner needs an owner")


class MemberRead(BaseModel):
    user_id: uuid.UUID = Field(description="the member's user id")
    email: str = Field(description="the member's email")
    name: str = Field(description="the member's display name")
    role: Role = Field(description="owner, admin, member or viewer")
    joined_at: datetime = Field(description="when the user joined the workspace")


# --- devices --------------------------------------------------------------------------------


class DeviceCreate(RequestBody):
    name: PersonName = Field(default="", description="a name to recognise it, e.g. 'Pixel 8'")
    platform: Platform = Field(description="ios, android, web or desktop")
    push_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)] = Field(
        description="the push token (APNs/FCM token or web-push subscription); write-only"
    )


class DeviceRead(BaseModel):
    id: uuid.UUID = Field(description="the device's id")
    name: str = Field(description="the device's name")
    platform: Platform = Field(description="ios, android, web or desktop")
    created_at: datetime = Field(description="when the device was first registered")
    last_seen_at: datetime | None = Field(description="when the device last registered")
