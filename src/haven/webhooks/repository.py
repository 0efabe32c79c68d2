"""Every query of the webhooks domain."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import SQLColumnExpression, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.pagination import keyset_after
from haven.webhooks.models import WebhookDelivery, WebhookEndpoint

PENDING = "pending"


async def get_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
    return await session.get(WebhookEndpoint, endpoint_id)


async def lock_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
    """Load an endpoint for a change, locked until commit on PostgreSQL."""
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    endpoint: WebhookEndpoint | None = (await session.scalars(query)).first()
    return endpoint


async def lock_endpoints_in(
    session: AsyncSession, workspace_id: uuid.UUID
) -> Sequence[WebhookEndpoint]:
    """Every endpoint of a workspace, locked until commit on PostgreSQL (in id order, so two
    writers of the same endpoints never wait for each other crosswise)."""
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.workspace_id == workspace_id)
        .order_by(WebhookEndpoint.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).all()


async def count_endpoints(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    query = select(func.count()).where(WebhookEndpoint.workspace_id == workspace_id)
    return int((await session.scalar(query)) or 0)


async def list_endpoints(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.workspace_id == workspace_id)
    keys: list[tuple[SQLColumnExpression[Any], bool]] = [
        (WebhookEndpoint.created_at, False),
        (WebhookEndpoint.id, False),
    ]
    if after is not None:
        query = query.where(keyset_after(keys, after))
    query = query.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id).limit(limit)
    return (await session.scalars(query)).all()


async def enabled_endpoints_in(
    session: AsyncSession, workspace_id: uuid.UUID, *, limit: int
) -> Sequence[WebhookEndpoint]:
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.enabled.is_(True))
        .order_by(WebhookEndpoint.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint; its deliveries and their attempts go with it (ON DELETE CASCADE)."""
    await session.delete(endpoint)
    await session.flush()


async def insert_deliveries(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Queue deliveries; one that is already queued (same endpoint and event) is left as it is."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement = (
        postgresql.insert(WebhookDelivery)
        if dialect == "postgresql"
        else sqlite.insert(WebhookDelivery)
    ).on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
    await session.execute(statement, list(rows))


async def get_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id)


async def list_deliveries(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[WebhookDelivery]:
    """An endpoint's deliveries, newest first."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    keys: list[tuple[SQLColumnExpression[Any], bool]] = [
        (WebhookDelivery.created_at, True),
        (WebhookDelivery.id, True),
    ]
    if after is not None:
        query = query.where(keyset_after(keys, after))
    query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    return (await session.scalars(query.limit(limit))).all()


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease_until: datetime,
    token: uuid.UUID,
) -> Sequence[tuple[WebhookDelivery, WebhookEndpoint]]:
    """Take up to `limit` due deliveries of enabled endpoints, each leased until `lease_until`.

    On PostgreSQL, rows another worker is claiming are skipped (SKIP LOCKED), and the lease
    makes a claim whose worker died due again when it runs out.
    """
    query = (
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.enabled.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    rows = [(row[0], row[1]) for row in (await session.execute(query)).all()]
    for delivery, _ in rows:
        delivery.next_attempt_at = lease_until
        delivery.lease_token = token
    await session.flush()
    return rows


async def lock_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> WebhookDelivery | None:
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    delivery: WebhookDelivery | None = (await session.scalars(query)).first()
    return delivery


async def fail_pending(
    session: AsyncSession, *, endpoint_ids: Sequence[uuid.UUID], now: datetime, reason: str
) -> None:
    """Give up every pending delivery of these endpoints (they were disabled). An attempt a
    worker already has on the wire may still arrive; its result is not recorded."""
    if not endpoint_ids:
        return
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id.in_(endpoint_ids), WebhookDelivery.status == PENDING)
        .values(
            status="failed",
            next_attempt_at=None,
            lease_token=None,
            finished_at=now,
            last_error=reason,
        )
    )


async def set_health(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID,
    failing_since: datetime | None,
    failed_attempts: int,
) -> None:
    """Move an endpoint's failure count. A plain UPDATE, not through the ORM: health is
    not a change anyone made to the webhook, so it moves neither its version nor its
    updated_at, and an If-Match the owner holds stays good."""
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(failing_since=failing_since, failed_attempts=failed_attempts)
    )
