"""full-text search over task titles and descriptions

SQLite: an FTS5 external-content table kept in step by triggers. (A later migration that
rebuilds the tasks table in batch mode must recreate these triggers.)
PostgreSQL: a GIN index over the same tsvector expression the repository queries with.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must equal haven.tasks.repository.SEARCH_VECTOR_SQL.
PG_VECTOR = "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(description, ''))"

SQLITE_UP = [
    """CREATE VIRTUAL TABLE tasks_fts USING fts5(
        title, description, content='tasks', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER tasks_fts_after_insert AFTER INSERT ON tasks BEGIN
        INSERT INTO tasks_fts(rowid, title, description)
        VALUES (new.rowid, new.title, new.description);
    END""",
    """CREATE TRIGGER tasks_fts_after_delete AFTER DELETE ON tasks BEGIN
        INSERT INTO tasks_fts(tasks_fts, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
    END""",
    """CREATE TRIGGER tasks_fts_after_update AFTER UPDATE OF title, description ON tasks BEGIN
        INSERT INTO tasks_fts(tasks_fts, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
        INSERT INTO tasks_fts(rowid, title, description)
        VALUES (new.rowid, new.title, new.description);
    END""",
    "INSERT INTO tasks_fts(tasks_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    else:
        op.execute(f"CREATE INDEX ix_tasks_search ON tasks USING gin ({PG_VECTOR})")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for trigger in ("after_insert", "after_delete", "after_update"):
            op.execute(f"DROP TRIGGER IF EXISTS tasks_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS tasks_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_tasks_search")
