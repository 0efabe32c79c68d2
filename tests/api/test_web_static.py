"""The web UI at /: build files, the SPA's fallback to index.html, caching, safety headers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from haven.app import create_app
from haven.db.session import Database
from haven.settings import Settings

INDEX = "<!doctype html><title>Haven</title><div id=root></div>"
SCRIPT = "console.log('haven')"
IMMUTABLE = "public, max-age=31536000, immutable"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A stand-in for frontend's build: index.html, hashed assets, a public file, a secret."""
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX)
    (folder / "assets" / "index-4f2a9c.js").write_text(SCRIPT)
    (folder / "assets" / "index-77e1b0.css").write_text("body{margin:0}")
    (folder / "assets" / "inter-3b1d.woff2").write_bytes(b"wOF2fake")
    (folder / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (folder / ".build-hash").write_text("abc123")
    # A file beside the build that no URL may reach.
    (tmp_path / "settings.py").write_text("SECRET = 'x'")
    return folder


def _app(settings: Settings, database: Database, dist: Path) -> FastAPI:
    return create_app(settings.model_copy(update={"web_dist": dist}), database=database)


@pytest.fixture
async def web(
    settings: Settings, database: Database, dist: Path
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(settings, database, dist))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _raw_get(app: FastAPI, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET a path exactly as given: httpx would tidy away its "." and ".." steps first."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"accept", b"text/html")],
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
    }
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client stays connected until the answer is sent
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], headers, body


async def test_root_serves_the_app_with_its_security_headers(web: httpx.AsyncClient) -> None:
    response = await web.get("/")
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self';" in csp  # no inline scripts, no eval
    assert "frame-ancestors 'none'" in csp
    assert "connect-src 'self' ws: wss:" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["etag"]
    assert response.headers["last-modified"]


async def test_pages_of_the_app_fall_back_to_index_html(web: httpx.AsyncClient) -> None:
    for path in ("/today", "/projects/0193e0a4-7b1c-7000-8000-000000000000", "/settings/"):
        response = await web.get(path, headers=HTML)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["cache-control"] == "no-cache"
        assert "content-security-policy" in response.headers


async def test_only_requests_for_a_page_fall_back(web: httpx.AsyncClient) -> None:
    # A script's fetch of a missing file is a 404, not the app's HTML under a wrong name.
    response = await web.get("/today", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    refused = await web.get("/today", headers={"Accept": "text/html;q=0"})
    assert refused.status_code == 404
    posted = await web.post("/today", headers=HTML)
    assert posted.status_code == 404


async def test_server_paths_never_fall_back(web: httpx.AsyncClient) -> None:
    for path in (
        "/api/v1/no-such-thing",
        "/api",
        "/health/nope",
        "/metrics",
        "/graphql",
        "/mcp",
        "/feeds/x.ics",
        "/ws",
        "/docs/nope",
        "/redoc",
        "/openapi.json/x",
    ):
        response = await web.get(path, headers=HTML)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json", path
        assert response.json()["detail"] == f"no route for GET {path}", path


async def test_unknown_api_paths_answer_as_before(web: httpx.AsyncClient) -> None:
    response = await web.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "type": "https://haven.dev/problems/404",
        "title": "Not found",
        "status": 404,
        "detail": "no route for GET /api/v1/nothing-here",
    }
    wrong_method = await web.get("/api/v1/auth/login", headers=HTML)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"


async def test_assets_are_cached_for_good_and_typed(web: httpx.AsyncClient) -> None:
    script = await web.get("/assets/index-4f2a9c.js")
    assert script.status_code == 200
    assert script.text == SCRIPT
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cache-control"] == IMMUTABLE
    assert script.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in script.headers
    style = await web.get("/assets/index-77e1b0.css")
    assert style.headers["content-type"].startswith("text/css")
    font = await web.get("/assets/inter-3b1d.woff2")
    assert font.headers["content-type"] == "font/woff2"


async def test_a_missing_asset_is_404_even_for_a_browser(web: httpx.AsyncClient) -> None:
    for path in ("/assets/index-000000.js", "/assets/", "/assets"):
        response = await web.get(path, headers=HTML)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


