"""The documented `data` of every event type is what Haven really emits.

One scenario drives the API until every type in the catalog has been written at least once
(the few no request can make here are built by their real builders), then holds each event
against docs/asyncapi.yaml (the envelope, the data's properties and required fields, and
the fields of every object it lists) and docs/events.md (the catalog table: the subject, every
top-level field, and the `{...}` field lists). A field a builder adds, drops or renames
without the docs, or a documented field nothing emits, fails here.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml
from sqlalchemy import select

from haven.accounts import events as account_events
from haven.accounts import users
from haven.accounts.models import Identity, User
from haven.core.http import dump_json
from haven.db.session import Database
from haven.events import catalog
from haven.events.bus.base import MAX_BODY_BYTES
from haven.events.models import Event
from haven.events.outbox import DomainEvent, to_cloudevent, to_message
from haven.notifications import events as notification_events
from haven.notifications.models import Notification, NotificationDelivery
from haven.notifications.schemas import notification_to_dict
from haven.scheduler.loop import Scheduler
from haven.webhooks import events as webhook_events
from haven.webhooks.models import WebhookEndpoint
from tests.factories import Account, add_member, make_task, make_workspace
from tests.ledger import DERIVED

DOCS = Path(__file__).resolve().parents[2] / "docs"
# Named in the catalog and documented, but nothing emits them yet.
# Types the catalog names that nothing emits yet.
RESERVED: set[str] = set()
PUBLIC_URL = "https://93.184.216.34/hooks"

Data = dict[str, Any]


def catalog_types() -> set[str]:
    return {
        value
        for name, value in vars(catalog).items()
        if name.isupper() and isinstance(value, str) and value != catalog.PREFIX
    }


def _ok(response: httpx.Response) -> Data:
    assert response.status_code < 300, (response.request.url, response.text)
    body: Data = response.json() if response.content else {}
    return body


async def _drive_the_api(client: httpx.AsyncClient, alice: Account, bob: Account) -> Data:
    """Requests that write every type but the reserved and the hand-built ones; returns
    one current answer of each API shape an event embeds whole."""
    h = alice.headers
    team = await make_workspace(client, alice)
    _ok(await client.patch(f"/workspaces/{team}", json={"name": "Team B"}, headers=h))
    assert (await add_member(client, alice, team, bob, "member")).status_code == 201
    members = f"/workspaces/{team}/members/{bob.id}"
    _ok(await client.patch(members, json={"role": "admin"}, headers=h))
    _ok(await client.delete(members, headers=h))

    project = _ok(await client.post("/projects", json={"name": "Garden"}, headers=h))
    _ok(await client.patch(f"/projects/{project['id']}", json={"name": "Yard"}, headers=h))
    task = await make_task(client, alice, due="2026-12-01", tags=["errand"])
    other = await make_task(client, alice, project_id=project["id"])
    tag = _ok(await client.get("/tags", headers=h))["items"][0]
    _ok(await client.patch(f"/tags/{tag['id']}", json={"name": "chore"}, headers=h))
    path = f"/tasks/{task['id']}"
    _ok(await client.patch(path, json={"title": "Renamed"}, headers=h))
    _ok(await client.post(f"{path}/dependencies", json={"depends_on_id": other["id"]}, headers=h))
    _ok(await client.delete(f"{path}/dependencies/{other['id']}", headers=h))
    _ok(await client.post(f"{path}/timer/start", headers=h))
    _ok(await client.post(f"{path}/timer/stop", headers=h))
    reminder = _ok(await client.post(f"{path}/reminders", json={"offset_minutes": 30}, headers=h))
    _ok(await client.delete(f"{path}/reminders/{reminder['id']}", headers=h))
    _ok(await client.post(f"{path}/complete", headers=h))
    _ok(await client.post(f"{path}/reopen", headers=h))
    series = await make_task(client, alice, due="2026-12-01", recurrence={"rule": "FREQ=DAILY"})
    _ok(await client.post(f"/tasks/{series['id']}/skip", headers=h))
    _ok(await client.post(f"/tasks/{series['id']}/complete", headers=h))  # and the next one
    _ok(await client.delete(path, headers=h))
    _ok(await client.post(f"{path}/restore", headers=h))
    shapes = {
        "task": _ok(await client.get(path, headers=h)),
        "project": _ok(await client.get(f"/projects/{project['id']}", headers=h)),
        "tag": _ok(await client.get("/tags", headers=h))["items"][0],
    }
    _ok(await client.delete(f"/tags/{tag['id']}", headers=h))
    _ok(await client.delete(f"/projects/{project['id']}", headers=h))
    search = {"name": "Errands", "query": {"q": "milk", "status": ["todo"]}}
    saved = _ok(await client.post("/saved-searches", json=search, headers=h))
    _ok(await client.patch(f"/saved-searches/{saved['id']}", json={"name": "Shop"}, headers=h))
    shapes["saved_search"] = _ok(await client.get(f"/saved-searches/{saved['id']}", headers=h))
    _ok(await client.delete(f"/saved-searches/{saved['id']}", headers=h))

    _ok(await client.patch("/me", json={"name": "Alice B."}, headers=h))
    key = _ok(
        await client.post("/api-keys", json={"name": "k", "scopes": ["tasks:read"]}, headers=h)
    )
    _ok(await client.delete(f"/api-keys/{key['id']}", headers=h))
    quiet = {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00", "push": False}
    _ok(await client.patch("/notification-preferences", json=quiet, headers=h))
    phone = {"name": "Pixel", "platform": "android", "push_token": "fcm-token"}
    device = _ok(await client.post("/devices", json=phone, headers=h))
    _ok(await client.delete(f"/devices/{device['id']}", headers=h))

    webhook = _ok(await client.post("/webhooks", json={"url": PUBLIC_URL}, headers=h))
    hook = f"/webhooks/{webhook['id']}"
    _ok(await client.patch(hook, json={"description": "CI"}, headers=h))
    _ok(await client.post(f"{hook}/secret", headers=h))
    _ok(await client.post(f"{hook}/test", headers=h))
    gone = _ok(await client.post("/webhooks", json={"url": PUBLIC_URL}, headers=h))
    _ok(await client.delete(f"/webhooks/{gone['id']}", headers=h))
    # In the team: the workspace's deletion disables it.
    _ok(await client.post("/webhooks", json={"url": PUBLIC_URL, "workspace_id": team}, headers=h))
    _ok(await client.delete(f"/workspaces/{team}", headers=h))
    return shapes | {"webhook_id": webhook["id"]}


def _as_json(data: object) -> Data:
    loaded: Data = orjson.loads(dump_json(data))
    return loaded


async def _hand_built(database: Database, *, webhook_id: str, bob: Account) -> list[Data]:
    """The types no request makes here, from their real builders: an OIDC sign-in, Haven
    disabling a failing webhook, a test delivery's envelope, a notification made, sent,
    failed and read (tests/integration/notifications drive those for real); and
    deactivating an account (a service call: there is no route for it yet)."""
    now = datetime.now(UTC)
    async with database.sessions() as session, session.begin():
        await users.deactivate_user(session, user_id=uuid.UUID(bob.id), actor="system/admin")
    async with database.sessions() as session:
        endpoint = await session.get(WebhookEndpoint, uuid.UUID(webhook_id))
        user = await session.get(User, uuid.UUID(bob.id))
    assert endpoint is not None
    assert user is not None
    identity = Identity(
        id=uuid.uuid4(), user_id=user.id, issuer="https://id.example", subject="s", created_at=now
    )
    before = webhook_events.snapshot(endpoint)
    endpoint.enabled, endpoint.disabled_reason = False, "disabled by Haven: ..."
    notification = Notification(
        id=uuid.uuid4(),
        user_id=user.id,
        kind="digest",
        title="Your day",
        body="1 overdue",
        data={"local_date": "2026-11-29"},
        source_event_id=uuid.uuid4(),
        created_at=now,
        read_at=None,
    )
    delivery = NotificationDelivery(
        id=uuid.uuid4(),
        notification_id=notification.id,
        channel="email",
        target="",
        status="sent",
        attempts=1,
        last_error=None,
        next_attempt_at=None,
        lease_until=None,
        lease_token=None,
        created_at=now,
        sent_at=now,
    )
    unread = notification_to_dict(notification)
    notifications: list[DomainEvent] = [
        notification_events.requested(notification, channels=["email", "in_app"]),
        notification_events.sent(notification, delivery),
        notification_events.failed(notification, delivery),
    ]
    notification.read_at = now
    notifications.append(notification_events.read(notification, before=unread, actor="users/x"))
    built: list[DomainEvent] = [
        *notifications,
        account_events.identity_linked(user, identity),
        webhook_events.disabled_after_failures(
            endpoint, before=before, failing_since=now, failed_attempts=12
        ),
    ]
    envelopes = [
        {"type": event.type, "subject": event.subject, "data": _as_json(event.data)}
        for event in built
    ]
    test = webhook_events.test_envelope(endpoint, event_id=uuid.uuid4(), actor="users/x", now=now)
    return [*envelopes, test]


async def _scheduled(client: httpx.AsyncClient, alice: Account, database: Database) -> None:
    """The scheduler's types: a reminder that comes due, and alice's daily digest."""
    task = {"title": "Call the dentist", "due": "2030-01-07T16:00:00Z"}
    created = _ok(await client.post("/tasks", json=task, headers=alice.headers))
    reminder = {"offset_minutes": 30}
    _ok(
        await client.post(f"/tasks/{created['id']}/reminders", json=reminder, headers=alice.headers)
    )
    later = Scheduler(database, clock=lambda: datetime(2030, 1, 7, 15, 30, 5, tzinfo=UTC))
    assert await later.fire_reminders() >= 1
    assert await later.request_digests() >= 1


@dataclass
class Emitted:
    """Every emitted event's envelope, by type, and the API shapes events embed whole."""

    by_type: dict[str, list[Data]] = field(default_factory=lambda: defaultdict(list))
    shapes: Data = field(default_factory=dict)
    logged: list[Data] = field(default_factory=list)  # full envelopes from the events table
    bus: list[Data] = field(default_factory=list)  # as the relay publishes them


