"""The interactive API docs (/docs, Swagger UI), served with its assets from this server.

FastAPI's own pages load their scripts from a public CDN, so on a machine without internet —
where many self-hosters run Haven — they stay blank. The same script and style files ship in
the ``fastapi-offline`` package: the app serves them itself under ``/docs-assets`` and the
page points there, so the docs need nothing but this server. There is no /redoc: ReDoc's
bundle fetches its logo from the vendor's CDN, and one interactive page is enough.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

SWAGGER_UI_PATH: Final = "/docs"
ASSETS_PATH: Final = "/docs-assets"


def assets_folder() -> Path:
    """The installed folder that holds swagger-ui-bundle.js and swagger-ui.css."""
    return Path(str(files("fastapi_offline").joinpath("static")))


def install_api_docs(app: FastAPI) -> None:
    """Serve /docs with local assets. Build the app with docs_url=None and redoc_url=None."""
    openapi_path = app.openapi_url
    if openapi_path is None:
        return
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_folder()), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_path,
            title=f"{app.title} - API docs",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    app.add_api_route(SWAGGER_UI_PATH, swagger_ui, methods=["GET"], include_in_schema=False)


def _root_path(request: Request) -> str:
    """The prefix a reverse proxy mounts Haven under ("" when served at the root)."""
    root = request.scope.get("root_path", "")
    return root if isinstance(root, str) else ""
