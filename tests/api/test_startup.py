"""What the server prepares at startup, so that no early request stalls the event loop."""

from __future__ import annotations

from typing import Any

import fastapi.routing
import httpx
import pytest

from haven.app import create_app
from haven.db.session import Database
from haven.settings import Settings


async def test_every_route_is_prepared_before_the_first_request(
    settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FastAPI's own (private) step that builds a route's dependency plan and validators, on
    # the first request that tries the route unless the app did it before: counted here.
    prepared: list[Any] = []
    build = fastapi.routing._populate_api_route_state

    def counting(*args: Any, **kwargs: Any) -> Any:
        prepared.append(args)
        return build(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "_populate_api_route_state", counting)
    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        at_startup = len(prepared)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for path in ("/tasks", "/projects", "/tags", "/workspaces", "/me", "/webhooks"):
                response = await client.get(f"/api/v1{path}")
                assert response.status_code == 401
    assert at_startup > 0
    assert len(prepared) == at_startup
