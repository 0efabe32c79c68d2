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
