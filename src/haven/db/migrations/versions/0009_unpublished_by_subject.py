"""the relay's earlier-versions read: unpublished events by subject and version

`ix_events_unpublished_subject`: a partial index on (subject, entity_version) over the
events still waiting for a position. The relay pulls into each full batch the unpublished
earlier versions of the batch's subjects whose ids sort after it (events/relay.py); without
it, that read scanned every unpublished event beyond the batch, so a backlog of n events
cost O(n²) to publish. Like ix_events_unpublished, it is small while the relay keeps up.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must equal haven.events.models.UNPUBLISHED_SQL.
UNPUBLISHED = "position IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_events_unpublished_subject",
        "events",
        ["subject", "entity_version"],
        unique=False,
        sqlite_where=sa.text(UNPUBLISHED),
        postgresql_where=sa.text(UNPUBLISHED),
    )


def downgrade() -> None:
    op.drop_index("ix_events_unpublished_subject", table_name="events")
