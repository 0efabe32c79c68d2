"""Render every error as RFC 9457 application/problem+json."""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from haven.core.errors import HavenError

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
        orjson.dumps(body, default=str),
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
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    extra = {"errors": [{"loc": ["body"], "msg": detail}]} if exc.status_code == 422 else None
    return problem_response(exc.status_code, detail, extra=extra, headers=dict(exc.headers or {}))


async def _integrity_error(request: Request, exc: Exception) -> Response:
    # A unique or foreign-key rule caught a race the service's own checks could not see.
    log.warning("integrity_error", path=request.url.path, error=str(exc).splitlines()[0])
    return problem_response(
        409, "the change conflicts with data saved at the same moment; reload and retry"
    )


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
    app.add_exception_handler(Exception, _unexpected_error)
