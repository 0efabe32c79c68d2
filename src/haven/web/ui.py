"""Serve the built single-page app at ``/``, with a fallback to index.html for its routes.

The router hands every request no route matched to `WebUI` (its ``default``). Paths that
belong to the server (``/api``, ``/docs``, ``/health`` …) go on to the router's own 404, so
an unknown API path answers exactly as it did before the UI existed. Everything else is
the app's: a file of the build when there is one, index.html for a page the browser asks
for (the SPA routes it), else 404.

Hashed build files under /assets never change, so browsers keep them for a year; every
other file, index.html above all, is revalidated (ETag / Last-Modified) on each use, so a
new build shows on the next load. Without a build, pages answer a short note saying how
to build it.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

# Paths the server answers itself: never the app's, even for a browser asking for HTML.
SERVER_PATHS: Final = (
    "/api",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/health",
    "/metrics",
    "/graphql",
    "/mcp",
    "/feeds",
    "/ws",
)
ASSETS_PATH: Final = "/assets"
INDEX: Final = "index.html"

IMMUTABLE: Final = "public, max-age=31536000, immutable"
REVALIDATE: Final = "no-cache"
CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    )
)
# On every answer of the UI; the CSP only on HTML, the one kind of file it governs.
COMMON_HEADERS: Final = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
HTML_HEADERS: Final = {**COMMON_HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY}

# What a build holds, typed the same on every machine (the system's MIME table may lack
# some or disagree; with nosniff, a script sent under the wrong type does not run).
MEDIA_TYPES: Final = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/vnd.microsoft.icon",
    ".webp": "image/webp",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".wasm": "application/wasm",
    ".txt": "text/plain",
}

NOT_BUILT_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Haven - web UI not built</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; }
  body { padding: 0 1rem; }
  code { background: #8882; padding: 0.1em 0.3em; border-radius: 3px; }
</style>
</head>
<body>
<h1>Haven is running; its web UI is not built</h1>
<p>The server found no build of the web UI. Build it with <code>make install</code> (or
<code>make run</code>), which runs <code>npm ci</code> and <code>npm run build</code> in
<code>frontend/</code> when Node.js and npm are installed, then reload this page.</p>
<p>The API works without it: see the <a href="/docs">interactive API docs</a>.</p>
</body>
</html>
"""


class WebUI:
    """The ASGI app for every path no route took (see the module's docstring)."""

    def __init__(self, *, dist: Path, not_found: ASGIApp) -> None:
        self.dist = dist
        self.not_found = not_found
        # Used for its lookup (which refuses paths leaving the folder) and its conditional
        # GET rules; check_dir=False because the build may appear after the server started.
        self.files = StaticFiles(directory=dist, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _route_path(scope) if scope["type"] == "http" else ""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or _is_server(path):
            await self.not_found(scope, receive, send)
            return
        response = await self._answer(path, scope)
        await response(scope, receive, send)

    async def _answer(self, path: str, scope: Scope) -> Response:
        parts = path.strip("/").split("/")
        # No hidden files (the build's .build-hash), no "." or ".." steps: the lookup would
        # refuse to leave the folder anyway, but such a path is never a file of the build.
        if any(part.startswith(".") for part in parts):
            raise HTTPException(404, f"no such file: {path}")
        relative = "/".join(parts)
        if path == ASSETS_PATH or path.startswith(ASSETS_PATH + "/"):
            found = self._file(relative)
            if found is None:
                raise HTTPException(404, f"no such asset: {path}")
            return self._file_response(*found, scope=scope, cache=IMMUTABLE)
        if relative and (found := self._file(relative)) is not None:
            return self._file_response(*found, scope=scope, cache=REVALIDATE)
        if path == "/" or _wants_html(scope):
            index = self._file(INDEX)
            if index is None:
                return HTMLResponse(
                    NOT_BUILT_PAGE, headers={**HTML_HEADERS, "Cache-Control": REVALIDATE}
                )
            return self._file_response(*index, scope=scope, cache=REVALIDATE)
        raise HTTPException(404, f"no such file: {path}")

    def _file(self, relative: str) -> tuple[str, os.stat_result] | None:
        try:
            full_path, found = self.files.lookup_path(relative)
        except (OSError, ValueError):  # a name too long for the file system, and the like
            return None
        if found is None or not stat.S_ISREG(found.st_mode):
            return None
        return full_path, found

    def _file_response(
        self, full_path: str, found: os.stat_result, *, scope: Scope, cache: str
    ) -> Response:
        media_type = _media_type(full_path)
        headers = HTML_HEADERS if media_type == "text/html" else COMMON_HEADERS
        response = FileResponse(
            full_path,
            stat_result=found,
            media_type=media_type,
            headers={**headers, "Cache-Control": cache},
        )
        if self.files.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


def install_web_ui(app: FastAPI, *, dist: Path) -> None:
    """Serve the UI built into `dist` for every path the app's routes do not take."""
    app.router.default = WebUI(dist=dist, not_found=app.router.not_found)


def _route_path(scope: Scope) -> str:
    """The path below the prefix a reverse proxy may mount Haven under (root_path)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def _is_server(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in SERVER_PATHS)


def _wants_html(scope: Scope) -> bool:
    """A browser loading a page (a typed URL, a link, a reload) names text/html in Accept."""
    accept = Headers(scope=scope).get("accept", "")
    for item in accept.split(","):
        media_type, _, params = item.partition(";")
        if media_type.strip().lower() in ("text/html", "application/xhtml+xml"):
            return not any(
                p.strip().replace(" ", "") in ("q=0", "q=0.0") for p in params.split(";")
            )
    return False


def _media_type(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
