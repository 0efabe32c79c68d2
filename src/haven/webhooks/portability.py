"""How a workspace's webhooks travel in a workspace export (haven.portability).

Secrets never leave, not even sealed (they are sealed under this server's key, which the
other Haven does not have): an imported webhook gets a fresh secret, sealed under the
importing server's key, and arrives disabled, since its receiver knows only the old secret
and the other Haven may still be sending to it. Nobody is shown that fresh secret: rotating
it is how the owner gets one to give the receiver.
Deliveries travel as the log they are; one still pending is not sent from here.
"""

from __future__ import annotations

from haven.core.clock import utcnow
from haven.events.outbox import EventList
from haven.portability.registry import IMPORT_ACTOR, ImportContext, Row, Section, register_section
from haven.webhooks import events, signing
from haven.webhooks.models import WebhookEndpoint

IMPORTED = "imported from another Haven: rotate the secret, then enable it"


async def disabled_with_fresh_secrets(context: ImportContext, rows: list[Row]) -> list[Row]:
    keys = signing.signing_secrets(context.secret_key)
    for row in rows:
        row["secret"] = keys.seal(signing.new_secret(), endpoint_id=row["id"])
        row["previous_secret"] = None
        row["previous_secret_expires_at"] = None
        if row["enabled"]:
            row["enabled"] = False
            row["disabled_reason"] = IMPORTED
    if rows:
        context.report.warnings.append(
            f"{len(rows)} webhook(s) imported disabled, with new secrets: rotate the secret "
            "(POST /webhooks/{id}/secret), give it to the receiver, then enable the webhook"
        )
    return rows


def webhooks_created(_context: ImportContext, rows: list[Row]) -> EventList:
    return [events.created(WebhookEndpoint(**row), actor=IMPORT_ACTOR) for row in rows]


async def pending_ones_not_sent(context: ImportContext, rows: list[Row]) -> list[Row]:
    now = utcnow()
    for row in rows:
        row["lease_token"] = None
        if row["status"] == "pending":
            row["status"] = "failed"
            row["next_attempt_at"] = None
            row["finished_at"] = now
            row["last_error"] = "not sent: imported from another Haven"
    return rows


register_section(
    Section(
        "webhooks",
        "webhook_endpoints",
        omit=frozenset({"secret", "previous_secret"}),
        prepare=disabled_with_fresh_secrets,
        events=webhooks_created,
        since=2,
    )
)
register_section(
    Section(
        "webhook_deliveries",
        "webhook_deliveries",
        omit=frozenset({"lease_token"}),
        via="endpoint_id",
        prepare=pending_ones_not_sent,
        since=2,
    )
)
