"""the scheduler: reminders' queue, users' digest schedule, digest requests, periodic jobs

- `reminders.outcome` says what became of a reminder the scheduler took (fired, late,
  superseded, cancelled); `ix_reminders_pending` (fire_at, over reminders not yet taken)
  replaces the full index on fire_at: the scheduler reads the head of that queue.
- `users.digest` (JSON {"enabled", "hour"}) becomes `digest_enabled` and `digest_time`
  ("HH:MM"), each user's choice kept; `digest_next_at` is the scheduler's next instant for
  that user (null until the scheduler first computes it, and while the digest is off).
- `digest_requests`: one row per (user, local day) a digest was asked for.
- `periodic_jobs`: each cron job's next run.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must equal haven.tasks.models.PENDING_REMINDERS_SQL and accounts.models.DIGEST_SCHEDULED_SQL.
PENDING_REMINDERS = "fired_at IS NULL AND fire_at IS NOT NULL"
DIGEST_SCHEDULED = "digest_next_at IS NOT NULL"
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _digest_time(settings: Any) -> str:
    hour = settings.get("hour") if isinstance(settings, dict) else None
    return f"{hour:02d}:00" if isinstance(hour, int) and 0 <= hour <= 23 else "07:00"


def upgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch_op.drop_index("ix_reminders_fire_at")
        batch_op.create_index(
            "ix_reminders_pending",
            ["fire_at"],
            unique=False,
            sqlite_where=sa.text(PENDING_REMINDERS),
            postgresql_where=sa.text(PENDING_REMINDERS),
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("digest_enabled", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("digest_time", sa.String(length=5), nullable=False, server_default="07:00")
        )
        batch_op.add_column(sa.Column("digest_next_at", sa.DateTime(timezone=True), nullable=True))
    users = sa.table(
        "users",
        sa.column("id", sa.Uuid()),
        sa.column("digest", _JSON),
        sa.column("digest_enabled", sa.Boolean()),
        sa.column("digest_time", sa.String()),
    )
    connection = op.get_bind()
    # Each user's own choice carries over (the old default was off, at 08:00).
    for user_id, settings in connection.execute(sa.select(users.c.id, users.c.digest)).all():
        enabled = bool(settings.get("enabled", False)) if isinstance(settings, dict) else False
        connection.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(digest_enabled=enabled, digest_time=_digest_time(settings))
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("digest")
        batch_op.alter_column("digest_enabled", server_default=None)
        batch_op.alter_column("digest_time", server_default=None)
        batch_op.create_index(
            "ix_users_digest_next_at",
            ["digest_next_at"],
            unique=False,
            sqlite_where=sa.text(DIGEST_SCHEDULED),
            postgresql_where=sa.text(DIGEST_SCHEDULED),
        )

    op.create_table(
        "digest_requests",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_digest_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "local_date", name=op.f("pk_digest_requests")),
    )
    op.create_table(
        "periodic_jobs",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_periodic_jobs")),
    )
    with op.batch_alter_table("periodic_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_periodic_jobs_next_run_at"), ["next_run_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("periodic_jobs")
    op.drop_table("digest_requests")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_digest_next_at")
        batch_op.add_column(sa.Column("digest", _JSON, nullable=False, server_default="{}"))
    users = sa.table(
        "users",
        sa.column("id", sa.Uuid()),
        sa.column("digest", _JSON),
        sa.column("digest_enabled", sa.Boolean()),
        sa.column("digest_time", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(users.c.id, users.c.digest_enabled, users.c.digest_time)
    ).all()
    for user_id, enabled, time in rows:
        connection.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(digest={"enabled": enabled, "hour": int(time[:2])})
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("digest_next_at")
        batch_op.drop_column("digest_time")
        batch_op.drop_column("digest_enabled")
        batch_op.alter_column("digest", server_default=None)
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_pending")
        batch_op.create_index("ix_reminders_fire_at", ["fire_at"], unique=False)
        batch_op.drop_column("outcome")