async def emit_every_type(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> Emitted:
    shapes = await _drive_the_api(client, alice, bob)
    hand_built = await _hand_built(database, webhook_id=shapes.pop("webhook_id"), bob=bob)
    await _scheduled(client, alice, database)
    async with database.sessions() as session:
        events = (await session.scalars(select(Event).order_by(Event.time, Event.id))).all()
    emitted = Emitted(
        shapes=shapes,
        logged=[_as_json(to_cloudevent(e)) for e in events],
        bus=bus_envelopes(events[0]),
    )
    for envelope in [*emitted.logged, *hand_built]:
        emitted.by_type[envelope["type"]].append(envelope)
    return emitted


# --- docs/asyncapi.yaml -----------------------------------------------------------------


@dataclass(frozen=True)
class Schema:
    properties: Mapping[str, Any]
    required: frozenset[str]


def _resolve(node: Mapping[str, Any], spec: Mapping[str, Any]) -> Schema:
    """An object schema with its $ref and allOf flattened."""
    if "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _resolve(target, spec)
    properties: dict[str, Any] = {}
    required: set[str] = set()
    for part in node.get("allOf", []):
        resolved = _resolve(part, spec)
        properties |= resolved.properties
        required |= resolved.required
    properties |= node.get("properties", {})
    required |= set(node.get("required", []))
    return Schema(properties, frozenset(required))


def _listed_fields(node: Mapping[str, Any], spec: Mapping[str, Any]) -> set[str] | None:
    """The fields an object property lists, or None when it does not list them."""
    resolved = _resolve(node, spec)
    return set(resolved.properties) if resolved.properties else None


def asyncapi_messages() -> tuple[dict[str, tuple[Schema, Schema]], Mapping[str, Any]]:
    """type -> (envelope schema, data schema), and the whole document."""
    spec: Mapping[str, Any] = yaml.safe_load((DOCS / "asyncapi.yaml").read_text())
    messages = {}
    for message in spec["components"]["messages"].values():
        payload = message["payload"]["allOf"]
        envelope = _resolve(payload[0], spec)
        data = _resolve(payload[1]["properties"]["data"], spec)
        messages[message["name"]] = (envelope, data)
    return messages, spec


def asyncapi_problems(emitted: Emitted) -> list[str]:
    messages, spec = asyncapi_messages()
    problems = []
    for type_, events in sorted(emitted.by_type.items()):
        if type_ not in messages:
            problems.append(f"{type_}: no message in asyncapi.yaml")
            continue
        envelope_schema, data_schema = messages[type_]
        for event in events:
            if "specversion" in event:
                problems += _differences(f"{type_} envelope", event, envelope_schema)
            problems += _differences(f"{type_} data", event["data"], data_schema)
            for name, value in event["data"].items():
                listed = (
                    _listed_fields(data_schema.properties[name], spec)
                    if name in data_schema.properties
                    else None
                )
                if isinstance(value, dict) and listed is not None:
                    nested = _resolve(data_schema.properties[name], spec)
                    problems += _differences(
                        f"{type_} data.{name}", value, Schema(nested.properties, frozenset(listed))
                    )
    problems += _unused_properties(emitted, messages)
    return sorted(set(problems))


JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
    "null": type(None),
}


