"""API shapes of webhooks, and the one place an endpoint or a delivery becomes JSON."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, Field, StrictBool

from haven.core.schemas import PatchBody, RequestBody
from haven.core.text import one_line
from haven.webhooks.models import WebhookDelivery, WebhookEndpoint

MAX_EVENT_TYPES: Final = 100
EVENT_TYPE_PATTERN: Final = re.compile(r"\*|haven\.[a-z_]{1,40}\.(\*|[a-z_]{1,60})")


def _event_types(values: list[str]) -> list[str]:
    for value in values:
        if not EVENT_TYPE_PATTERN.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an event type: give one like 'haven.task.completed', "
                "all of one entity's like 'haven.task.*', or '*' for every type"
            )
    return list(dict.fromkeys(values))


WebhookUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        description="where events are POSTed: a public http(s) URL without credentials",
    ),
    AfterValidator(str.strip),
]
EventTypes = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=MAX_EVENT_TYPES,
        description="which events it receives: exact types, `haven.<entity>.*`, or `*`",
    ),
    AfterValidator(_event_types),
]
Description = Annotated[str, Field(max_length=500), AfterValidator(one_line)]


class WebhookCreate(RequestBody):
    id: uuid.UUID | None = Field(None, description="client-chosen id; makes a retry idempotent")
    workspace_id: uuid.UUID | None = Field(
        None, description="whose events it receives; default: your personal workspace"
    )
    url: WebhookUrl
    event_types: EventTypes = Field(default_factory=lambda: ["*"])
    description: Description = ""
    enabled: StrictBool = True


class WebhookUpdate(PatchBody):
    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: StrictBool | None = Field(
        None, description="false pauses deliveries; true resumes them and clears the failure count"
    )


class WebhookOut(BaseModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None = Field(description="why Haven disabled it, if it did")
    failing_since: datetime | None = Field(description="first failed attempt since a success")
    previous_secret_expires_at: datetime | None = Field(
        description="until then, deliveries are also signed with the secret rotated out last"
    )
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookWithSecret(WebhookOut):
    secret: str | None = Field(
        description="the signing secret (whsec_...), shown only in this answer; "
        "null on a retried create"
    )


class WebhookSecret(BaseModel):
    secret: str = Field(description="the new signing secret, shown only in this answer")
    previous_secret_expires_at: datetime | None
    version: int


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    latency_ms: int
    status_code: int | None
    response_excerpt: str | None = Field(description="the first 1 KB of the response body")
    error: str | None = Field(description="why no answer counted: timeout, refused, ...")


class DeliveryOut(BaseModel):
    id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID = Field(description="the webhook-id header, the same on each retry")
    event_type: str
    status: str = Field(description="pending, succeeded or failed")
    attempts: list[AttemptOut]
    next_attempt_at: datetime | None = Field(description="when the next retry is due (pending)")
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class TestDelivery(BaseModel):
    delivery_id: uuid.UUID
    event_id: uuid.UUID


def webhook_to_dict(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint as the API shows it (never its secrets); the shape of WebhookOut."""
    return {
        "id": endpoint.id,
        "workspace_id": endpoint.workspace_id,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
        "previous_secret_expires_at": endpoint.previous_secret_expires_at,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
        "version": endpoint.version,
    }


def delivery_to_dict(delivery: WebhookDelivery) -> dict[str, Any]:
    """A delivery with its attempts, oldest first; the shape of DeliveryOut."""
    return {
        "id": delivery.id,
        "webhook_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": list(delivery.attempt_log),
        "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "finished_at": delivery.finished_at,
    }
