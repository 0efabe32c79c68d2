"""indexes that let a page of tasks read about a page of rows, whatever the workspace holds

One index per sort field of the task list, (workspace_id, sort expression, id), partial on
live tasks: within a workspace a page comes in index order and the scan stops at the page's
end (the id breaks ties in the sort's direction, so one index serves both directions).
Dates sort empty-last either way, as a coalesce with a constant: one index per direction.
Three more serve filters that may match few tasks of a big workspace, in the default order:
status, project and assignee.

The expressions must equal haven.tasks.models (date_sort_expression, the title's lower())
and the list query of haven.tasks.repository, constant for constant: PostgreSQL and SQLite
use an expression index only for the same expression.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must equal haven.tasks.models.LIVE_SQL.
LIVE = "deleted_at IS NULL"
# Where empty dates sort (haven.tasks.models.FAR_FUTURE, FAR_PAST), as each database stores
# an instant: PostgreSQL a timestamptz constant, SQLite SQLAlchemy's text form.
LAST = {
    "postgresql": "'9999-12-31 00:00:00+00'::timestamptz",
    "sqlite": "'9999-12-31 00:00:00.000000'",
}
FIRST = {
    "postgresql": "'0001-01-02 00:00:00+00'::timestamptz",
    "sqlite": "'0001-01-02 00:00:00.000000'",
}


def _indexes(dialect: str) -> dict[str, list[str | sa.TextClause]]:
    last, first = LAST[dialect], FIRST[dialect]
    return {
        "ix_tasks_live_created_at": ["workspace_id", "created_at", "id"],
        "ix_tasks_live_updated_at": ["workspace_id", "updated_at", "id"],
        "ix_tasks_live_priority": ["workspace_id", "priority", "id"],
        "ix_tasks_live_progress": ["workspace_id", "progress", "id"],
        "ix_tasks_live_title": ["workspace_id", sa.text("lower(title)"), "id"],
        "ix_tasks_live_due": ["workspace_id", sa.text(f"coalesce(due_at, {last})"), "id"],
        "ix_tasks_live_due_desc": ["workspace_id", sa.text(f"coalesce(due_at, {first})"), "id"],
        "ix_tasks_live_start": ["workspace_id", sa.text(f"coalesce(start_at, {last})"), "id"],
        "ix_tasks_live_start_desc": [
            "workspace_id",
            sa.text(f"coalesce(start_at, {first})"),
            "id",
        ],
        "ix_tasks_live_status": ["workspace_id", "status", "created_at", "id"],
        "ix_tasks_live_project": ["workspace_id", "project_id", "created_at", "id"],
        "ix_tasks_live_assignee": ["workspace_id", "assignee_id", "created_at", "id"],
    }


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    for name, columns in _indexes(dialect).items():
        op.create_index(
            name,
            "tasks",
            columns,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )


def downgrade() -> None:
    for name in reversed(list(_indexes(op.get_context().dialect.name))):
        op.drop_index(name, table_name="tasks")
