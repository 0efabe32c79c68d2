"""One error hierarchy, rendered by one handler as RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any


class HavenError(Exception):
    """A failure the client can act on. Services raise these, never HTTPException."""

    status: int = 400
    title: str = "Bad request"
    type_slug: str = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.body = body or {}
        self.headers = headers or {}


class NotFound(HavenError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Unauthorized(HavenError):
    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"

    def __init__(self, detail: str = "missing or invalid credentials") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(HavenError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class Conflict(HavenError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class PreconditionFailed(HavenError):
    """The resource changed since the client read it; the body carries the current state."""

    status = 412
    title = "Precondition failed"
    type_slug = "precondition-failed"


class ValidationFailed(HavenError):
    """The payload is well-formed but its content is not acceptable (e.g. a bad RRULE)."""

    status = 422
    title = "Unprocessable content"
    type_slug = "validation-error"

    def __init__(self, detail: str, *, loc: list[str | int] | None = None) -> None:
        errors = [{"loc": loc or ["body"], "msg": detail}]
        super().__init__(detail, body={"errors": errors})


class TooManyRequests(HavenError):
    status = 429
    title = "Too many requests"
    type_slug = "rate-limited"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class ServiceUnavailable(HavenError):
    status = 503
    title = "Service unavailable"
    type_slug = "unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
