"""Small HTTP helpers shared by routers: ETags, If-Match, JSON responses built once."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Annotated, Any, TypeVar, get_args, get_origin

import orjson
from fastapi import Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
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
    Header(
        alias="If-Match",
        pattern=r'^\s*(\*|(W/)?"?[0-9]{1,18}"?)\s*$',
        description='the ETag you read, e.g. "3"; a mismatch answers 412',
    ),
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


ModelT = TypeVar("ModelT", bound=BaseModel)


@lru_cache(maxsize=64)
def _list_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if get_origin(field.annotation) is list
        or any(get_origin(arg) is list for arg in get_args(field.annotation))
    )


def parse_query(model: type[ModelT], request: Request) -> ModelT:
    """Validate a request's query string against a model in one pass.

    FastAPI's own query-model support re-inspects every field's annotation per request; on
    the busiest list endpoint that costs more than the database. Repeated keys (or commas)
    fill list fields; for other fields the last value wins. Unknown keys are ignored.
    """
    params = request.query_params
    lists = _list_fields(model)
    data: dict[str, Any] = {}
    for name in model.model_fields:
        if name in params:
            if name in lists:  # ?status=todo&status=done or ?status=todo,done
                data[name] = [v for raw in params.getlist(name) for v in raw.split(",") if v]
            else:
                data[name] = params[name]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from exc


@lru_cache(maxsize=64)
def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI `parameters` of a query model read by parse_query."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in prop.items() if k != "description"},
        }
        if "description" in prop:
            parameter["description"] = prop["description"]
        if name in _list_fields(model):
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


def ok_responses(model: type[Any], description: str = "OK") -> dict[int | str, dict[str, Any]]:
    """The OpenAPI 200 of a route that answers with json_response (not a response_model)."""
    return {200: {"model": model, "description": description}}


def created_responses(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI 201 of a route that answers with json_response."""
    return {201: {"model": model, "description": "Created"}}
