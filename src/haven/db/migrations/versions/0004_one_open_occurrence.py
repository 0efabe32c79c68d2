"""at most one open occurrence per recurring series

A partial unique index on tasks.series_id over the open, live occurrences, so that no race
between two requests can leave a series with two open tasks (the service checks first and
answers 409; the index is the guarantee under concurrency).

Existing data may already break the rule (issue 10, defect 3): in such a series the occurrence
with the highest number stays in the series, and the other open ones become one-off tasks
(their series and recurrence are cleared). They stay open and visible; nothing is deleted.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must equal haven.tasks.models.OPEN_OCCURRENCE_SQL.
OPEN = (
    "series_id IS NOT NULL AND deleted_at IS NULL AND status IN ('todo', 'in_progress', 'blocked')"
)

DETACH_ALL_BUT_THE_LATEST = """
UPDATE tasks
SET series_id = NULL, series_start = NULL,
    recurrence_rule = NULL, recurrence_mode = NULL, recurrence_text = NULL
WHERE series_id IS NOT NULL AND deleted_at IS NULL
  AND status IN ('todo', 'in_progress', 'blocked')
  AND EXISTS (
    SELECT 1 FROM tasks AS later
    WHERE later.series_id = tasks.series_id
      AND later.deleted_at IS NULL
      AND later.status IN ('todo', 'in_progress', 'blocked')
      AND (later.occurrence_number > tasks.occurrence_number
           OR (later.occurrence_number = tasks.occurrence_number AND later.id > tasks.id))
)
"""


def upgrade() -> None:
    op.execute(DETACH_ALL_BUT_THE_LATEST)
    op.create_index(
        "uq_tasks_open_occurrence",
        "tasks",
        ["series_id"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("uq_tasks_open_occurrence", table_name="tasks")
