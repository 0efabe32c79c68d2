"""web push: the VAPID key pair, and the keys of a device's Web Push subscription

`push_keys` holds the one key pair Haven signs Web Push requests with (row `vapid`, made on
first use; the private key sealed under HAVEN_SECRET_KEY). A device registered with a Web
Push subscription keeps its endpoint in `push_token` and the browser's keys in
`web_push_p256dh` and `web_push_auth`.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "push_keys",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.String(length=100), nullable=False),
        sa.Column("private_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_push_keys")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("web_push_p256dh", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("web_push_auth", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("web_push_auth")
        batch_op.drop_column("web_push_p256dh")
    op.drop_table("push_keys")
