"""The events of accounts — users, their sign-in identities, API keys and devices —
built in one place (see docs/events.md). None of them carries a secret: no password
hash, no API key secret, no push token."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from haven.accounts.models import ApiKey, Device, Identity, User
from haven.events import catalog
from haven.events.outbox import Changes, DomainEvent, State, changes_between


class UserChanged(TypedDict):
    user: State
    # Each field that moved, as [old, new]; not on `registered`.
    changes: NotRequired[Changes]
    # On `updated`: whether the password changed (its value is never in an event).
    password_changed: NotRequired[bool]


class IdentityLinked(TypedDict):
    identity: State


class ApiKeyChanged(TypedDict):
    api_key: State
    changes: NotRequired[Changes]


class DeviceChanged(TypedDict):
    device: State
    changes: NotRequired[Changes]


def user_snapshot(user: User) -> State:
    """A user as events show them: take one before changing a user."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "timezone": user.timezone,
        "digest_enabled": user.digest_enabled,
        "digest_time": user.digest_time,
        "is_active": user.is_active,
        "created_at": user.created_at,
    }


def api_key_snapshot(key: ApiKey) -> State:
    return {
        "id": key.id,
        "user_id": key.user_id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
    }


def device_snapshot(device: Device) -> State:
    return {
        "id": device.id,
        "user_id": device.user_id,
        "name": device.name,
        "platform": device.platform,
    }


def _about_user(
    type_: str, user: User, actor: str, data: UserChanged | IdentityLinked
) -> DomainEvent:
    return DomainEvent(
        type=type_,
        subject=f"users/{user.id}",
        actor=actor,
        workspace_id=None,
        version=user.version,
        data=data,
    )


def _user_changed(user: User, before: State | None) -> UserChanged:
    data: UserChanged = {"user": user_snapshot(user)}
    if before is not None:
        data["changes"] = changes_between(before, data["user"])
    return data


def user_registered(user: User) -> DomainEvent:
    """A new account; its own first act."""
    return _about_user(catalog.USER_REGISTERED, user, f"users/{user.id}", _user_changed(user, None))


def user_updated(user: User, *, before: State, password_changed: bool, actor: str) -> DomainEvent:
    data = _user_changed(user, before)
    data["password_changed"] = password_changed
    return _about_user(catalog.USER_UPDATED, user, actor, data)


def user_deactivated(user: User, *, before: State, actor: str) -> DomainEvent:
    return _about_user(catalog.USER_DEACTIVATED, user, actor, _user_changed(user, before))


def identity_linked(user: User, identity: Identity) -> DomainEvent:
    """A first sign-in through an OIDC issuer, by the user it signed in."""
    data: IdentityLinked = {
        "identity": {"id": identity.id, "issuer": identity.issuer, "subject": identity.subject}
    }
    return _about_user(catalog.USER_IDENTITY_LINKED, user, f"users/{user.id}", data)


def _about_key(type_: str, key: ApiKey, actor: str, before: State | None) -> DomainEvent:
    data: ApiKeyChanged = {"api_key": api_key_snapshot(key)}
    if before is not None:
        data["changes"] = changes_between(before, data["api_key"])
    return DomainEvent(
        type=type_,
        subject=f"api-keys/{key.id}",
        actor=actor,
        workspace_id=None,
        version=None,
        data=data,
    )


def api_key_created(key: ApiKey, *, actor: str) -> DomainEvent:
    return _about_key(catalog.API_KEY_CREATED, key, actor, None)


def api_key_revoked(key: ApiKey, *, before: State, actor: str) -> DomainEvent:
    return _about_key(catalog.API_KEY_REVOKED, key, actor, before)


def _about_device(type_: str, device: Device, actor: str, before: State | None) -> DomainEvent:
    data: DeviceChanged = {"device": device_snapshot(device)}
    if before is not None:
        data["changes"] = changes_between(before, data["device"])
    return DomainEvent(
        type=type_,
        subject=f"devices/{device.id}",
        actor=actor,
        workspace_id=None,
        version=None,
        data=data,
    )


def device_registered(device: Device, *, actor: str, before: State | None = None) -> DomainEvent:
    """A device registered, or registered again (`before`: as it was, for `changes`)."""
    return _about_device(catalog.DEVICE_REGISTERED, device, actor, before)


def device_removed(device: Device, *, actor: str) -> DomainEvent:
    return _about_device(catalog.DEVICE_REMOVED, device, actor, device_snapshot(device))
