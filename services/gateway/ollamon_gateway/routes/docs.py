"""The API docs (Swagger UI) and the favicon, served by the gateway itself: they work offline.

Litestar's render plugins load their UIs from CDNs by default (a blank page offline, and
every visit told a CDN about it). Swagger UI is vendored from npm instead
(static/vendor/swagger-ui-dist, scripts/vendor_assets.py) and started by a script of
ours, so the page has no inline script and runs under a strict Content-Security-Policy.
Redoc, Stoplight Elements and RapiDoc are off: Swagger UI reads the document and tries
requests, and each more viewer would be megabytes more of vendored code to keep current
(docs/decisions/0013-offline-api-docs.md).
"""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, YamlRenderPlugin

from ollamon_gateway.routes.dashboard import ASSETS_PATH, PackageFile, static_folder

SWAGGER_ASSETS = f"{ASSETS_PATH}/vendor/swagger-ui-dist"
FAVICON_PATH = "/favicon.ico"
# The docs page: its own scripts only; Swagger UI sets inline styles (style attributes)
# and draws icons from data: URLs; requests ("Try it out") only to this gateway.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class OfflineSwaggerPlugin(OpenAPIRenderPlugin):
    """Swagger UI from the gateway's vendored copy, with no inline script."""

    def __init__(self) -> None:
        """Serve at `/schema/swagger` (and `/schema`, as the first render plugin)."""
        super().__init__(
            path="/swagger", favicon=f'<link rel="icon" href="{FAVICON_PATH}">', style=""
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The page: the vendored bundle and styles, and swagger-init.js pointed at the JSON."""
        title = escape(str(openapi_schema["info"]["title"]))
        spec_url = escape(self.get_openapi_json_route(request))
        return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} API</title>
  {self.favicon}
  <link rel="stylesheet" href="{SWAGGER_ASSETS}/swagger-ui.css">
  <script src="{SWAGGER_ASSETS}/swagger-ui-bundle.js" defer></script>
  <script src="{ASSETS_PATH}/swagger-init.js" defer></script>
</head>
<body>
  <div id="swagger-ui" data-spec-url="{spec_url}"></div>
</body>
</html>
""".encode()


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI (also at `/schema`), and the document as JSON and YAML."""
    return [OfflineSwaggerPlugin(), JsonRenderPlugin(), YamlRenderPlugin()]


async def with_docs_policy(response: Any) -> Any:
    """An `after_request` hook: an HTML page without a policy of its own gets the docs'.

    The dashboard sets its own stricter one; the docs pages come from Litestar's OpenAPI
    router, which sets none.
    """
    if isinstance(response, Response) and str(response.media_type).startswith("text/html"):
        response.headers.setdefault("Content-Security-Policy", DOCS_CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def favicon_route() -> Any:
    """`GET /favicon.ico`: the small icon in static/icons/ (read once, on first use)."""
    icon = PackageFile(static_folder() / "icons" / "favicon.ico")

    @get(FAVICON_PATH, include_in_schema=False, media_type="image/x-icon")
    async def favicon() -> Response[bytes]:
        return Response(
            await icon.read(),
            media_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return favicon