def _type_problem(value: object, node: Mapping[str, Any]) -> str | None:
    """Whether a value has a JSON type, const or enum value its schema allows."""
    if "const" in node and value != node["const"]:
        return f"is {value!r}, documented as {node['const']!r}"
    if "enum" in node and value not in node["enum"]:
        return f"is {value!r}, documented as one of {node['enum']}"
    allowed = node.get("type")
    if allowed is None:
        return None
    names = [allowed] if isinstance(allowed, str) else list(allowed)
    fits = any(
        isinstance(value, JSON_TYPES[name]) and not (name == "integer" and isinstance(value, bool))
        for name in names
    )
    return None if fits else f"is a {type(value).__name__}, documented as {names}"


def _differences(where: str, emitted: Mapping[str, Any], schema: Schema) -> list[str]:
    problems = []
    undocumented = set(emitted) - set(schema.properties)
    missing = schema.required - set(emitted)
    if undocumented:
        problems.append(f"{where}: emits undocumented {sorted(undocumented)}")
    if missing:
        problems.append(f"{where}: lacks required {sorted(missing)}")
    for name in set(emitted) & set(schema.properties):
        problem = _type_problem(emitted[name], schema.properties[name])
        if problem is not None:
            problems.append(f"{where}.{name} {problem}")
    return problems


