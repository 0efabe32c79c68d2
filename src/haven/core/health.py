"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import JSONResponse, Response

from haven.core.problems import problem_response
from haven.db.migrate import applied_revision, head_revision
from haven.db.session import get_database

router = APIRouter(tags=["health"])


@router.get("/health/live", summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", summary="The process can serve: the database answers and is migrated")
async def ready(request: Request) -> Response:
    database = get_database(request)
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            revision = await applied_revision(connection)
    except Exception as exc:  # any failure to reach the database means not ready
        return problem_response(503, f"database unavailable: {type(exc).__name__}")
    expected = head_revision()
    if revision != expected:
        # Every API call would fail on missing tables or columns: not ready until migrated.
        return problem_response(
            503,
            f"the database schema is at revision {revision or 'none'}, this code needs"
            f" {expected}: run `haven migrate`",
        )
    return JSONResponse({"status": "ok", "database": "ok", "schema": expected})
