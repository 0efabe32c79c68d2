"""The delivery loop: send due deliveries, log each attempt, retry on a schedule.

Started by the worker: `run_deliveries(database, settings, stop_event)`. Each round claims
due deliveries in a short transaction (PostgreSQL: FOR UPDATE SKIP LOCKED, so replicas
share the work; a claim is a lease, so one whose worker died is due again when the lease
runs out), POSTs them outside any transaction, then records each attempt in its own.
Everything that decides the next attempt is in the database, so the schedule survives a
restart. A receiver that times out, refuses the connection, answers 408, 409, 429 or 5xx
(or redirects, which is never followed) is tried again, on `RETRY_SCHEDULE`; another 4xx,
or a target that resolves to an inside address, fails the delivery at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import ssl
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from haven.core.clock import utcnow
from haven.core.http import dump_json
from haven.db.session import Database
from haven.events.outbox import record
from haven.settings import Settings
from haven.webhooks import events as webhook_events
from haven.webhooks import repository as repo
from haven.webhooks import signing, ssrf
from haven.webhooks.models import WebhookDelivery, WebhookEndpoint
from haven.webhooks.service import secrets_in_use

log = structlog.get_logger("haven.webhooks")

# Seconds before each attempt, counted from the failure of the one before: immediately,
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; after the eighth attempt the delivery fails.
RETRY_SCHEDULE: Final = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
EXCERPT_BYTES: Final = 1024
RETRYABLE_4XX: Final = frozenset({408, 409, 429})
USER_AGENT: Final = "Haven-Webhooks/1"


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How deliveries are sent and retried; tests shorten the schedule and the windows."""

    # Opens the sealed signing secrets (derived from HAVEN_SECRET_KEY).
    keys: signing.SigningSecrets = field(kw_only=True)
    schedule: tuple[float, ...] = RETRY_SCHEDULE
    timeout_seconds: float = 10.0
    lease_seconds: float = 60.0
    max_retry_after_seconds: float = 36000.0
    disable_after: timedelta = timedelta(days=5)
    disable_min_attempts: int = 10
    allow_private_targets: bool = False
    batch_size: int = 20
    poll_seconds: float = 1.0
    # PEM file of the CAs an https:// receiver's certificate must chain to; None: the
    # public CAs httpx ships (certifi). Certificates are verified either way.
    ca_bundle: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            keys=signing.signing_secrets(settings.resolved_secret_key()),
            ca_bundle=str(settings.webhook_ca_bundle) if settings.webhook_ca_bundle else None,
            timeout_seconds=settings.webhook_timeout_seconds,
            lease_seconds=settings.webhook_lease_seconds,
            max_retry_after_seconds=settings.webhook_max_retry_after_seconds,
            disable_after=timedelta(days=settings.webhook_disable_after_days),
            disable_min_attempts=settings.webhook_disable_min_attempts,
            allow_private_targets=settings.webhook_allow_private_targets,
            batch_size=settings.webhook_batch_size,
            poll_seconds=settings.webhook_poll_seconds,
        )


