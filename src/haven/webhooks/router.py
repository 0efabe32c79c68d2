"""REST for webhooks: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from haven.accounts.deps import CurrentPrincipal
from haven.core.http import IfMatch, created_responses, json_response, ok_responses, parse_if_match
from haven.core.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Page,
    after_instant_and_id,
    cut_page,
    fetch_limit,
    page_body,
)
from haven.db.session import ReadSession, WriteSession
from haven.settings import Settings
from haven.webhooks import service, signing
from haven.webhooks.schemas import (
    DeliveryOut,
    TestDelivery,
    WebhookCreate,
    WebhookOut,
    WebhookSecret,
    WebhookUpdate,
    WebhookWithSecret,
    delivery_to_dict,
    webhook_to_dict,
)

router = APIRouter(tags=["webhooks"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _keys(request: Request) -> signing.SigningSecrets:
    """What seals secrets at rest: derived from the app's one secret key (HAVEN_SECRET_KEY)."""
    application_key: str = request.app.state.secret_key
    return signing.signing_secrets(application_key)


@router.get("/webhooks", summary="List a workspace's webhooks", response_model=Page[WebhookOut])
async def list_webhooks(
    session: ReadSession,
    principal: CurrentPrincipal,
    workspace_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    endpoints = await service.list_webhooks(
        session,
        principal=principal,
        workspace_id=workspace_id,
        after=after_instant_and_id("webhooks", cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(
        endpoints, limit=limit, kind="webhooks", key=lambda e: [e.created_at.isoformat(), e.id]
    )
    return page_body([webhook_to_dict(e) for e in page], next_cursor)


@router.post(
    "/webhooks",
    status_code=201,
    summary="Create a webhook (its signing secret is shown once, here)",
    response_class=Response,
    responses={
        **created_responses(WebhookWithSecret),
        **ok_responses(WebhookWithSecret, "Already created"),
    },
)
async def create_webhook(
    data: WebhookCreate, request: Request, session: WriteSession, principal: CurrentPrincipal
) -> Response:
    endpoint, secret = await service.create_webhook(
        session,
        principal=principal,
        data=data,
        allow_private_targets=_settings(request).webhook_allow_private_targets,
        keys=_keys(request),
    )
    return json_response(
        {**webhook_to_dict(endpoint), "secret": secret},
        status_code=201 if secret is not None else 200,
        version=endpoint.version,
    )


@router.get(
    "/webhooks/{webhook_id}",
    summary="Get a webhook",
    response_class=Response,
    responses=ok_responses(WebhookOut),
)
async def get_webhook(
    webhook_id: uuid.UUID, session: ReadSession, principal: CurrentPrincipal
) -> Response:
    endpoint = await service.get_webhook(session, principal=principal, webhook_id=webhook_id)
    return json_response(webhook_to_dict(endpoint), version=endpoint.version)


@router.patch(
    "/webhooks/{webhook_id}",
    summary="Change a webhook",
    response_class=Response,
    responses=ok_responses(WebhookOut),
)
async def update_webhook(
    webhook_id: uuid.UUID,
    data: WebhookUpdate,
    request: Request,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    endpoint = await service.update_webhook(
        session,
        principal=principal,
        webhook_id=webhook_id,
        data=data,
        if_match=parse_if_match(if_match),
        allow_private_targets=_settings(request).webhook_allow_private_targets,
    )
    return json_response(webhook_to_dict(endpoint), version=endpoint.version)


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Delete a webhook")
async def delete_webhook(
    webhook_id: uuid.UUID,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    await service.delete_webhook(
        session, principal=principal, webhook_id=webhook_id, if_match=parse_if_match(if_match)
    )
    return Response(status_code=204)


@router.post(
    "/webhooks/{webhook_id}/secret",
    summary="Rotate the signing secret (the old one stays valid for the overlap period)",
    response_class=Response,
    responses=ok_responses(WebhookSecret),
)
async def rotate_secret(
    webhook_id: uuid.UUID,
    request: Request,
    session: WriteSession,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> Response:
    endpoint, secret = await service.rotate_secret(
        session,
        principal=principal,
        webhook_id=webhook_id,
        if_match=parse_if_match(if_match),
        overlap=timedelta(hours=_settings(request).webhook_secret_overlap_hours),
        keys=_keys(request),
    )
    body = {
        "secret": secret,
        "previous_secret_expires_at": endpoint.previous_secret_expires_at,
        "version": endpoint.version,
    }
    return json_response(body, version=endpoint.version)


@router.post(
    "/webhooks/{webhook_id}/test",
    status_code=202,
    summary="Send a haven.webhook.test event to this webhook",
    response_model=TestDelivery,
)
async def send_test(
    webhook_id: uuid.UUID, session: WriteSession, principal: CurrentPrincipal
) -> dict[str, Any]:
    delivery = await service.send_test(session, principal=principal, webhook_id=webhook_id)
    return {"delivery_id": delivery.id, "event_id": delivery.event_id}


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    summary="A webhook's deliveries, newest first, with every attempt",
    response_class=Response,
    responses=ok_responses(Page[DeliveryOut]),
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    session: ReadSession,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    found = await service.list_deliveries(
        session,
        principal=principal,
        webhook_id=webhook_id,
        after=after_instant_and_id("webhook-deliveries", cursor),
        limit=fetch_limit(limit),
    )
    page, next_cursor = cut_page(
        found,
        limit=limit,
        kind="webhook-deliveries",
        key=lambda d: [d.created_at.isoformat(), d.id],
    )
    return json_response(page_body([delivery_to_dict(d) for d in page], next_cursor))


@router.get(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}",
    summary="One delivery with every attempt",
    response_class=Response,
    responses=ok_responses(DeliveryOut),
)
async def get_delivery(
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    session: ReadSession,
    principal: CurrentPrincipal,
) -> Response:
    delivery = await service.get_delivery(
        session, principal=principal, webhook_id=webhook_id, delivery_id=delivery_id
    )
    return json_response(delivery_to_dict(delivery))
