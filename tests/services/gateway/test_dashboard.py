"""The dashboard page and its assets come from the gateway itself (offline, no CDN)."""

from __future__ import annotations

import re

import httpx

from ollamon_gateway.routes.dashboard import static_folder

PAGE = "/ollama-performance-dashboard"
SCRIPTS = sorted(path.name for path in static_folder().glob("*.js"))


async def test_the_page_is_served_with_a_strict_content_security_policy(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(PAGE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "<h1>ollamon</h1>" in response.text


async def test_every_asset_the_page_names_is_served_from_this_origin(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get(PAGE)).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, "the page names no assets"
    for asset in assets:
        assert asset.startswith(f"{PAGE}/assets/"), asset
        assert (await client.get(asset)).status_code == 200, asset
    assert "dashboard.js" in SCRIPTS
    for module in SCRIPTS:
        response = await client.get(f"{PAGE}/assets/{module}")
        assert response.status_code == 200, module
        assert "javascript" in response.headers["content-type"]


def test_no_asset_loads_anything_from_another_origin() -> None:
    # Our own files; vendor/ holds the npm registry's files, checked against vendor.lock.json
    # (tests/scripts/test_vendor_assets.py).
    for path in static_folder().iterdir():
        if not path.is_file():
            continue
        text = path.read_text()
        assert not re.search(r"""(?:src|href|action)=["']?(?:https?:)?//""", text), path.name
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", text), path.name
        if path.suffix == ".js":
            assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), path.name
        # `import` only of sibling modules.
        for target in re.findall(r'from "([^"]+)"', text):
            assert target.startswith("./"), (path.name, target)


def test_scripts_never_parse_data_as_markup() -> None:
    for path in static_folder().glob("*.js"):
        text = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{path.name} uses {sink}"
