"""Run Alembic migrations programmatically (``haven migrate``, ``haven serve``, tests)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from haven.db.base import UTCDateTime

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Objects that migrations create by hand and the models do not describe.
HAND_MADE_TABLES = {"tasks_fts"}


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if type_ == "table" and (name in HAND_MADE_TABLES or (name or "").startswith("tasks_fts_")):
        return False
    return not (type_ == "index" and (name or "").startswith("ix_tasks_search"))


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write our column types as the plain SQLAlchemy types they store as."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def alembic_config(url: str, *, secret_key: str | None = None) -> Config:
    """`secret_key`: the application key, for migrations that convert encrypted data
    (read by `migration_secret_key`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["secret_key"] = secret_key
    return config


def upgrade(url: str, revision: str = "head", *, secret_key: str | None = None) -> None:
    command.upgrade(alembic_config(url, secret_key=secret_key), revision)


def downgrade(url: str, revision: str, *, secret_key: str | None = None) -> None:
    command.downgrade(alembic_config(url, secret_key=secret_key), revision)


def migration_secret_key(given: str | None, *, why: str) -> str:
    """The application key a data migration encrypts or decrypts with: the one the caller
    passed, else HAVEN_SECRET_KEY or the data folder's key; never a new one, since data
    sealed under a key the servers do not have would be lost."""
    if given:
        return given
    from haven.settings import Settings  # only data migrations need the settings

    existing = Settings().existing_secret_key()
    if existing is None:
        raise RuntimeError(
            f"{why} needs the server's secret key: set HAVEN_SECRET_KEY (or HAVEN_DATA_DIR "
            "to the folder holding its secret_key) as for `haven serve`"
        )
    return existing


@cache
def head_revision() -> str | None:
    """The revision the code expects the database at (the newest migration)."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def applied_revision(connection: AsyncConnection) -> str | None:
    """The revision the database was migrated to; None for a database never migrated."""
    try:
        async with connection.begin_nested():
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:  # no alembic_version table: never migrated
        return None
    return result.scalar_one_or_none()
