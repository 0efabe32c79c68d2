"""event pipeline: processed events, dead letters, consumer offsets, the relay's wake-up

- `ix_events_unpublished`: a partial index over the events still waiting for a position
  (what the relay reads; near empty while the relay keeps up).
- `processed_events`: (consumer, event id) pairs, written with each consumer's effect.
- `dead_letters`: events a consumer gave up on, with the error and the attempts.
- `consumer_offsets`: the `memory://` bus's consumer-group offsets.
- PostgreSQL only: a statement-level trigger on events that NOTIFYs `haven_events`, so the
  relay wakes as soon as a transaction that wrote events commits. PostgreSQL delivers a
  notification only at commit and folds identical ones of a transaction into one, so a
  request pays no extra round trip and a bulk insert one notification.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must equal haven.events.models.UNPUBLISHED_SQL.
UNPUBLISHED = "position IS NULL"

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION haven_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('haven_events', '');
    RETURN NULL;
END
$$
"""

NOTIFY_TRIGGER = """
CREATE TRIGGER events_notify AFTER INSERT ON events
FOR EACH STATEMENT EXECUTE FUNCTION haven_events_notify()
"""

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_index(
        "ix_events_unpublished",
        "events",
        ["id"],
        unique=False,
        sqlite_where=sa.text(UNPUBLISHED),
        postgresql_where=sa.text(UNPUBLISHED),
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_events")),
    )
    op.create_table(
        "dead_letters",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("envelope", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_dead_letters")),
    )
    op.create_table(
        "consumer_offsets",
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group_name", name=op.f("pk_consumer_offsets")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_notify ON events")
        op.execute("DROP FUNCTION IF EXISTS haven_events_notify()")
    op.drop_table("consumer_offsets")
    op.drop_table("dead_letters")
    op.drop_table("processed_events")
    op.drop_index("ix_events_unpublished", table_name="events")