@dataclass(frozen=True, slots=True)
class Claimed:
    """What one attempt needs, read while the delivery was claimed."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    token: uuid.UUID
    url: str
    secrets: tuple[str, ...]
    event_id: str
    payload: dict[str, Any]
    # Why the secrets could not be opened (the attempt then sends nothing).
    unreadable: str | None = None


@dataclass(slots=True)
class Outcome:
    """What one attempt found."""

    started_at: datetime
    latency_ms: int = 0
    status_code: int | None = None
    excerpt: str | None = None
    error: str | None = None
    succeeded: bool = False
    retryable: bool = True
    retry_after: float | None = None


def new_http_client(policy: DeliveryPolicy) -> httpx.AsyncClient:
    """The client every attempt uses: no redirects, no proxies from the environment (a
    proxy would connect to the name, not to the checked address), and no kept-alive
    connections: a pool keyed by address could carry one host's request over a TLS
    connection verified for another host at the same address."""
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=policy.ca_bundle) if policy.ca_bundle else True
    )
    return httpx.AsyncClient(
        verify=verify,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(policy.timeout_seconds),
        limits=httpx.Limits(max_keepalive_connections=0),
        headers={"User-Agent": USER_AGENT},
    )


async def run_deliveries(database: Database, settings: Settings, stop_event: asyncio.Event) -> None:
    """Deliver until `stop_event` is set; the round in flight finishes first."""
    policy = DeliveryPolicy.from_settings(settings)
    async with new_http_client(policy) as client:
        while not stop_event.is_set():
            try:
                attempted = await deliver_due_once(database, policy, client=client)
            except Exception:
                log.exception("webhook delivery round failed")
                attempted = 0
            if attempted < policy.batch_size:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop_event.wait(), policy.poll_seconds)


async def deliver_due_once(
    database: Database,
    policy: DeliveryPolicy,
    *,
    client: httpx.AsyncClient | None = None,
    resolver: ssrf.Resolver = ssrf.system_resolver,
) -> int:
    """One round: claim what is due, attempt each, record the results. How many attempts."""
    claimed = await _claim(database, policy)
    if not claimed:
        return 0
    if client is None:
        async with new_http_client(policy) as own:
            outcomes = await _attempt_all(own, claimed, policy, resolver)
    else:
        outcomes = await _attempt_all(client, claimed, policy, resolver)
    for item, outcome in zip(claimed, outcomes, strict=True):
        await _record(database, item, outcome, policy)
    return len(claimed)


async def _claim(database: Database, policy: DeliveryPolicy) -> list[Claimed]:
    now = utcnow()
    token = uuid.uuid4()
    async with database.sessions() as session, session.begin():
        rows = await repo.claim_due(
            session,
            now=now,
            limit=policy.batch_size,
            lease_until=now + timedelta(seconds=policy.lease_seconds),
            token=token,
        )
        return [_claimed(delivery, endpoint, token, policy, now=now) for delivery, endpoint in rows]


def _claimed(
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    token: uuid.UUID,
    policy: DeliveryPolicy,
    *,
    now: datetime,
) -> Claimed:
    try:
        opened, unreadable = tuple(secrets_in_use(endpoint, now=now, keys=policy.keys)), None
    except signing.SecretUnreadable as exc:
        opened, unreadable = (), str(exc)
    return Claimed(
        delivery_id=delivery.id,
        endpoint_id=endpoint.id,
        token=token,
        url=endpoint.url,
        secrets=opened,
        event_id=str(delivery.event_id),
        payload=dict(delivery.payload),
        unreadable=unreadable,
    )


async def _attempt_all(
    client: httpx.AsyncClient,
    claimed: list[Claimed],
    policy: DeliveryPolicy,
    resolver: ssrf.Resolver,
) -> list[Outcome]:
    return list(await asyncio.gather(*(attempt(client, c, policy, resolver) for c in claimed)))


def _connect_url(target: ssrf.Target, address: ssrf.IPAddress) -> str:
    host = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    path = target.url.path or "/"
    query = f"?{target.url.query}" if target.url.query else ""
    return f"{target.url.scheme}://{host}:{target.port}{path}{query}"


def _host_header(target: ssrf.Target) -> str:
    default = 443 if target.url.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


async def attempt(
    client: httpx.AsyncClient, claimed: Claimed, policy: DeliveryPolicy, resolver: ssrf.Resolver
) -> Outcome:
    """POST one delivery once, to an address checked just now; never raises."""
    outcome = Outcome(started_at=utcnow())
    if claimed.unreadable is not None:
        # Retried: the operator may put the right HAVEN_SECRET_KEY back.
        outcome.error = claimed.unreadable[:500]
        return outcome
    began = time.perf_counter()
    try:
        target = await ssrf.resolve_target(
            claimed.url, allow_private=policy.allow_private_targets, resolver=resolver
        )
        await _post(client, claimed, target, policy, outcome)
    except ssrf.TargetRefused as exc:
        outcome.error, outcome.retryable = f"target refused: {exc}", False
    except ssrf.UnresolvableHost as exc:
        outcome.error = str(exc)
    except (httpx.TimeoutException, TimeoutError):
        outcome.error = f"timed out after {policy.timeout_seconds:g} s"
    except httpx.ConnectError as exc:
        outcome.error = f"could not connect: {exc or 'connection refused'}"
    except httpx.HTTPError as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
    except OSError as exc:
        outcome.error = f"network error: {exc}"
    outcome.latency_ms = round((time.perf_counter() - began) * 1000)
    if outcome.error is not None:
        outcome.error = outcome.error[:500]
    return outcome


async def _post(
    client: httpx.AsyncClient,
    claimed: Claimed,
    target: ssrf.Target,
    policy: DeliveryPolicy,
    outcome: Outcome,
) -> None:
    body = dump_json(claimed.payload)
    headers = {
        "Content-Type": "application/json",
        "Host": _host_header(target),
        **signing.headers(
            claimed.secrets, message_id=claimed.event_id, sent_at=utcnow(), body=body
        ),
    }
    extensions: dict[str, Any] = {}
    if target.url.scheme == "https":
        extensions["sni_hostname"] = target.host
    request = client.build_request(
        "POST",
        _connect_url(target, target.addresses[0]),
        content=body,
        headers=headers,
        extensions=extensions,
    )
    async with asyncio.timeout(policy.timeout_seconds):
        response = await client.send(request, stream=True)
        try:
            outcome.excerpt = await _excerpt(response)
        finally:
            await response.aclose()
    _judge(response, outcome)


async def _excerpt(response: httpx.Response) -> str:
    taken = bytearray()
    async for chunk in response.aiter_bytes():
        taken += chunk
        if len(taken) >= EXCERPT_BYTES:
            break
    text = bytes(taken[:EXCERPT_BYTES]).decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd")


def _judge(response: httpx.Response, outcome: Outcome) -> None:
    status = outcome.status_code = response.status_code
    if 200 <= status < 300:
        outcome.succeeded = True
        return
    if 300 <= status < 400:
        location = response.headers.get("location", "")[:200]
        outcome.error = f"redirect ({status}) to {location!r} not followed"
        return
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        outcome.error, outcome.retryable = f"HTTP {status}: not retried", False
        return
    outcome.error = f"HTTP {status}"
    if status in (429, 503):
        outcome.retry_after = retry_after_seconds(response.headers.get("retry-after"))


def rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A Retry-After header's wait in seconds (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or utcnow())).total_seconds())


def next_delay(policy: DeliveryPolicy, *, attempts: int, retry_after: float | None) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones; None: no more attempts.

    A Retry-After is honoured up to the policy's limit, never sooner than the schedule.
    """
    if attempts >= len(policy.schedule):
        return None
    delay = policy.schedule[attempts]
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_retry_after_seconds))
    return delay


