"""stored emails in the one normal form sign-in looks them up by

Emails used to be stored stripped and lower-cased; sign-in now looks them up in NFKC,
case-folded (haven.core.emails). The two differ only for some non-ASCII addresses, which
would otherwise no longer find their account. A row whose normal form another account
already holds (a lookalike: "alice@…" spelled in fullwidth letters next to "alice@…") is
left as it is and reported: it cannot sign in by password until an operator decides which is whose.

Revision ID: 0003
Revises: 0002
"""

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from haven.core.emails import normalize_email

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

users = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("version", sa.Integer()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(users.c.id, users.c.email)).all()
    taken = {email for _, email in rows}
    now = datetime.now(UTC)
    for user_id, email in rows:
        normal = normalize_email(email)
        if normal == email:
            continue
        if normal in taken:
            log.warning(
                "user %s keeps the email %r: %r belongs to another account", user_id, email, normal
            )
            continue
        bind.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(email=normal, version=users.c.version + 1, updated_at=now)
        )
        taken.discard(email)
        taken.add(normal)


def downgrade() -> None:
    """Nothing to undo: the original spellings are not kept, and the normal form is valid."""
