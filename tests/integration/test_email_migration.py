"""Migration 0003 brings stored emails into the normal form sign-in looks them up by."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from haven.db.migrate import upgrade

USERS = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("name", sa.String()),
    sa.column("timezone", sa.String()),
    sa.column("is_active", sa.Boolean()),
    sa.column("is_superuser", sa.Boolean()),
    sa.column("digest", sa.JSON()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("version", sa.Integer()),
)


def _user(email: str) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "id": uuid.uuid4(),
        "email": email,
        "name": "",
        "timezone": "UTC",
        "is_active": True,
        "is_superuser": False,
        "digest": {},
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


def test_emails_are_normalised_unless_another_account_has_that_form(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    upgrade(f"sqlite+aiosqlite:///{path}", "0002")
    rows = {
        "plain": _user("alice@example.com"),
        "folded": _user("straße@example.de"),  # lower-cased, not case-folded
        "lookalike": _user("\uff41lice@example.com"),  # a fullwidth "a": alice's normal form
    }
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(USERS.insert(), list(rows.values()))

    upgrade(f"sqlite+aiosqlite:///{path}")

    with engine.connect() as connection:
        stored = dict(connection.execute(sa.select(USERS.c.id, USERS.c.email)).all())
        versions = dict(connection.execute(sa.select(USERS.c.id, USERS.c.version)).all())
    engine.dispose()
    assert stored[rows["plain"]["id"]] == "alice@example.com"
    assert stored[rows["folded"]["id"]] == "strasse@example.de"
    assert versions[rows["folded"]["id"]] == 2
    assert stored[rows["lookalike"]["id"]] == "\uff41lice@example.com"
    assert versions[rows["plain"]["id"]] == versions[rows["lookalike"]["id"]] == 1