def _unused_properties(
    emitted: Emitted, messages: Mapping[str, tuple[Schema, Schema]]
) -> list[str]:
    """A documented data field that no event of any type sharing that schema emits."""
    seen: dict[frozenset[str], set[str]] = defaultdict(set)
    types_of: dict[frozenset[str], list[str]] = defaultdict(list)
    for type_, (_, data_schema) in messages.items():
        key = frozenset(data_schema.properties)
        types_of[key].append(type_)
        for event in emitted.by_type.get(type_, []):
            seen[key] |= set(event["data"])
    return [
        f"{sorted(types_of[key])}: documents {sorted(key - fields)}, which nothing emits"
        for key, fields in seen.items()
        if key - fields and not set(types_of[key]) <= RESERVED
    ]


# --- docs/events.md ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    subject: re.Pattern[str]
    fields: frozenset[str]  # top-level data fields the row names
    lists: Mapping[str, frozenset[str]]  # field -> the `{...}` list given after it


def events_md_rows() -> dict[str, Row]:
    text = (DOCS / "events.md").read_text()
    catalog_part = text.split("## Catalog", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in catalog_part.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`haven."):
            continue
        type_ = cells[0].strip("`")
        subject = re.escape(cells[1].strip("`"))
        subject_pattern = re.compile(re.sub(r"<[a-z_]+>", r"[^/]+", subject) + r"\Z")
        names: set[str] = set()
        lists: dict[str, frozenset[str]] = {}
        previous = None
        # What a parenthesis names is inside a field (the keys of `changes`), not a field.
        for token in re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", cells[2])):
            if token.startswith("{"):
                assert previous is not None, (type_, token)
                lists[previous] = frozenset(f.strip() for f in token.strip("{}").split(","))
                continue
            previous = re.split(r"[.:\s]", token, maxsplit=1)[0]
            names.add(previous)
        rows[type_] = Row(subject_pattern, frozenset(names), lists)
    return rows


def events_md_problems(emitted: Emitted) -> list[str]:
    rows = events_md_rows()
    problems = []
    for type_, events in sorted(emitted.by_type.items()):
        row = rows.get(type_)
        if row is None:
            problems.append(f"{type_}: no row in the events.md catalog")
            continue
        for event in events:
            if not row.subject.match(event["subject"]):
                problems.append(f"{type_}: subject {event['subject']!r} is not as documented")
            unnamed = set(event["data"]) - row.fields
            if unnamed:
                problems.append(f"{type_}: emits {sorted(unnamed)}, not named in events.md")
            for name, listed in row.lists.items():
                value = event["data"].get(name)
                if isinstance(value, dict) and set(value) != listed:
                    problems.append(
                        f"{type_} {name}: emits {sorted(value)}, events.md lists {sorted(listed)}"
                    )
    return sorted(set(problems))


def events_md_envelope_fields() -> set[str]:
    """The fields of the envelope table at the top of events.md."""
    text = (DOCS / "events.md").read_text()
    table = text.split("| field | value |", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))


