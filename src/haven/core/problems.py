"""Render every error as RFC 9457 application/problem+json."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from haven.core.errors import HavenError
from haven.core.http import dump_json

PROBLEM_TYPE_BASE = "https://haven.dev/problems/"
log = structlog.get_logger("haven.errors")

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class ProblemError(BaseModel):
    loc: list[str | int] = Field(description="where: 'body'/'query'/'path'/'header', then names")
    msg: str = Field(description="what is wrong there")


class Problem(BaseModel):
    """An RFC 9457 problem document, the body of every error answer."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI naming the kind of problem")
    title: str = Field(description="a short summary of the kind of problem")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what went wrong, for a person")
    errors: list[ProblemError] | None = Field(None, description="validation failures (422)")


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing, invalid or expired credentials",
    403: "Authenticated, but the role or API-key scope does not allow this",
    404: "No such resource, or it belongs to a workspace you are not in",
    409: "Conflicts with the resource's current state",
    412: "If-Match no longer matches; the body's `current` holds the resource",
    413: "Body larger than the configured limit",
    415: "Body is not JSON",
    422: "The request's content is not valid",
    429: "Rate limited; retry after Retry-After seconds",
    503: "Temporarily unavailable; retry after Retry-After seconds",
}

API_PROBLEMS = (400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting problem+json answers for these status codes."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS.get(status, _TITLES.get(status, "Error")),
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (slug or str(status)),
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if extra:
        body.update(extra)
    return Response(
        dump_json(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [part for part in err.get("loc", ()) if isinstance(part, str | int)]
        errors.append({"loc": loc, "msg": str(err.get("msg", "invalid value"))})
    return errors


async def _haven_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HavenError)
    return problem_response(
        exc.status,
        exc.detail,
        slug=exc.type_slug,
        title=exc.title,
        extra=exc.body,
        headers=exc.headers,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    detail = f"{where}: {first['msg']}" if where else str(first["msg"])
    return problem_response(422, detail, slug="validation-error", extra={"errors": errors})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route for {request.method} {request.url.path}"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not allowed on {request.url.path}"
        if allowed:
            detail += f"; allowed: {', '.join(allowed)}"
    extra = {"errors": [{"loc": ["body"], "msg": detail}]} if exc.status_code == 422 else None
    return problem_response(exc.status_code, detail, extra=extra, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts on this path.

    Asked by trying each method against the router, because routes included from other
    routers do not list their methods (FastAPI resolves them lazily).
    """
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


async def _integrity_error(request: Request, exc: Exception) -> Response:
    # A unique or foreign-key rule caught a race the service's own checks could not see.
    log.warning("integrity_error", path=request.url.path, error=str(exc).splitlines()[0])
    return problem_response(
        409, "the change conflicts with data saved at the same moment; reload and retry"
    )


# PostgreSQL's "deadlock detected" and "could not serialize access": the database undid
# one of two transactions that met; the same request, sent again, goes through.
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


# SQLSTATE classes of a database that cannot serve now, whatever the request: connection
# exceptions (08), insufficient resources such as "too many clients" (53), and shutdowns
# or a server still starting (57P).
_UNREACHABLE_SQLSTATE_PREFIXES = ("08", "53", "57P")


def database_unreachable(exc: DBAPIError) -> bool:
    """True when the error says the database cannot be reached or take more work now,
    as opposed to a fault in what was asked of it."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_UNREACHABLE_SQLSTATE_PREFIXES):
        return True
    if exc.connection_invalidated:
        return True
    cause: BaseException | None = exc.orig
    for _ in range(5):  # the driver's error, and what it was raised from
        if cause is None:
            break
        if isinstance(cause, OSError | asyncio.TimeoutError):
            return True
        cause = cause.__cause__
    return False


def _unavailable(detail: str, *, retry_after: int) -> Response:
    return problem_response(
        503, detail, slug="unavailable", headers={"Retry-After": str(retry_after)}
    )


async def _database_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        log.warning("transaction_retryable", path=request.url.path, error=str(exc.orig))
        return _unavailable(
            "the change met another at the same moment and was undone; retry", retry_after=1
        )
    if database_unreachable(exc):
        log.error("database_unavailable", path=request.url.path, error=str(exc.orig))
        return _unavailable("the database is unavailable right now; retry shortly", retry_after=2)
    return await _unexpected_error(request, exc)


# Where a connection to the database is made: an OSError raised through these modules is
# the database refusing or dropping connections, not a fault of the request.
_DATABASE_CONNECT_MODULES = ("asyncpg", "aiosqlite", "sqlalchemy.pool", "sqlalchemy.engine")


def _raised_while_connecting(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame is not None:
        module = frame.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith(_DATABASE_CONNECT_MODULES):
            return True
        frame = frame.tb_next
    return False


async def _os_error(request: Request, exc: Exception) -> Response:
    # The driver raises a refused or reset connection as a plain OSError (PostgreSQL down
    # or restarting): SQLAlchemy does not wrap errors raised before a connection exists.
    if _raised_while_connecting(exc):
        log.error("database_unavailable", path=request.url.path, error=repr(exc))
        return _unavailable("the database is unavailable right now; retry shortly", retry_after=2)
    return await _unexpected_error(request, exc)


async def _pool_timeout(request: Request, exc: Exception) -> Response:
    # Every pooled connection stayed busy for the pool's whole timeout: overload, not a bug.
    log.error("database_pool_exhausted", path=request.url.path)
    return _unavailable("the server is too busy right now; retry shortly", retry_after=2)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    request_id = getattr(request.state, "request_id", None)
    log.error("unhandled_error", path=request.url.path, request_id=request_id, exc_info=exc)
    return problem_response(
        500,
        "an unexpected error occurred; quote the request id to support",
        extra={"request_id": request_id},
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HavenError, _haven_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(Exception, _unexpected_error)