async def test_files_at_the_top_of_the_build_are_served_and_revalidated(
    web: httpx.AsyncClient,
) -> None:
    response = await web.get("/favicon.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-cache"


async def test_conditional_requests_answer_304(web: httpx.AsyncClient) -> None:
    first = await web.get("/assets/index-4f2a9c.js")
    by_etag = await web.get(
        "/assets/index-4f2a9c.js", headers={"If-None-Match": first.headers["etag"]}
    )
    assert by_etag.status_code == 304
    assert by_etag.content == b""
    assert by_etag.headers["cache-control"] == IMMUTABLE
    index = await web.get("/")
    by_date = await web.get("/", headers={"If-Modified-Since": index.headers["last-modified"]})
    assert by_date.status_code == 304
    changed = await web.get("/", headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200


async def test_head_answers_the_headers_without_the_body(web: httpx.AsyncClient) -> None:
    for path in ("/", "/today", "/assets/index-4f2a9c.js"):
        get = await web.get(path, headers=HTML)
        head = await web.head(path, headers=HTML)
        assert head.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"]
        assert head.headers["etag"] == get.headers["etag"]
    assert (await web.head("/assets/missing.js")).status_code == 404


async def test_hidden_files_of_the_build_are_not_served(web: httpx.AsyncClient) -> None:
    for path in ("/.build-hash", "/assets/.build-hash", "/.well-known/x"):
        response = await web.get(path, headers=HTML)
        assert response.status_code == 404, path
        assert "abc123" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/assets/../../settings.py",
        "/assets/../index.html",
        "/../settings.py",
        "/assets/%2e%2e/%2e%2e/settings.py",
        "/assets/%2E%2E%2F%2E%2E%2Fsettings.py",
        "/assets/..%2f..%2fsettings.py",
        "/assets/%252e%252e/%252e%252e/settings.py",
        "/assets/..\\..\\settings.py",
        "//etc/passwd",
        "/assets//etc/passwd",
        "/" + "a" * 5000,
    ],
)
async def test_no_path_leaves_the_build_folder(
    settings: Settings, database: Database, dist: Path, path: str
) -> None:
    app = _app(settings, database, dist)
    # As sent (".." kept) and as a server decodes percent-escapes before routing.
    for variant in (path, httpx.URL("http://test" + path).path):
        status, headers, body = await _raw_get(app, variant)
        assert b"SECRET" not in body, variant
        assert b"root:" not in body, variant
        assert status in (200, 404), variant
        if status == 200:  # only ever the app's own page
            assert body == INDEX.encode(), variant
            assert headers["content-type"].startswith("text/html")


async def test_without_a_build_pages_say_how_to_build_it(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    app = _app(settings, database, tmp_path / "not-built")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        root = await client.get("/")
        deep = await client.get("/today", headers=HTML)
        asset = await client.get("/assets/index-4f2a9c.js")
        head = await client.head("/")
        api = await client.get("/api/v1/nope")
    assert root.status_code == 200
    assert root.headers["content-type"].startswith("text/html")
    assert "make install" in root.text
    assert 'href="/docs"' in root.text
    assert root.headers["cache-control"] == "no-cache"
    assert "frame-ancestors 'none'" in root.headers["content-security-policy"]
    assert "<script" not in root.text
    assert deep.status_code == 200
    assert "make install" in deep.text
    assert asset.status_code == 404
    assert head.status_code == 200
    assert head.content == b""
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


async def test_a_build_made_while_the_server_runs_is_served(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "dist"
    app = _app(settings, database, folder)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert "make install" in (await client.get("/")).text
        folder.mkdir()
        (folder / "index.html").write_text(INDEX)
        assert (await client.get("/")).text == INDEX


async def test_the_build_folder_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_WEB_DIST", "/srv/haven-ui")
    assert Settings().web_dist == Path("/srv/haven-ui")
    monkeypatch.delenv("HAVEN_WEB_DIST")
    default = Settings().web_dist
    assert default.parts[-3:] == ("haven", "web", "dist")
