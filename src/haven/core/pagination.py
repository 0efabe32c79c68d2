"""Opaque keyset cursors and the list envelope ``{"items": [...], "next_cursor": ...}``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
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
        raise _bad_cursor() from exc
    if (
        not isinstance(payload, dict)
        or payload.get("k") != kind
        or not isinstance(payload.get("v"), list)
        or len(payload["v"]) != arity
    ):
        raise _bad_cursor()
    values: list[Any] = payload["v"]
    return values


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "cursor is not valid for this list (pass next_cursor unchanged, with the same sort)",
        loc=["query", "cursor"],
    )


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
