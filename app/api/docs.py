"""The API docs page (`/schema`): Swagger UI whose scripts, style and icon this service
serves itself, from the swagger-ui-py package, so the page renders with no internet.
(Litestar's render plugins load theirs, and a favicon, from CDNs.)"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import FromPath

from app.api.problems import ProblemError

# What the page loads, with its media type: nothing else of the package is served.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
ASSETS_PATH = "/assets"  # under the OpenAPI path: /schema/assets/<name>


@cache
def _read(name: str) -> bytes:
    # Read once per process: 2 MB in memory beats a file read on every page load.
    return (files("swagger_ui") / "static" / name).read_bytes()


# An hour: a restart on a newer swagger-ui-py is picked up soon, and a reload is cheap.
@get(f"{ASSETS_PATH}/{{name:str}}", include_in_schema=False, sync_to_thread=False,
     cache_control=CacheControlHeader(public=True, max_age=3600))
def docs_asset(name: FromPath[str]) -> Response[bytes]:
    """One of Swagger UI's files, as the docs page asks for it."""
    if name not in ASSETS:
        raise ProblemError(404, f"no docs asset named {name!r}", metadata={"name": name})
    return Response(_read(name), media_type=ASSETS[name])


class OfflineSwaggerUI(SwaggerRenderPlugin):
    """Swagger UI at the OpenAPI path (`/schema`, and `/schema/swagger`), its assets served
    beside it. Swagger UI 5: Litestar writes OpenAPI 3.1, which Swagger UI 4 cannot show."""

    def __init__(self) -> None:
        super().__init__(path="/swagger")

    def receive_router(self, router: Router) -> None:
        super().receive_router(router)  # Swagger UI's oauth2-redirect.html
        # The router's path is the OpenAPI path, known only now.
        base = f"{router.path.rstrip('/')}{ASSETS_PATH}"
        self.js_url = f"{base}/swagger-ui-bundle.js"
        self.standalone_preset_js_url = f"{base}/swagger-ui-standalone-preset.js"
        self.css_url = f"{base}/swagger-ui.css"
        self.favicon = f"<link rel='icon' type='image/png' href='{base}/favicon-32x32.png'>"
        router.register(docs_asset)