async def _record(
    database: Database, claimed: Claimed, outcome: Outcome, policy: DeliveryPolicy
) -> None:
    """Log the attempt and decide what comes next, unless the claim was lost meanwhile."""
    now = utcnow()
    async with database.sessions() as session, session.begin():
        # Endpoint first, then delivery: the order every writer of both takes.
        endpoint = await repo.lock_endpoint(session, claimed.endpoint_id)
        delivery = await repo.lock_delivery(session, claimed.delivery_id)
        if (
            endpoint is None
            or delivery is None
            or delivery.lease_token != claimed.token
            or delivery.status != repo.PENDING
        ):
            return  # deleted, or the lease ran out and another worker took it over
        delivery.attempts += 1
        # A new list, so the ORM sees the JSON column change.
        delivery.attempt_log = [
            *delivery.attempt_log,
            {
                "number": delivery.attempts,
                "started_at": rfc3339(outcome.started_at),
                "latency_ms": outcome.latency_ms,
                "status_code": outcome.status_code,
                "response_excerpt": outcome.excerpt,
                "error": outcome.error,
            },
        ]
        delivery.lease_token = None
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        if outcome.succeeded:
            delivery.status, delivery.next_attempt_at, delivery.finished_at = (
                "succeeded",
                None,
                now,
            )
            if endpoint.failed_attempts or endpoint.failing_since is not None:
                await repo.set_health(
                    session, endpoint_id=endpoint.id, failing_since=None, failed_attempts=0
                )
            return
        delay = (
            next_delay(policy, attempts=delivery.attempts, retry_after=outcome.retry_after)
            if outcome.retryable
            else None
        )
        if delay is None:
            delivery.status, delivery.next_attempt_at, delivery.finished_at = "failed", None, now
        else:
            delivery.next_attempt_at = now + timedelta(seconds=delay)
        failing_since = endpoint.failing_since or outcome.started_at
        failed_attempts = endpoint.failed_attempts + 1
        await repo.set_health(
            session,
            endpoint_id=endpoint.id,
            failing_since=failing_since,
            failed_attempts=failed_attempts,
        )
        await session.flush()
        if (
            endpoint.enabled
            and now - failing_since >= policy.disable_after
            and failed_attempts >= policy.disable_min_attempts
        ):
            await _disable(session, endpoint, failing_since, failed_attempts, now=now)


async def _disable(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    failing_since: datetime,
    failed_attempts: int,
    *,
    now: datetime,
) -> None:
    """Turn off an endpoint that kept failing, give up what it has pending, and say so."""
    before = webhook_events.snapshot(endpoint)
    endpoint.enabled = False
    endpoint.disabled_reason = (
        f"disabled by Haven: every attempt failed since "
        f"{rfc3339(failing_since)} ({failed_attempts} attempts)"
    )
    await session.flush()
    record(
        session,
        webhook_events.disabled_after_failures(
            endpoint, before=before, failing_since=failing_since, failed_attempts=failed_attempts
        ),
    )
    await repo.fail_pending(
        session, endpoint_ids=[endpoint.id], now=now, reason="the webhook was disabled"
    )
    log.warning("webhook disabled after failures", webhook_id=str(endpoint.id))
