"""Devices: the app installs and browsers a user receives push notifications on.

A device is reached through an APNs/FCM push token, or through a Web Push subscription
(notifications/push.py): its endpoint is then the device's token, and the browser's keys
sit beside it. The endpoint is a URL the user gave, checked like a webhook's on the way in.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import events as account_events
from haven.accounts import repository
from haven.accounts.authz import Scope, require_scope
from haven.accounts.models import Device
from haven.accounts.principal import Principal
from haven.accounts.schemas import DeviceCreate
from haven.core.clock import utcnow
from haven.core.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from haven.core.ids import new_id
from haven.core.security import hash_secret
from haven.db.session import Database
from haven.events.outbox import record
from haven.notifications import push_keys
from haven.notifications.push import PushSubscription, check_endpoint_form
from haven.webhooks import ssrf

# Web Push subscriptions one notification goes to, at most (the most recently registered).
MAX_PUSH_TARGETS: Final = 50
PUSH_ACTOR: Final = "system/web-push"


async def list_devices(
    session: AsyncSession, *, principal: Principal, after: uuid.UUID | None, limit: int
) -> Sequence[Device]:
    require_scope(principal, Scope.ACCOUNT_READ)
    return await repository.list_devices(
        session, user_id=principal.user_id, after=after, limit=limit
    )


async def _check_endpoint(endpoint: str, *, allow_private: bool, resolver: ssrf.Resolver) -> None:
    try:
        check_endpoint_form(endpoint, allow_private=allow_private)
        await ssrf.check_on_save(endpoint, allow_private=allow_private, resolver=resolver)
    except ssrf.TargetRefused as exc:
        raise ValidationFailed(str(exc), loc=["body", "web_push", "endpoint"]) from exc


async def register_device(
    session: AsyncSession,
    *,
    principal: Principal,
    data: DeviceCreate,
    allow_private_targets: bool,
    resolver: ssrf.Resolver = ssrf.system_resolver,
) -> tuple[Device, bool]:
    """The caller's device for this push token (or Web Push endpoint), and whether it is new.

    A push token reaches one app install: registering it again updates that device, and
    when another account registers it the device moves there (else the previous account's
    notifications would keep arriving on someone else's phone). A Web Push endpoint is a
    URL: an inside address (or plain http) is refused unless `allow_private_targets`.
    """
    require_scope(principal, Scope.ACCOUNT_WRITE)
    p256dh = auth = None
    if data.web_push is not None:
        await _check_endpoint(
            data.web_push.endpoint, allow_private=allow_private_targets, resolver=resolver
        )
        push_token = data.web_push.endpoint
        p256dh, auth = data.web_push.keys.p256dh, data.web_push.keys.auth
    else:
        assert data.push_token is not None  # DeviceCreate requires one of the two
        push_token = data.push_token
    now = utcnow()
    token_hash = hash_secret(push_token)
    device = await repository.get_device_by_push_token_hash(session, token_hash)
    if device is not None and device.user_id == principal.user_id:
        before = account_events.device_snapshot(device)
        device.name = data.name
        device.platform = data.platform
        device.push_token = push_token
        device.web_push_p256dh, device.web_push_auth = p256dh, auth
        device.last_seen_at = now
        await session.flush()
        record(
            session,
            account_events.device_registered(device, before=before, actor=principal.actor),
        )
        return device, False
    if device is not None:
        await session.delete(device)
        await session.flush()
        record(session, account_events.device_removed(device, actor=principal.actor))
    device = Device(
        id=new_id(),
        user_id=principal.user_id,
        name=data.name,
        platform=data.platform,
        push_token=push_token,
        push_token_hash=token_hash,
        web_push_p256dh=p256dh,
        web_push_auth=auth,
        created_at=now,
        last_seen_at=now,
    )
    session.add(device)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same token registered concurrently
        raise Conflict("this push token is being registered right now; retry") from exc
    record(session, account_events.device_registered(device, actor=principal.actor))
    return device, True


async def remove_device(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID
) -> None:
    require_scope(principal, Scope.ACCOUNT_WRITE)
    device = await repository.get_user_device(
        session, device_id=device_id, user_id=principal.user_id
    )
    if device is None:
        raise NotFound("device not found")
    await session.delete(device)
    await session.flush()
    record(session, account_events.device_removed(device, actor=principal.actor))


async def push_targets(session: AsyncSession, user_id: uuid.UUID) -> list[PushSubscription]:
    """The Web Push subscriptions a notification for this user goes to (at most
    MAX_PUSH_TARGETS, the most recently registered); for the notification sender."""
    found = await repository.list_web_push_devices(session, user_id=user_id, limit=MAX_PUSH_TARGETS)
    return [
        PushSubscription(
            device_id=device.id,
            endpoint=device.push_token,
            p256dh=device.web_push_p256dh,
            auth=device.web_push_auth,
        )
        for device in found
        if device.web_push_p256dh is not None and device.web_push_auth is not None
    ]


async def push_subscription(session: AsyncSession, device_id: uuid.UUID) -> PushSubscription | None:
    """One device's Web Push subscription (None: removed, or not a Web Push device)."""
    device = await repository.get_device(session, device_id)
    if device is None or device.web_push_p256dh is None or device.web_push_auth is None:
        return None
    return PushSubscription(
        device_id=device.id,
        endpoint=device.push_token,
        p256dh=device.web_push_p256dh,
        auth=device.web_push_auth,
    )


async def remove_gone_subscription(session: AsyncSession, device_id: uuid.UUID) -> bool:
    """Forget a device whose push service said its subscription is gone (404/410), with
    its haven.device.removed event. False when it was removed already (say, by its user)."""
    device = await repository.get_device(session, device_id)
    if device is None:
        return False
    await session.delete(device)
    await session.flush()
    record(session, account_events.device_removed(device, actor=PUSH_ACTOR))
    return True


async def vapid_public_key(database: Database, *, secret_key: str) -> str:
    """The key a browser subscribes with (PushManager.subscribe's applicationServerKey):
    Haven's VAPID public key, made on first use. Public by nature: it only verifies."""
    try:
        return await push_keys.public_key(database, secret_key=secret_key)
    except push_keys.PushKeysUnreadable as exc:
        raise ServiceUnavailable(f"Web Push is unavailable: {exc}", retry_after=60) from exc
