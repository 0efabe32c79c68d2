"""Opaque keyset cursors and the list envelope ``{"items": [...], "next_cursor": ...}``."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, SQLColumnExpression, and_, or_

from haven.core.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size (1-200)")]
Cursor = Annotated[
    str | None, Query(max_length=2048, description="next_cursor of the previous page")
]


class Page(BaseModel, Generic[T]):
    items: list[T] = Field(description="this page, in the list's order")
    next_cursor: str | None = Field(
        None, description="pass as ?cursor= for the next page; null on the last page"
    )


def encode_cursor(kind: str, values: list[Any]) -> str:
    raw = orjson.dumps({"k": kind, "v": values}, default=str)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, *, arity: int) -> list[Any]:
    """The values of a cursor made by encode_cursor for this kind of list, else a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise bad_cursor() from exc
    if (
        not isinstance(payload, dict)
        or payload.get("k") != kind
        or not isinstance(payload.get("v"), list)
        or len(payload["v"]) != arity
    ):
        raise bad_cursor()
    values: list[Any] = payload["v"]
    return values


def bad_cursor() -> ValidationFailed:
    """The 422 for a cursor this list did not make (or whose values do not parse)."""
    return ValidationFailed(
        "cursor is not valid for this list (pass next_cursor unchanged, with the same sort)",
        loc=["query", "cursor"],
    )


def cursor_uuid(value: object) -> uuid.UUID:
    """An id read back from a cursor, else the cursor's 422."""
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise bad_cursor() from exc


def cursor_instant(value: object) -> datetime:
    """An instant (with its offset) read back from a cursor, else the cursor's 422."""
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise bad_cursor() from exc
    if instant.tzinfo is None:
        raise bad_cursor()
    return instant


def after_id(kind: str, cursor: str | None) -> uuid.UUID | None:
    """The id a list ordered by id resumes after; None for the first page."""
    if cursor is None:
        return None
    (value,) = decode_cursor(kind, cursor, arity=1)
    return cursor_uuid(value)


def after_instant_and_id(kind: str, cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """Where a list ordered by (an instant, id) resumes; None for the first page."""
    if cursor is None:
        return None
    instant, value = decode_cursor(kind, cursor, arity=2)
    return cursor_instant(instant), cursor_uuid(value)


def after_text_and_id(kind: str, cursor: str | None) -> tuple[str, uuid.UUID] | None:
    """Where a list ordered by (a text, id) resumes; None for the first page."""
    if cursor is None:
        return None
    text, value = decode_cursor(kind, cursor, arity=2)
    if not isinstance(text, str):
        raise bad_cursor()
    return text, cursor_uuid(value)


def fetch_limit(limit: int) -> int:
    """How many rows to fetch for a page of `limit`: the one extra says a next page exists."""
    return limit + 1


def cut_page(
    rows: Sequence[T], *, limit: int, kind: str, key: Callable[[T], list[Any]]
) -> tuple[Sequence[T], str | None]:
    """The first `limit` of rows fetched with fetch_limit(limit), and the cursor to the rest.

    `key` gives the values a row sorts by (ending with its id); the next page starts
    strictly after the last row of this one.
    """
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(kind, key(rows[-1]))


def page_body(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    """The list envelope every list endpoint answers."""
    return {"items": items, "next_cursor": next_cursor}


def keyset_after(
    keys: Sequence[tuple[SQLColumnExpression[Any], bool]], values: Sequence[Any]
) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order given by `keys` (expression, descending?).

    Built as (k1 > v1) OR (k1 = v1 AND k2 > v2) OR …, which respects mixed directions.
    """
    clauses = []
    for index, (expression, descending) in enumerate(keys):
        equal_prefix = [keys[i][0] == values[i] for i in range(index)]
        step = expression < values[index] if descending else expression > values[index]
        clauses.append(and_(*equal_prefix, step))
    return or_(*clauses)
