"""Browser sign-in (?transport=cookie): httpOnly refresh cookie, CSRF token, Origin check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import PASSWORD, Account, bearer

COOKIE = {"transport": "cookie"}
ORIGIN = "http://test"


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies, as a browser does, on this server's origin."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        yield client


def _set_cookies(response: httpx.Response) -> dict[str, SimpleCookie]:
    found: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            found[name] = cookie
    return found


def _csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies["haven_csrf"], "Origin": ORIGIN}


async def _sign_in(client: httpx.AsyncClient, alice: Account) -> httpx.Response:
    response = await client.post(
        "/auth/login",
        params=COOKIE,
        json={"email": alice.email, "password": PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 200, response.text
    return response


async def test_login_sets_the_cookies_and_keeps_the_refresh_token_out_of_the_body(
    browser: httpx.AsyncClient, alice: Account
) -> None:
    response = await _sign_in(browser, alice)
    body = response.json()
    assert body["refresh_token"] is None
    assert body["access_token"]
    assert body["token_type"] == "bearer"
    cookies = _set_cookies(response)
    refresh = cookies["haven_refresh"]["haven_refresh"]
    assert refresh["httponly"] is True
    assert refresh["samesite"] == "strict"
    assert refresh["path"] == "/api/v1/auth"
    assert not refresh["secure"]  # plain http here; see the https test
    assert int(refresh["max-age"]) == 30 * 24 * 3600
    csrf = cookies["haven_csrf"]["haven_csrf"]
    assert not csrf["httponly"]  # the page must read it
    assert csrf["samesite"] == "strict"
    assert csrf["path"] == "/"
    assert len(csrf.value) >= 32
    # The access token works as any bearer token does.
    me = await browser.get("/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200


async def test_register_with_cookies(browser: httpx.AsyncClient) -> None:
    response = await browser.post(
        "/auth/register",
        params=COOKIE,
        json={"email": "carol@example.com", "password": PASSWORD},
    )
    assert response.status_code == 201
    assert response.json()["refresh_token"] is None
    assert {"haven_refresh", "haven_csrf"} <= set(_set_cookies(response))


async def test_cookies_are_secure_over_https(app: FastAPI, alice: Account) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://haven.example") as client:
        response = await client.post(
            "/api/v1/auth/login",
            params=COOKIE,
            json={"email": alice.email, "password": PASSWORD},
            headers={"Origin": "https://haven.example"},
        )
    assert response.status_code == 200
    cookies = _set_cookies(response)
    assert cookies["haven_refresh"]["haven_refresh"]["secure"] is True
    assert cookies["haven_csrf"]["haven_csrf"]["secure"] is True


async def test_refresh_by_cookie_rotates_both_cookies(
    browser: httpx.AsyncClient, alice: Account
) -> None:
    await _sign_in(browser, alice)
    first_refresh = browser.cookies["haven_refresh"]
    first_csrf = browser.cookies["haven_csrf"]
    response = await browser.post("/auth/refresh", params=COOKIE, headers=_csrf(browser))
    assert response.status_code == 200, response.text
    assert response.json()["refresh_token"] is None
    assert response.json()["access_token"]
    assert browser.cookies["haven_refresh"] != first_refresh
    assert browser.cookies["haven_csrf"] != first_csrf
    # An empty JSON object is as good as no body; the new pair works again.
    again = await browser.post("/auth/refresh", params=COOKIE, json={}, headers=_csrf(browser))
    assert again.status_code == 200, again.text


async def test_replaying_an_old_refresh_cookie_revokes_the_sign_in(
    browser: httpx.AsyncClient, alice: Account
) -> None:
    await _sign_in(browser, alice)
    stolen_refresh = browser.cookies["haven_refresh"]
    stolen_csrf = browser.cookies["haven_csrf"]
    rotated = await browser.post("/auth/refresh", params=COOKIE, headers=_csrf(browser))
    assert rotated.status_code == 200
    newest = dict(browser.cookies)

    browser.cookies.clear()
    browser.cookies.set("haven_refresh", stolen_refresh)
    browser.cookies.set("haven_csrf", stolen_csrf)
    replay = await browser.post("/auth/refresh", params=COOKIE, headers=_csrf(browser))
    assert replay.status_code == 401
    assert replay.headers["content-type"] == "application/problem+json"
    assert replay.json()["detail"] == (
        "the refresh token is invalid, expired or revoked; sign in again"
    )
    cleared = _set_cookies(replay)
    assert int(cleared["haven_refresh"]["haven_refresh"]["max-age"]) == 0
    assert int(cleared["haven_csrf"]["haven_csrf"]["max-age"]) == 0

    # The rightful browser, holding the newest cookies, is signed out too.
    browser.cookies.clear()
    for name, value in newest.items():
        browser.cookies.set(name, value)
    after = await browser.post("/auth/refresh", params=COOKIE, headers=_csrf(browser))
    assert after.status_code == 401


async def test_refresh_without_a_cookie_is_401(browser: httpx.AsyncClient) -> None:
    response = await browser.post("/auth/refresh", params=COOKIE, headers={"Origin": ORIGIN})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    # A leftover CSRF cookie goes, so the page stops trying to refresh on every load.
    browser.cookies.set("haven_csrf", "left.over")
    stale = await browser.post("/auth/refresh", params=COOKIE, headers=_csrf(browser))
    assert stale.status_code == 401
    cleared = _set_cookies(stale)["haven_csrf"]["haven_csrf"]
    assert cleared.value == ""
    assert int(cleared["max-age"]) == 0


async def test_refresh_and_logout_need_the_csrf_token(
    browser: httpx.AsyncClient, alice: Account
) -> None:
    await _sign_in(browser, alice)
    csrf = browser.cookies["haven_csrf"]
    for path in ("/auth/refresh", "/auth/logout"):
        missing = await browser.post(path, params=COOKIE)
        wrong = await browser.post(path, params=COOKIE, headers={"X-CSRF-Token": csrf + "x"})
        empty = await browser.post(path, params=COOKIE, headers={"X-CSRF-Token": ""})
        for response in (missing, wrong, empty):
            assert response.status_code == 403, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert "set-cookie" not in response.headers
    # Nothing was spent or revoked by the refused attempts.
    assert (await browser.post("/auth/refresh", params=COOKIE, headers=_csrf(browser))).is_success


async def test_a_csrf_cookie_planted_beside_the_session_does_not_pass(
    browser: httpx.AsyncClient, alice: Account
) -> None:
    # A sibling subdomain can set a haven_csrf cookie of its choosing, and send the same
    # value in the header: the token must also belong to the refresh cookie's sign-in.
    await _sign_in(browser, alice)
    browser.cookies.set("haven_csrf", "attacker-chosen.0000")
    response = await browser.post(
        "/auth/refresh", params=COOKIE, headers={"X-CSRF-Token": "attacker-chosen.0000"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://test.evil.example",
        "https://test",
        "http://test:8080",
        "null",
    ],
)
async def test_a_foreign_origin_is_refused(
    browser: httpx.AsyncClient, alice: Account, origin: str
) -> None:
    await _sign_in(browser, alice)
    headers = {**_csrf(browser), "Origin": origin}
    for path in ("/auth/refresh", "/auth/logout"):
        response = await browser.post(path, params=COOKIE, headers=headers)
        assert response.status_code == 403, (path, origin)
    login = await browser.post(
        "/auth/login",
        params=COOKIE,
        json={"email": alice.email, "password": PASSWORD},
        headers={"Origin": origin},
    )
    assert login.status_code == 403
    assert "set-cookie" not in login.headers


async def test_the_own_origin_passes_with_or_without_the_default_port(
    browser: httpx.AsyncClient, alice: Account
) -> None:
    await _sign_in(browser, alice)
    for origin in ("http://test", "http://TEST:80"):
        headers = {**_csrf(browser), "Origin": origin}
        response = await browser.post("/auth/refresh", params=COOKIE, headers=headers)
        assert response.status_code == 200, (origin, response.text)


async def test_logout_clears_the_cookies_and_revokes_the_session(
    browser: httpx.AsyncClient, alice: Account
) -> None:
    await _sign_in(browser, alice)
    refresh, csrf = browser.cookies["haven_refresh"], browser.cookies["haven_csrf"]
    response = await browser.post("/auth/logout", params=COOKIE, headers=_csrf(browser))
    assert response.status_code == 204
    cleared = _set_cookies(response)
    assert cleared["haven_refresh"]["haven_refresh"].value == ""
    assert cleared["haven_refresh"]["haven_refresh"]["path"] == "/api/v1/auth"
    assert int(cleared["haven_refresh"]["haven_refresh"]["max-age"]) == 0
    assert cleared["haven_csrf"]["haven_csrf"]["path"] == "/"
    assert "haven_refresh" not in browser.cookies
    # The cookies, kept by someone, no longer sign in.
    browser.cookies.set("haven_refresh", refresh)
    browser.cookies.set("haven_csrf", csrf)
    after = await browser.post("/auth/refresh", params=COOKIE, headers=_csrf(browser))
    assert after.status_code == 401


async def test_logout_without_a_session_just_clears(browser: httpx.AsyncClient) -> None:
    response = await browser.post("/auth/logout", params=COOKIE)
    assert response.status_code == 204


async def test_a_body_token_with_the_cookie_transport_is_refused(
    browser: httpx.AsyncClient, alice: Account
) -> None:
    # The bearer token pair of another sign-in must not be spent through the cookie flow,
    # nor the cookie be ignored for it: one session, one place for its token.
    await _sign_in(browser, alice)
    for path in ("/auth/refresh", "/auth/logout"):
        response = await browser.post(
            path,
            params=COOKIE,
            json={"refresh_token": alice.refresh_token},
            headers=_csrf(browser),
        )
        assert response.status_code == 422, path
        assert response.json()["errors"][0]["loc"] == ["body", "refresh_token"]
    # Neither token was touched.
    assert (await browser.post("/auth/refresh", params=COOKIE, headers=_csrf(browser))).is_success
    bearer_refresh = await browser.post(
        "/auth/refresh", json={"refresh_token": alice.refresh_token}
    )
    assert bearer_refresh.status_code == 200


async def test_the_bearer_flow_ignores_cookies(browser: httpx.AsyncClient, alice: Account) -> None:
    # Without ?transport=cookie, cookies are neither read nor set: a body token is needed
    # even when a refresh cookie rides along, and the answer carries the pair as before.
    await _sign_in(browser, alice)
    no_body = await browser.post("/auth/refresh", headers=_csrf(browser))
    assert no_body.status_code == 422
    assert no_body.json()["errors"] == [{"loc": ["body"], "msg": "Field required"}]
    empty = await browser.post("/auth/refresh", json={}, headers=_csrf(browser))
    assert empty.json()["errors"] == [{"loc": ["body", "refresh_token"], "msg": "Field required"}]
    null = await browser.post("/auth/refresh", json={"refresh_token": None})
    assert null.json()["errors"] == [
        {"loc": ["body", "refresh_token"], "msg": "Input should be a valid string"}
    ]
    response = await browser.post("/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert response.status_code == 200
    assert response.json()["refresh_token"]
    assert "set-cookie" not in response.headers
    logout = await browser.post("/auth/logout", json={})
    assert logout.status_code == 422


async def test_an_unknown_transport_is_422(browser: httpx.AsyncClient, alice: Account) -> None:
    response = await browser.post(
        "/auth/login",
        params={"transport": "carrier-pigeon"},
        json={"email": alice.email, "password": PASSWORD},
    )
    assert response.status_code == 422


async def test_the_openapi_schema_documents_the_transport(browser: httpx.AsyncClient) -> None:
    spec = (await browser.get("http://test/openapi.json")).json()
    for path in ("/auth/login", "/auth/register", "/auth/refresh", "/auth/logout"):
        operation = spec["paths"][f"/api/v1{path}"]["post"]
        transport = next(p for p in operation["parameters"] if p["name"] == "transport")
        assert transport["in"] == "query"
        assert transport["schema"]["enum"] == ["bearer", "cookie"]
        assert "cookie" in operation["description"]
    auth = spec["components"]["schemas"]["AuthResponse"]["properties"]["refresh_token"]
    assert "transport=cookie" in auth["description"]
