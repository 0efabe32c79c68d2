"""/docs needs nothing but this server (defect 1.15; the browser test is tests/e2e)."""

from __future__ import annotations

import re

import httpx

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


async def test_docs_page_loads_its_assets_from_this_server(client: httpx.AsyncClient) -> None:
    page = await client.get("http://test/docs")
    assert page.status_code == 200
    assets = ASSET.findall(page.text)
    assert assets, "the page names its script and style"
    assert all(asset.startswith("/") and not asset.startswith("//") for asset in assets), assets
    for asset in assets:
        response = await client.get(f"http://test{asset}")
        assert response.status_code == 200, asset
        assert response.content


async def test_no_parameter_is_described_as_nullable(client: httpx.AsyncClient) -> None:
    """A query, path or header parameter is present or absent; "null" is not a value of it.

    (Described as nullable, fuzzers and generated clients send the text "null", e.g. an
    `If-Match: null` header, which the API then rejects.)
    """
    document = (await client.get("http://test/openapi.json")).json()
    nullable = [
        f"{method.upper()} {path} {parameter['name']}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", ())
        if '"null"' in str(parameter["schema"]).replace("'", '"')
    ]
    assert nullable == []
    patch = document["paths"]["/api/v1/tasks/{task_id}"]["patch"]
    if_match = next(p for p in patch["parameters"] if p["name"].lower() == "if-match")
    assert if_match["required"] is False
    assert if_match["schema"]["type"] == "string"
    assert "pattern" in if_match["schema"]
