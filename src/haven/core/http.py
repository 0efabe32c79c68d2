"""Small HTTP helpers shared by routers: ETags, If-Match, JSON responses built once."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import Header
from starlette.responses import Response

from haven.core.errors import PreconditionFailed


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match header asks for; None when absent or `*`."""
    if value is None or value.strip() == "*":
        return None
    tag = value.split(",")[0].strip()
    tag = tag.removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise PreconditionFailed(f"If-Match {value!r} does not name a version of this resource")
    return int(tag)


IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='the ETag you read, e.g. "3"; a mismatch answers 412'),
]


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):  # e.g. asyncpg's own UUID type
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dump_json(content: Any) -> bytes:
    """JSON as every Haven answer writes it: UTC instants end in Z, ids are strings."""
    return orjson.dumps(content, default=_default, option=orjson.OPT_UTC_Z)


def json_response(content: Any, *, status_code: int = 200, version: int | None = None) -> Response:
    """Serialise once with orjson (no second validation pass), with an ETag if versioned."""
    headers = {"ETag": etag(version)} if version is not None else None
    return Response(
        dump_json(content),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )
