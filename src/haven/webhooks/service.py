"""The rules of webhook endpoints: who manages them, what they may point at, their secrets.

A webhook belongs to one workspace and receives that workspace's events. Owners and admins
manage it (API keys need the workspaces scopes); members and viewers get 403, strangers 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from haven.accounts.authz import Role, Scope, require_scope
from haven.accounts.principal import Principal
from haven.core.clock import utcnow
from haven.core.concurrency import ensure_version
from haven.core.errors import Conflict, NotFound, ValidationFailed
from haven.core.idempotency import ensure_own_retry
from haven.core.ids import new_id
from haven.events.outbox import record
from haven.webhooks import events as webhook_events
from haven.webhooks import repository as repo
from haven.webhooks import signing, ssrf
from haven.webhooks.models import WebhookDelivery, WebhookEndpoint
from haven.webhooks.schemas import WebhookCreate, WebhookUpdate, webhook_to_dict
from haven.workspaces import access as workspaces

MAX_ENDPOINTS_PER_WORKSPACE: Final = 50


async def _check_target(url: str, *, allow_private: bool, resolver: ssrf.Resolver) -> None:
    try:
        await ssrf.check_on_save(url, allow_private=allow_private, resolver=resolver)
    except ssrf.TargetRefused as exc:
        raise ValidationFailed(str(exc), loc=["body", "url"]) from exc


def _check_types(event_types: Sequence[str]) -> None:
    known = webhook_events.known_types()
    entities = {name.split(".")[1] for name in known}
    for index, wanted in enumerate(event_types):
        if wanted == webhook_events.ALL_TYPES:
            continue
        entity = wanted.split(".")[1]
        if wanted.endswith(".*") and entity in entities:
            continue
        if wanted not in known:
            raise ValidationFailed(
                f"{wanted!r} is not a Haven event type (docs/events.md lists them)",
                loc=["body", "event_types", index],
            )


async def _manageable(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, write: bool
) -> WebhookEndpoint:
    """An endpoint the caller administers: 404 if not theirs to see, 403 below admin."""
    require_scope(principal, Scope.WORKSPACES_WRITE if write else Scope.WORKSPACES_READ)
    endpoint = await (
        repo.lock_endpoint(session, endpoint_id)
        if write
        else repo.get_endpoint(session, endpoint_id)
    )
    if endpoint is None:
        raise NotFound("webhook not found")
    await workspaces.require_role(
        session,
        principal=principal,
        workspace_id=endpoint.workspace_id,
        at_least=Role.ADMIN,
        what="webhook",
    )
    return endpoint


def _ensure_version(endpoint: WebhookEndpoint, if_match: int | None) -> None:
    ensure_version(
        "webhook",
        current_version=endpoint.version,
        if_match=if_match,
        current=lambda: webhook_to_dict(endpoint),
    )


def secrets_in_use(
    endpoint: WebhookEndpoint, *, now: datetime, keys: signing.SigningSecrets
) -> list[str]:
    """The secrets a delivery is signed with now, opened: the current one, and the previous
    one while its overlap lasts. Raises signing.SecretUnreadable."""
    valid = [keys.open(endpoint.secret, endpoint_id=endpoint.id)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        valid.append(keys.open(endpoint.previous_secret, endpoint_id=endpoint.id))
    return valid


async def create_webhook(
    session: AsyncSession,
    *,
    principal: Principal,
    data: WebhookCreate,
    allow_private_targets: bool,
    keys: signing.SigningSecrets,
    resolver: ssrf.Resolver = ssrf.system_resolver,
) -> tuple[WebhookEndpoint, str | None]:
    """(endpoint, secret): the secret only for a new endpoint; a retried create gets None."""
    require_scope(principal, Scope.WORKSPACES_WRITE)
    # Resolved before the first query: no transaction (on SQLite, the write lock) is held
    # while DNS answers.
    await _check_target(data.url, allow_private=allow_private_targets, resolver=resolver)
    if data.id is not None:
        existing = await repo.get_endpoint(session, data.id)
        if existing is not None:
            role = await workspaces.role_in(
                session, user_id=principal.user_id, workspace_id=existing.workspace_id
            )
            ensure_own_retry(
                created_by=existing.created_by,
                caller_id=principal.user_id,
                caller_can_see=role is not None and role.at_least(Role.ADMIN),
            )
            return existing, None
    access = await workspaces.require_access(
        session, principal=principal, workspace_id=data.workspace_id, at_least=Role.ADMIN
    )
    _check_types(data.event_types)
    if await repo.count_endpoints(session, access.workspace_id) >= MAX_ENDPOINTS_PER_WORKSPACE:
        raise Conflict(f"a workspace has at most {MAX_ENDPOINTS_PER_WORKSPACE} webhooks")
    secret = signing.new_secret()
    endpoint_id = data.id or new_id()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        workspace_id=access.workspace_id,
        url=data.url,
        event_types=list(data.event_types),
        description=data.description,
        enabled=data.enabled,
        disabled_reason=None,
        secret=keys.seal(secret, endpoint_id=endpoint_id),
        previous_secret=None,
        previous_secret_expires_at=None,
        failing_since=None,
        failed_attempts=0,
        created_by=principal.user_id,
        version=1,
    )
    session.add(endpoint)
    await session.flush()
    record(session, webhook_events.created(endpoint, actor=principal.actor))
    return endpoint, secret


async def get_webhook(
    session: AsyncSession, *, principal: Principal, webhook_id: uuid.UUID
) -> WebhookEndpoint:
    return await _manageable(session, principal, webhook_id, write=False)


async def list_webhooks(
    session: AsyncSession,
    *,
    principal: Principal,
    workspace_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[WebhookEndpoint]:
    """The webhooks of one workspace (default: the caller's personal one)."""
    require_scope(principal, Scope.WORKSPACES_READ)
    access = await workspaces.require_access(
        session, principal=principal, workspace_id=workspace_id, at_least=Role.ADMIN
    )
    return await repo.list_endpoints(
        session, workspace_id=access.workspace_id, after=after, limit=limit
    )


async def update_webhook(
    session: AsyncSession,
    *,
    principal: Principal,
    webhook_id: uuid.UUID,
    data: WebhookUpdate,
    if_match: int | None,
    allow_private_targets: bool,
    resolver: ssrf.Resolver = ssrf.system_resolver,
) -> WebhookEndpoint:
    if data.url is not None:  # before the first query, as in create_webhook
        await _check_target(data.url, allow_private=allow_private_targets, resolver=resolver)
    endpoint = await _manageable(session, principal, webhook_id, write=True)
    _ensure_version(endpoint, if_match)
    if data.event_types is not None:
        _check_types(data.event_types)
    before = webhook_events.snapshot(endpoint)
    for name in sorted(data.model_fields_set):
        setattr(endpoint, name, getattr(data, name))
    if data.enabled is True and before["enabled"] is False:
        # Enabled again by a person: start counting failures afresh.
        endpoint.disabled_reason = None
        endpoint.failing_since = None
        endpoint.failed_attempts = 0
    elif data.enabled is False:
        endpoint.disabled_reason = None
    await session.flush()
    if endpoint.version != before["version"]:
        record(session, webhook_events.updated(endpoint, before=before, actor=principal.actor))
    return endpoint


async def rotate_secret(
    session: AsyncSession,
    *,
    principal: Principal,
    webhook_id: uuid.UUID,
    if_match: int | None,
    overlap: timedelta,
    keys: signing.SigningSecrets,
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the one it replaces stays valid for `overlap` (both signatures sent).

    A replaced secret that no longer opens (HAVEN_SECRET_KEY changed) cannot sign anything:
    it is dropped, so the new secret alone signs from now on.
    """
    endpoint = await _manageable(session, principal, webhook_id, write=True)
    _ensure_version(endpoint, if_match)
    before = webhook_events.snapshot(endpoint)
    secret = signing.new_secret()
    try:
        keys.open(endpoint.secret, endpoint_id=endpoint.id)
    except signing.SecretUnreadable:
        endpoint.previous_secret = None
        endpoint.previous_secret_expires_at = None
    else:
        # Still sealed for this endpoint: the sealed value moves as it is.
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = utcnow() + overlap
    endpoint.secret = keys.seal(secret, endpoint_id=endpoint.id)
    await session.flush()
    record(
        session,
        webhook_events.updated(endpoint, before=before, actor=principal.actor, secret_rotated=True),
    )
    return endpoint, secret


async def delete_webhook(
    session: AsyncSession, *, principal: Principal, webhook_id: uuid.UUID, if_match: int | None
) -> None:
    endpoint = await _manageable(session, principal, webhook_id, write=True)
    _ensure_version(endpoint, if_match)
    before = webhook_events.snapshot(endpoint)
    record(session, webhook_events.deleted(endpoint, before=before, actor=principal.actor))
    await repo.delete_endpoint(session, endpoint)


WORKSPACE_DELETED: Final = "disabled by Haven: its workspace was deleted"


async def disable_workspace_webhooks(
    session: AsyncSession, *, principal: Principal, workspace_id: uuid.UUID
) -> None:
    """A workspace being deleted stops its webhooks: each enabled one is disabled, with its
    haven.webhook.updated event, and every delivery still pending is given up, so nothing
    queued before the deletion is sent after it.

    For workspaces.flows, which has checked that the caller may delete the workspace.
    """
    endpoints = await repo.lock_endpoints_in(session, workspace_id)
    enabled = [endpoint for endpoint in endpoints if endpoint.enabled]
    before = [webhook_events.snapshot(endpoint) for endpoint in enabled]
    for endpoint in enabled:
        endpoint.enabled = False
        endpoint.disabled_reason = WORKSPACE_DELETED
    await session.flush()
    for endpoint, state in zip(enabled, before, strict=True):
        record(session, webhook_events.updated(endpoint, before=state, actor=principal.actor))
    await repo.fail_pending(
        session,
        endpoint_ids=[endpoint.id for endpoint in endpoints],
        now=utcnow(),
        reason="not sent: the workspace was deleted",
    )


async def send_test(
    session: AsyncSession, *, principal: Principal, webhook_id: uuid.UUID
) -> WebhookDelivery:
    """Queue a `haven.webhook.test` delivery to this endpoint only."""
    endpoint = await _manageable(session, principal, webhook_id, write=True)
    if not endpoint.enabled:
        raise Conflict("the webhook is disabled; enable it to send a test event")
    now = utcnow()
    event_id = new_id()
    delivery = WebhookDelivery(
        id=new_id(),
        endpoint_id=endpoint.id,
        event_id=event_id,
        event_type=webhook_events.TEST_TYPE,
        payload=webhook_events.test_envelope(
            endpoint, event_id=event_id, actor=principal.actor, now=now
        ),
        status=repo.PENDING,
        attempts=0,
        attempt_log=[],
        next_attempt_at=now,
        lease_token=None,
        last_status_code=None,
        last_error=None,
        created_at=now,
        finished_at=None,
    )
    session.add(delivery)
    await session.flush()
    return delivery


async def list_deliveries(
    session: AsyncSession,
    *,
    principal: Principal,
    webhook_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[WebhookDelivery]:
    """An endpoint's deliveries, newest first, each with its attempts."""
    endpoint = await _manageable(session, principal, webhook_id, write=False)
    return await repo.list_deliveries(session, endpoint_id=endpoint.id, after=after, limit=limit)


async def get_delivery(
    session: AsyncSession, *, principal: Principal, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    endpoint = await _manageable(session, principal, webhook_id, write=False)
    delivery = await repo.get_delivery(session, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound("delivery not found")
    return delivery
