"""What the UI's browser tests share: accounts made through the API, signing in through the
page, and the API as a second witness of what the page did."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from playwright.async_api import Page, expect

from tests.e2e.server import HavenProcess

T = TypeVar("T")

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True, slots=True)
class UiAccount:
    email: str
    name: str
    token: str  # a bearer token for checking through the API what the page did

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


async def register(server: HavenProcess, *, name: str = "Ada Lovelace") -> UiAccount:
    email = unique_email()
    async with httpx.AsyncClient(base_url=server.api) as client:
        response = await client.post(
            "/auth/register",
            json={"email": email, "password": PASSWORD, "name": name, "timezone": "UTC"},
        )
    response.raise_for_status()
    return UiAccount(email=email, name=name, token=response.json()["access_token"])


async def sign_in(page: Page, server: HavenProcess, account: UiAccount) -> None:
    await page.goto(f"{server.base_url}/signin")
    await page.get_by_label("Email").fill(account.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Inbox", level=1)).to_be_visible()


async def api(
    server: HavenProcess, account: UiAccount, method: str, path: str, **kwargs: Any
) -> Any:
    async with httpx.AsyncClient(base_url=server.api, headers=account.headers) as client:
        response = await client.request(method, path, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


async def tasks(server: HavenProcess, account: UiAccount, **params: Any) -> list[dict[str, Any]]:
    page = await api(server, account, "GET", "/tasks", params={"limit": 200, **params})
    return list(page["items"])


async def eventually(
    read: Callable[[], Awaitable[T]], check: Callable[[T], bool], *, what: str, seconds: float = 10
) -> T:
    """`read()` again until `check` holds of it: the page shows a change at once (optimistic
    updates) and the API has it a moment later."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await read()
        if check(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {seconds} s")
        await asyncio.sleep(0.1)


# axe-core, the npm package the UI's build installs: its serious and critical violations.
AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = {"serious", "critical"}


async def violations(page: Page) -> list[dict[str, Any]]:
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's CSP (script-src 'self') keeps
        # out a <script> tag, as it should.
        await page.evaluate(AXE.read_text())
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in SERIOUS
    ]
