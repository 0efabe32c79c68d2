"""Events are built by one typed builder per domain, and say exactly what changed."""

from __future__ import annotations

import ast
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson

from haven.accounts import events as account_events
from haven.accounts.models import ApiKey, Device, User
from haven.core.http import dump_json
from haven.events import catalog
from haven.events.outbox import changes_between

SRC = Path(__file__).resolve().parents[2] / "src" / "haven"
DOCS = Path(__file__).resolve().parents[2] / "docs"
# The outbox defines DomainEvent; the catalog names the types; builders use both.
PLUMBING = {SRC / "events" / "outbox.py", SRC / "events" / "catalog.py"}


def _is_builder(path: Path) -> bool:
    return path.name == "events.py" and path.parent != SRC / "events"


def _sources() -> list[Path]:
    return [p for p in SRC.rglob("*.py") if "migrations" not in p.parts and p not in PLUMBING]


def test_only_builders_name_event_types_or_make_events() -> None:
    offenders = []
    for path in _sources():
        if _is_builder(path):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "haven.events"
                and any(alias.name == "catalog" for alias in node.names)
            ):
                offenders.append(f"{path.relative_to(SRC)} imports the catalog")
            if isinstance(node, ast.Name) and node.id == "DomainEvent":
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} makes a DomainEvent")
    assert offenders == [], "build events in <module>/events.py; services only record them"


def test_every_type_in_the_catalog_is_documented() -> None:
    """Named in both documents; tests/api/test_event_docs.py checks that each type's
    documented data is what a real event of it carries."""
    types = [
        value
        for name, value in vars(catalog).items()
        if name.isupper() and isinstance(value, str) and value != catalog.PREFIX
    ]
    events_md = (DOCS / "events.md").read_text()
    asyncapi = (DOCS / "asyncapi.yaml").read_text()
    missing = [
        t
        for t in types
        if f"`{t}`" not in events_md or not re.search(rf"name: {re.escape(t)}\b", asyncapi)
    ]
    assert missing == []


def test_changes_name_every_field_that_moved_and_nothing_else() -> None:
    before = {"title": "a", "tags": ["x"], "due": None, "version": 3, "updated_at": 1}
    after = {"title": "a", "tags": ["y"], "due": "2026-12-01", "version": 4, "updated_at": 2}

    assert changes_between(before, after) == {"tags": [["x"], ["y"]], "due": [None, "2026-12-01"]}
    assert changes_between(after, after) == {}


def _json(data: object) -> str:
    return orjson.loads(dump_json(data)).__repr__()


def test_account_events_never_carry_a_secret() -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    user = User(
        id=uuid.uuid4(),
        email="ada@example.com",
        name="Ada",
        password_hash="argon2-HASH",
        timezone="UTC",
        is_active=True,
        digest_enabled=True,
        digest_time="07:00",
        created_at=now,
        version=1,
    )
    key = ApiKey(
        id=uuid.uuid4(),
        user_id=user.id,
        name="script",
        prefix="hvn_abc",
        secret_hash="SECRET-HASH",
        scopes=["tasks:read"],
        created_at=now,
    )
    device = Device(
        id=uuid.uuid4(),
        user_id=user.id,
        name="phone",
        platform="ios",
        push_token="PUSH-TOKEN",
        push_token_hash="PUSH-HASH",
        created_at=now,
    )
    events = [
        account_events.user_registered(user),
        account_events.api_key_created(key, actor="users/x"),
        account_events.device_registered(device, actor="users/x"),
    ]
    written = " ".join(_json(event.data) for event in events)
    for secret in ("argon2-HASH", "SECRET-HASH", "PUSH-TOKEN", "PUSH-HASH"):
        assert secret not in written
