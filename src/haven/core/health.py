"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import JSONResponse, Response

from haven.core.problems import problem_response
from haven.db.session import get_database

router = APIRouter(tags=["health"])


@router.get("/health/live", summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", summary="The process can serve: the database answers")
async def ready(request: Request) -> Response:
    database = get_database(request)
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means not ready
        return problem_response(503, f"database unavailable: {type(exc).__name__}")
    return JSONResponse({"status": "ok", "database": "ok"})
