"""Devices: the app installs a user receives push notifications on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts import events as account_events
from haven.accounts import repository
from haven.accounts.authz import Scope, require_scope
from haven.accounts.models import Device
from haven.accounts.principal import Principal
from haven.accounts.schemas import DeviceCreate
from haven.core.clock import utcnow
from haven.core.errors import Conflict, NotFound
from haven.core.ids import new_id
from haven.core.security import hash_secret
from haven.events.outbox import record


async def list_devices(
    session: AsyncSession, *, principal: Principal, after: uuid.UUID | None, limit: int
) -> Sequence[Device]:
    require_scope(principal, Scope.ACCOUNT_READ)
    return await repository.list_devices(
        session, user_id=principal.user_id, after=after, limit=limit
    )


async def register_device(
    session: AsyncSession, *, principal: Principal, data: DeviceCreate
) -> tuple[Device, bool]:
    """The caller's device for this push token, and whether it is new.

    A push token reaches one app install: registering it again updates that device, and
    when another account registers it the device moves there (else the previous account's
    notifications would keep arriving on someone else's phone).
    """
    require_scope(principal, Scope.ACCOUNT_WRITE)
    now = utcnow()
    token_hash = hash_secret(data.push_token)
    device = await repository.get_device_by_push_token_hash(session, token_hash)
    if device is not None and device.user_id == principal.user_id:
        before = account_events.device_snapshot(device)
        device.name = data.name
        device.platform = data.platform
        device.push_token = data.push_token
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
        push_token=data.push_token,
        push_token_hash=token_hash,
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
