"""The dashboard page and its assets, all served by the gateway (works offline)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import anyio
from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

DASHBOARD_PATH = "/ollama-performance-dashboard"
ASSETS_PATH = f"{DASHBOARD_PATH}/assets"
# Scripts and styles only from this origin: injected markup could not run even if a
# value slipped past the textContent-only rendering.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def static_folder() -> Path:
    """The folder of the dashboard's HTML, scripts and styles inside the package."""
    return Path(str(resources.files("ollamon_gateway") / "static"))


class PackageFile:
    """A file of the package, read on first use off the event loop, then kept."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: bytes | None = None

    async def read(self) -> bytes:
        if self._data is None:
            self._data = await anyio.Path(self.path).read_bytes()
        return self._data


def dashboard_routes() -> list[Router]:
    """The page (read once, on first use) and its static assets."""
    page = PackageFile(static_folder() / "dashboard.html")

    @get(DASHBOARD_PATH, include_in_schema=False, media_type="text/html")
    async def dashboard() -> Response[bytes]:
        return Response(
            await page.read(),
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-cache",
            },
        )

    assets = create_static_files_router(
        path=ASSETS_PATH,
        directories=[static_folder()],
        include_in_schema=False,
        cache_control=CacheControlHeader(no_cache=True),
    )
    return [Router(path="/", route_handlers=[dashboard]), assets]