def bus_envelopes(logged: Event) -> list[Data]:
    """An event as the bus carries it, and the same with data too large for a broker."""
    huge = Event(**{c.key: getattr(logged, c.key) for c in Event.__table__.columns})
    huge.data = {"padding": "x" * MAX_BODY_BYTES}
    return [orjson.loads(to_message(event, position=7).body) for event in (logged, huge)]


def envelope_problems(emitted: Emitted) -> list[str]:
    _, spec = asyncapi_messages()
    schema = _resolve(spec["components"]["schemas"]["Envelope"], spec)
    table = events_md_envelope_fields()
    problems = []
    if table != set(schema.properties):
        problems.append(
            f"events.md's envelope table {sorted(table)} != asyncapi {sorted(schema.properties)}"
        )
    for envelope in [*emitted.logged, *emitted.bus]:
        problems += _differences("envelope", envelope, schema)
        if ("data" in envelope) == ("haven_data_omitted" in envelope):
            problems.append(
                f"envelope: exactly one of data, haven_data_omitted: {sorted(envelope)}"
            )
    return sorted(set(problems))


def _keys(items: Iterable[Data], name: str) -> set[frozenset[str]]:
    return {frozenset(item["data"][name]) for item in items if name in item["data"]}


async def test_every_type_emits_the_data_its_docs_describe(
    client: httpx.AsyncClient, alice: Account, bob: Account, database: Database
) -> None:
    emitted = await emit_every_type(client, alice, bob, database)

    assert set(emitted.by_type) == catalog_types() - RESERVED
    assert envelope_problems(emitted) == []
    assert asyncapi_problems(emitted) == []
    assert events_md_problems(emitted) == []
    # Objects documented as "exactly the shape of GET ...": the same fields as that answer.
    for name, plural in (
        ("task", "task"),
        ("project", "project"),
        ("tag", "tag"),
        ("saved_search", "saved_search"),
    ):
        events = [
            e for t, es in emitted.by_type.items() if t.startswith(f"haven.{plural}.") for e in es
        ]
        # (A task's derived subtask counts excepted: no event of the task could keep them.)
        shape = frozenset(emitted.shapes[name]) - (DERIVED if name == "task" else frozenset())
        assert _keys(events, name) == {shape}, name


def test_the_reserved_types_are_emitted_by_no_builder() -> None:
    """When a builder starts to emit one, it leaves RESERVED and the check above covers it."""
    source = "\n".join(
        path.read_text()
        for path in (Path(__file__).resolve().parents[2] / "src" / "haven").rglob("events.py")
    )
    for type_ in RESERVED:
        constant = next(name for name, value in vars(catalog).items() if value == type_)
        assert f"catalog.{constant}" not in source
