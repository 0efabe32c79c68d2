"""saved searches; a project's place in its workspace's list

`saved_searches`: a person's named task searches (haven.savedsearches), private to them.
`projects.position`: the order people give their projects (haven.projects.ordering); the
projects already there keep the order they were listed in (by creation), a gap apart.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must equal haven.projects.ordering.GAP.
GAP = 65536


def upgrade() -> None:
    op.create_table(
        "saved_searches",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "query",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_saved_searches_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_saved_searches_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
    )
    op.create_index(
        "ix_saved_searches_user_workspace",
        "saved_searches",
        ["user_id", "workspace_id", "created_at", "id"],
        unique=False,
    )

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.BigInteger(), nullable=True))
    op.execute(
        sa.text(
            "UPDATE projects SET position = (SELECT ranked.n * :gap FROM ("
            " SELECT id, ROW_NUMBER() OVER (PARTITION BY workspace_id ORDER BY created_at, id) AS n"
            " FROM projects) AS ranked WHERE ranked.id = projects.id)"
        ).bindparams(gap=GAP)
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.alter_column("position", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index(
            "ix_projects_workspace_id_position", ["workspace_id", "position"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index("ix_projects_workspace_id_position")
        batch_op.drop_column("position")
    op.drop_index("ix_saved_searches_user_workspace", table_name="saved_searches")
    op.drop_table("saved_searches")
