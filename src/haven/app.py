"""create_app(): the ASGI application with every router, middleware and error handler."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from haven.core.api_docs import install_api_docs
from haven.core.health import router as health_router
from haven.core.logging import configure_logging
from haven.core.middleware import BodyGuardMiddleware, RequestContextMiddleware
from haven.core.openapi import install_openapi_schema
from haven.core.problems import API_PROBLEMS, install_problem_handlers, problem_responses
from haven.core.security import use_password_cost
from haven.db.engine import create_engine, create_sessionmaker
from haven.db.session import Database
from haven.settings import Settings, get_settings
from haven.web.ui import install_web_ui

API_PREFIX = "/api/v1"
# Measured with 64 requests in flight: 700 gave a young collection every ~4 requests (0.15 ms of
# CPU per request); 10,000 one every ~500 requests, each a pause of about 2 ms.
GC_YOUNG_THRESHOLD = 10_000


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    use_password_cost(settings.password_hash_cost)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = database is None
        app.state.database = database or _open_database(settings)
        # Everything alive now lives as long as the process: keep it out of the collector's
        # full passes, which otherwise walk it again and again under load.
        _prepare_routes(app)
        gc.collect()
        gc.freeze()
        # A request allocates a few hundred objects that its end frees again; with dozens in
        # flight, the default threshold set off young collections that walked every in-flight
        # request's objects, about a tenth of the process's CPU under load. Collections
        # still come, just rarely (see GC_YOUNG_THRESHOLD).
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        worker = _start_worker(app, settings) if settings.serve_worker else None
        try:
            yield
        finally:
            if worker is not None:
                await _stop_worker(app)
            if owned:
                await app.state.database.dispose()

    app = FastAPI(
        title="Haven",
        version="0.1.0",
        summary="A self-hostable home for tasks, calendars and habits.",
        lifespan=lifespan,
        # /docs is served by install_api_docs with local assets, not FastAPI's CDN-loaded pages.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.secret_key = settings.resolved_secret_key()
    if database is not None:
        app.state.database = database

    install_problem_handlers(app)
    app.add_middleware(BodyGuardMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestContextMiddleware)

    app.include_router(health_router)
    install_api_docs(app)
    install_openapi_schema(app)
    _include_domain_routers(app)
    # Whatever no route takes: the web UI at /, its files and its pages (haven/web/ui.py).
    install_web_ui(app, dist=settings.web_dist)
    return app


def _include_domain_routers(app: FastAPI) -> None:
    from haven.accounts.router import router as accounts_router
    from haven.notifications.router import router as notifications_router
    from haven.projects.router import router as projects_router
    from haven.savedsearches.router import router as saved_searches_router
    from haven.tags.router import router as tags_router
    from haven.tasks.router import router as tasks_router
    from haven.webhooks.router import router as webhooks_router
    from haven.workspaces.router import router as workspaces_router

    problems = problem_responses(*API_PROBLEMS)
    # A request is matched against the routes in this order, each costing a few microseconds
    # (FastAPI tries every route of a router before the next): the busiest paths come first.
    routers = (
        tasks_router,
        projects_router,
        tags_router,
        workspaces_router,
        accounts_router,
        webhooks_router,
        notifications_router,
        saved_searches_router,
    )
    for router in routers:
        app.include_router(router, prefix=API_PREFIX, responses=problems)


def _prepare_routes(app: FastAPI) -> None:
    """Have FastAPI prepare every route now, not on the first request that reaches it.

    FastAPI builds a router's routes (their dependency plans and validators) when a request
    first tries them: about half a second of CPU per router, in which the event loop serves
    no one. Trying every route once with a path none takes builds them all.
    """
    scope: dict[str, object] = {
        "type": "http",
        "method": "GET",
        "path": "/\x00",  # matched by no route, so every one of them is tried
        "root_path": "",
        "headers": [],
        "query_string": b"",
        "app": app,
    }
    for route in app.router.routes:
        route.matches(dict(scope))


def _start_worker(app: FastAPI, settings: Settings) -> asyncio.Task[None]:
    """The relay and the consumers (haven worker's loops) in this process."""
    from haven.events.worker import Worker

    app.state.worker = Worker(app.state.database, settings)
    task = app.state.worker_task = asyncio.create_task(app.state.worker.run(), name="worker")
    return task


async def _stop_worker(app: FastAPI) -> None:
    """Drain: the relay commits its batch, consumers finish their handlers and acknowledge."""
    app.state.worker.stop.set()
    await app.state.worker_task


def _open_database(settings: Settings) -> Database:
    engine = create_engine(settings)
    return Database(engine=engine, sessions=create_sessionmaker(engine))
