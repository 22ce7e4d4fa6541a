"""An empty `OLLAMON_API_TOKEN` (what compose passes for `${OLLAMON_API_TOKEN:-}`) is no
token: POSTs stay open, as without the variable."""

from __future__ import annotations

import httpx
import pytest

from ollamon_gateway.settings import GatewaySettings
from tests.services.gateway.conftest import SettingsFactory
from tests.services.gateway.stubs import Responder

API = "/api/ai/ollama/performance"


@pytest.fixture
def settings(make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch) -> GatewaySettings:
    monkeypatch.setenv("OLLAMON_API_TOKEN", "")
    settings = make_settings()
    assert settings.api_token is None
    return settings


@pytest.mark.parametrize("authorization", [None, "Bearer anything"])
async def test_posts_pass_with_or_without_a_bearer_when_the_token_is_empty(
    client: httpx.AsyncClient, storage: Responder, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.post(f"{API}/cleanup", json={"days_to_keep": 30}, headers=headers)
    assert response.status_code == 200, response.text
