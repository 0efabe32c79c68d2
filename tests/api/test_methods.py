"""A method a path does not take is a 405 that says which methods it does take (1.12)."""

from __future__ import annotations

import re
import uuid

import httpx

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


async def test_every_path_answers_a_wrong_method_with_its_allowed_methods(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("http://test/openapi.json")).json()
    checked = 0
    for template, operations in schema["paths"].items():
        allowed = {method.upper() for method in operations}
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), template)
        for method in METHODS:
            if method in allowed:
                continue
            response = await client.request(method, f"http://test{path}")
            assert response.status_code == 405, (method, path, response.text)
            assert set(response.headers["Allow"].split(", ")) == allowed, (method, path)
            detail = response.json()["detail"]
            assert detail.endswith(", ".join(m for m in METHODS if m in allowed)), detail
            checked += 1
    assert checked > 50
