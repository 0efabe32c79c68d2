"""Column values in the document: UUIDs as strings, instants as RFC 3339 UTC, checked on read."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, String, Table, TypeDecorator, Uuid

from haven.portability.errors import InvalidExport

T = TypeVar("T")

# Keeps IN (...) lists well under every driver's bound-parameter limit.
CHUNK: Final = 500


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def dump_value(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    return value


def load_value(column: Column[Any], value: object, where: str) -> object:
    """A document value as the Python value of its column, or InvalidExport."""
    if value is None:
        if not column.nullable:
            raise InvalidExport(f"{where}: must not be null")
        return None
    kind = column.type
    if isinstance(kind, TypeDecorator):  # e.g. UTCDateTime: validate as what it stores
        kind = kind.impl_instance
    if isinstance(kind, Uuid):
        if not isinstance(value, str):
            raise InvalidExport(f"{where}: expected a UUID string")
        try:
            return uuid.UUID(value)
        except ValueError as exc:
            raise InvalidExport(f"{where}: {value!r} is not a UUID") from exc
    if isinstance(kind, DateTime):
        return load_instant(value, where)
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise InvalidExport(f"{where}: expected true or false")
        return value
    if isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidExport(f"{where}: expected an integer")
        return value
    if isinstance(kind, String):
        if not isinstance(value, str):
            raise InvalidExport(f"{where}: expected a string")
        if kind.length is not None and len(value) > kind.length:
            raise InvalidExport(f"{where}: longer than {kind.length} characters")
        return value
    if isinstance(kind, JSON):
        if not isinstance(value, dict | list):
            raise InvalidExport(f"{where}: expected an object or a list")
        return value
    raise InvalidExport(f"{where}: this version cannot read a {kind!r} column")


def load_instant(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidExport(f"{where}: expected an RFC 3339 instant")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidExport(f"{where}: {value!r} is not an RFC 3339 instant") from exc
    if instant.tzinfo is None:
        raise InvalidExport(f"{where}: {value!r} has no UTC offset")
    return instant.astimezone(UTC)


def user_columns(table: Table) -> list[str]:
    """The columns of a table that name a user."""
    return [
        column.name
        for column in table.columns
        if any(fk.target_fullname == "users.id" for fk in column.foreign_keys)
    ]


def chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]
