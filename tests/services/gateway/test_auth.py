"""`OLLAMON_API_TOKEN`: POSTs need the bearer token, GETs stay open."""

from __future__ import annotations

import httpx
import pytest

from ollamon_gateway.auth import bearer_token
from ollamon_gateway.settings import GatewaySettings
from tests.services.gateway.conftest import SettingsFactory
from tests.services.gateway.stubs import Responder

API = "/api/ai/ollama/performance"
TOKEN = "s3cret-token"
POSTS = [
    ("/monitoring/start", {"interval": 5.0}),
    ("/monitoring/stop", None),
    ("/export", {"format": "json"}),
    ("/cleanup", {"days_to_keep": 30}),
]


@pytest.fixture
def settings(make_settings: SettingsFactory) -> GatewaySettings:
    return make_settings(api_token=TOKEN)


@pytest.mark.parametrize(("path", "body"), POSTS)
async def test_posts_without_the_token_are_401_and_reach_nobody(
    client: httpx.AsyncClient, storage: Responder, path: str, body: object
) -> None:
    response = await client.post(f"{API}{path}", json=body)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in response.json()["detail"]
    assert storage.requests == {}


@pytest.mark.parametrize("header", ["Bearer wrong", "Basic czNjcmV0", f"bearer  {TOKEN}x", ""])
async def test_posts_with_a_wrong_token_are_401(client: httpx.AsyncClient, header: str) -> None:
    response = await client.post(f"{API}/monitoring/stop", headers={"Authorization": header})
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(("path", "body"), POSTS)
async def test_posts_with_the_token_pass(
    client: httpx.AsyncClient, storage: Responder, path: str, body: object
) -> None:
    response = await client.post(
        f"{API}{path}", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200, response.text


async def test_gets_need_no_token(client: httpx.AsyncClient, storage: Responder) -> None:
    assert (await client.get(f"{API}/summary")).status_code == 200
    assert (await client.get(f"{API}/status")).status_code == 200
    assert (await client.get("/ollama-performance-dashboard")).status_code == 200


async def test_without_a_configured_token_posts_are_open(
    make_settings: SettingsFactory,
) -> None:
    assert make_settings().api_token is None


def test_the_bearer_scheme_is_case_insensitive_and_the_token_is_not() -> None:
    assert bearer_token("bearer abc") == "abc"
    assert bearer_token("Bearer ABC ") == "ABC"
    assert bearer_token("Bearer") is None
    assert bearer_token("Token abc") is None


def test_the_gateway_binds_to_loopback_by_default() -> None:
    assert GatewaySettings().gateway_host == "127.0.0.1"
