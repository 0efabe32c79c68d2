"""The OpenAPI schema documents every accounts and workspaces endpoint, and every field."""

from __future__ import annotations

import inspect
from typing import Any

import httpx
from pydantic import BaseModel

from haven.accounts import schemas as accounts_schemas
from haven.workspaces import schemas as workspaces_schemas

ACCOUNT_PATHS = ("/auth/", "/me", "/api-keys", "/workspaces", "/devices")


async def test_every_field_of_the_accounts_shapes_is_described(client: httpx.AsyncClient) -> None:
    spec: dict[str, Any] = (await client.get("http://test/openapi.json")).json()
    components = spec["components"]["schemas"]
    models = [
        model
        for module in (accounts_schemas, workspaces_schemas)
        for _, model in inspect.getmembers(module, inspect.isclass)
        if issubclass(model, BaseModel) and model.__module__ == module.__name__
    ]

    undocumented = [
        f"{model.__name__}.{name}"
        for model in models
        if model.__name__ in components
        for name, field in components[model.__name__].get("properties", {}).items()
        if not field.get("description")
    ]

    assert {"RegisterRequest", "WorkspaceRead", "MemberRead"} <= set(components)
    assert undocumented == []


async def test_every_accounts_endpoint_has_a_summary(client: httpx.AsyncClient) -> None:
    spec: dict[str, Any] = (await client.get("http://test/openapi.json")).json()

    operations = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        if path.removeprefix("/api/v1").startswith(ACCOUNT_PATHS)
        for method, operation in item.items()
    ]

    assert len(operations) == 21
    assert [(p, m) for p, m, op in operations if not op.get("summary")] == []
