"""webhook signing secrets sealed at rest

`webhook_endpoints.secret` and `.previous_secret` held the plain `whsec_` secrets. They are
now sealed (haven.webhooks.signing.SigningSecrets: AES-256-GCM under a key derived with HKDF
from HAVEN_SECRET_KEY, bound to the endpoint's id). The upgrade seals every stored secret,
the downgrade opens them again; both need the servers' secret key when there are webhooks
(haven.db.migrate.migration_secret_key). The columns keep their type: a sealed secret is 83
characters.

Revision ID: 0008
Revises: 0007
"""

import uuid
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import context, op

from haven.db.migrate import migration_secret_key
from haven.webhooks.signing import SigningSecrets, signing_secrets

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

endpoints = sa.table(
    "webhook_endpoints",
    sa.column("id", sa.Uuid()),
    sa.column("secret", sa.String()),
    sa.column("previous_secret", sa.String()),
)


def _convert_all(why: str, convert: Callable[[SigningSecrets, str, uuid.UUID], str]) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(endpoints.c.id, endpoints.c.secret, endpoints.c.previous_secret)
    ).all()
    if not rows:
        return  # no key needed: a new database, or one without webhooks
    given = context.config.attributes.get("secret_key")
    keys = signing_secrets(migration_secret_key(given, why=why))
    for endpoint_id, secret, previous in rows:
        bind.execute(
            endpoints.update()
            .where(endpoints.c.id == endpoint_id)
            .values(
                secret=convert(keys, secret, endpoint_id),
                previous_secret=None if previous is None else convert(keys, previous, endpoint_id),
            )
        )


def _seal(keys: SigningSecrets, secret: str, endpoint_id: uuid.UUID) -> str:
    return keys.seal(secret, endpoint_id=endpoint_id)


def _open(keys: SigningSecrets, sealed: str, endpoint_id: uuid.UUID) -> str:
    return keys.open(sealed, endpoint_id=endpoint_id)


def upgrade() -> None:
    _convert_all("sealing the webhook signing secrets", _seal)


def downgrade() -> None:
    _convert_all("opening the webhook signing secrets", _open)
