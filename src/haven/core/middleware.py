"""Pure-ASGI middleware: request ids and access logs, body-size limit, JSON-only bodies."""

from __future__ import annotations

import re
import time

import structlog
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from haven.core.ids import new_id
from haven.core.problems import problem_response

access_log = structlog.get_logger("haven.access")
error_log = structlog.get_logger("haven.errors")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class RequestContextMiddleware:
    """Gives every request an id (the client's X-Request-ID if sane), echoes it, logs access."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Bound once, after the app configured logging: binding is most of what a log call
        # costs, even one the level filters out (the access log below WARNING, for one).
        self.access_log = access_log.bind()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else new_id().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        status_sent = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status, status_sent = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        # Bound for the request's log lines, and put back as it was after (a token reset
        # costs less than bound_contextvars, which reads the whole context first).
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                # Log the traceback with the request id; the client sees neither the trace
                # nor the message, only the id to quote.
                error_log.error("unhandled_error", path=scope["path"], exc_info=exc)
                if status_sent:
                    raise
                response = problem_response(
                    500,
                    "an unexpected error occurred; quote the request id to support",
                    extra={"request_id": request_id},
                )
                await response(scope, receive, send_with_id)
            finally:
                self.access_log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 2),
                )
        finally:
            structlog.contextvars.reset_contextvars(**bound)


class BodyGuardMiddleware:
    """413 for bodies over the limit (declared or streamed), 415 for non-JSON API bodies."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, json_prefix: str = "/api/") -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.json_prefix = json_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope["path"]:
            response = problem_response(422, "the URL must not contain NUL characters")
            await response(scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await problem_response(400, "Content-Length is not a number")(scope, receive, send)
                return
            if int(declared) > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
        if scope["path"].startswith(self.json_prefix) and (declared or "0") != "0":
            content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
            if not (content_type == "application/json" or content_type.endswith("+json")):
                response = problem_response(
                    415, f"send JSON (Content-Type: application/json), not {content_type!r}"
                )
                await response(scope, receive, send)
                return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
                if b"\\u0000" in chunk:
                    # No text field takes a NUL, and PostgreSQL cannot store one.
                    raise NulCharacter
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, f"the request body is larger than {self.max_body_bytes} bytes"
        )
        await response(scope, receive, send)


class NulCharacter(HTTPException):
    def __init__(self) -> None:
        super().__init__(422, "text must not contain NUL characters (\\u0000)")


class BodyTooLarge(HTTPException):
    """Raised from receive(); an HTTPException so the body parser passes it on as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
