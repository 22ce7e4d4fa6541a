"""`GET .../alerts` passes the delivery log's bound on to storage and refuses a bad one."""

from __future__ import annotations

import httpx

from ollamon_core import subjects
from tests.services.gateway.stubs import Responder

API = "/api/ai/ollama/performance"


async def test_alerts_pass_the_delivery_limit_on_and_bound_it(
    client: httpx.AsyncClient, storage: Responder
) -> None:
    response = await client.get(f"{API}/alerts", params={"delivery_limit": 7})
    assert response.status_code == 200, response.text
    assert "deliveries" in response.json()
    assert storage.asked(subjects.QUERY_ALERTS)[0].delivery_limit == 7
    default = await client.get(f"{API}/alerts")
    assert default.status_code == 200
    assert storage.asked(subjects.QUERY_ALERTS)[1].delivery_limit == 50
    refused = await client.get(f"{API}/alerts", params={"delivery_limit": 501})
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "delivery_limit" in refused.text
