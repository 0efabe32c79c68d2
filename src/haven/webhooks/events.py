"""The events of webhooks, built in one place (docs/events.md lists each one's `data`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NotRequired, TypedDict

import orjson

from haven.core.http import dump_json
from haven.events import catalog
from haven.events.outbox import Changes, DomainEvent, State, changes_between
from haven.webhooks.models import WebhookEndpoint
from haven.webhooks.schemas import webhook_to_dict

ALL_TYPES = "*"
TEST_TYPE = catalog.WEBHOOK_TEST


class WebhookChanged(TypedDict):
    webhook: State  # never its secrets
    changes: NotRequired[Changes]
    # delivery_failed only: since when it failed, and how many attempts in a row.
    failing_since: NotRequired[datetime | None]
    failed_attempts: NotRequired[int]
    secret_rotated: NotRequired[bool]


def snapshot(endpoint: WebhookEndpoint) -> State:
    return webhook_to_dict(endpoint)


def _changed(endpoint: WebhookEndpoint, before: State | None) -> WebhookChanged:
    data: WebhookChanged = {"webhook": webhook_to_dict(endpoint)}
    if before is not None:
        data["changes"] = changes_between(before, data["webhook"])
    return data


def _about(type_: str, endpoint: WebhookEndpoint, actor: str, data: WebhookChanged) -> DomainEvent:
    return DomainEvent(
        type=type_,
        subject=f"webhooks/{endpoint.id}",
        actor=actor,
        workspace_id=endpoint.workspace_id,
        version=endpoint.version,
        data=data,
    )


def created(endpoint: WebhookEndpoint, *, actor: str) -> DomainEvent:
    return _about(catalog.WEBHOOK_CREATED, endpoint, actor, _changed(endpoint, None))


def updated(
    endpoint: WebhookEndpoint, *, before: State, actor: str, secret_rotated: bool = False
) -> DomainEvent:
    data = _changed(endpoint, before)
    if secret_rotated:
        data["secret_rotated"] = True
    return _about(catalog.WEBHOOK_UPDATED, endpoint, actor, data)


def deleted(endpoint: WebhookEndpoint, *, before: State, actor: str) -> DomainEvent:
    return _about(catalog.WEBHOOK_DELETED, endpoint, actor, _changed(endpoint, before))


def disabled_after_failures(
    endpoint: WebhookEndpoint, *, before: State, failing_since: datetime, failed_attempts: int
) -> DomainEvent:
    """Haven disabled the endpoint: `changes.enabled` is [true, false]."""
    data = _changed(endpoint, before)
    data["failing_since"] = failing_since
    data["failed_attempts"] = failed_attempts
    return _about(catalog.WEBHOOK_DELIVERY_FAILED, endpoint, "system/webhooks", data)


def is_about_itself(envelope_type: str, subject: str, endpoint_id: uuid.UUID) -> bool:
    """A failure notice about an endpoint is not sent to that endpoint."""
    return envelope_type == catalog.WEBHOOK_DELIVERY_FAILED and subject == f"webhooks/{endpoint_id}"


def test_envelope(
    endpoint: WebhookEndpoint, *, event_id: uuid.UUID, actor: str, now: datetime
) -> dict[str, Any]:
    """The CloudEvent POST /webhooks/{id}/test sends: shaped like every other, never logged."""
    data: Any = orjson.loads(dump_json({"webhook": webhook_to_dict(endpoint)}))
    return {
        "specversion": "1.0",
        "id": str(event_id),
        "type": catalog.WEBHOOK_TEST,
        "source": f"/workspaces/{endpoint.workspace_id}",
        "subject": f"webhooks/{endpoint.id}",
        "time": now.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "haven_position": None,
        "haven_actor": actor,
        "haven_version": endpoint.version,
        "data": data,
    }


def known_types() -> frozenset[str]:
    """Every type in the catalog, for checking an endpoint's filter."""
    return frozenset(
        value
        for name, value in vars(catalog).items()
        if name.isupper() and isinstance(value, str) and value != catalog.PREFIX
    )


def matches(event_types: list[str], event_type: str) -> bool:
    """Whether an endpoint's filter takes this type."""
    for wanted in event_types:
        if wanted in (ALL_TYPES, event_type):
            return True
        if wanted.endswith(".*") and event_type.startswith(wanted[:-1]):
            return True
    return False
