"""The API docs work offline: every operation described, every error a problem-details body,
Swagger UI and the favicon served by the gateway, the CDN-only viewers off.

Issue 16's repro: `/schema/swagger`, `/schema/elements`, `/schema/rapidoc` and Redoc loaded
from CDNs (blank offline), operation descriptions were empty, and 401/404/503 bodies were
documented as a bare `object`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ollamon_gateway.routes.docs import DOCS_CONTENT_SECURITY_POLICY

Client = httpx.AsyncClient
METHODS = {"get", "put", "post", "delete", "patch"}
PROBLEM_REF = "#/components/schemas/ProblemDetails"
RFC_9457_MEMBERS = {"type", "title", "status", "detail", "instance"}


async def _document(client: Client) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def _bare_objects(schema: Any, where: str) -> Iterator[str]:
    """Every place in `schema` that is an `object` saying nothing of its members."""
    if isinstance(schema, dict):
        if (
            schema.get("type") == "object"
            and "$ref" not in schema
            and not schema.get("properties")
            and not schema.get("additionalProperties")
        ):
            yield where
        for key, value in schema.items():
            yield from _bare_objects(value, f"{where}.{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _bare_objects(value, f"{where}[{index}]")


async def test_every_operation_has_a_summary_and_a_description(client: Client) -> None:
    operations = dict(_operations(await _document(client)))
    assert len(operations) >= 20
    empty = [
        name
        for name, operation in operations.items()
        if not str(operation.get("description", "")).strip()
        or not str(operation.get("summary", "")).strip()
    ]
    assert empty == []


async def test_every_error_is_documented_as_problem_details_and_none_as_a_bare_object(
    client: Client,
) -> None:
    document = await _document(client)
    problems: list[str] = []
    for name, operation in _operations(document):
        for status, response in operation["responses"].items():
            if not str(response.get("description", "")).strip():
                problems.append(f"{name} {status}: no description")
            content = response.get("content") or {}
            if int(status) >= 400:
                schema = content.get("application/problem+json", {}).get("schema")
                if list(content) != ["application/problem+json"] or schema != {"$ref": PROBLEM_REF}:
                    problems.append(f"{name} {status}: {content}")
            for media in content.values():
                problems.extend(_bare_objects(media.get("schema"), f"{name} {status}"))
    assert problems == []
    schema = document["components"]["schemas"]["ProblemDetails"]
    assert set(schema["properties"]) >= RFC_9457_MEMBERS
    # The extras the gateway sends: field errors (400), the silent service (503).
    assert {"errors", "service", "subject"} <= set(schema["properties"])


@pytest.mark.parametrize(
    ("operation", "statuses"),
    [
        ("GET /api/ai/ollama/performance/summary", {"400", "404", "503"}),
        ("GET /api/ai/ollama/performance/metrics/{model_name}", {"400", "404", "503"}),
        ("POST /api/ai/ollama/performance/export", {"400", "401", "403", "409", "413", "503"}),
        ("POST /api/ai/ollama/performance/cleanup", {"400", "401", "403", "413", "503"}),
        ("PUT /api/ai/ollama/performance/thresholds/{rule}", {"401", "404", "422", "503"}),
        ("GET /api/ai/ollama/performance/export/{path}", {"400", "404", "503"}),
        ("GET /api/ai/ollama/health", {"503"}),
    ],
)
async def test_each_operation_lists_the_errors_it_can_answer(
    client: Client, operation: str, statuses: set[str]
) -> None:
    operations = dict(_operations(await _document(client)))
    assert statuses <= set(operations[operation]["responses"])


async def test_a_documented_problem_matches_what_the_gateway_sends(client: Client) -> None:
    # Nobody answers storage queries here: the 503 body has every member the schema names.
    response = await client.get("/api/ai/ollama/performance/summary")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"title", "status", "detail", "service", "subject"} <= set(body)
    document = await _document(client)
    assert set(body) <= set(document["components"]["schemas"]["ProblemDetails"]["properties"])


async def test_swagger_ui_is_served_by_the_gateway_under_a_strict_policy(client: Client) -> None:
    for path in ("/schema/swagger", "/schema"):
        response = await client.get(path)
        assert response.status_code == 200, response.text
        assert response.headers["content-security-policy"] == DOCS_CONTENT_SECURITY_POLICY
        # Every script and stylesheet is the gateway's own; no inline script at all.
        urls = re.findall(r'(?:src|href)="([^"]+)"', response.text)
        assert urls and all(url.startswith("/") for url in urls), urls
        assert "<script>" not in response.text
        for url in urls:
            asset = await client.get(url)
            assert asset.status_code == 200, url
    assert "script-src 'self';" in DOCS_CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("viewer", ["redoc", "elements", "rapidoc"])
async def test_the_viewers_that_only_load_from_cdns_are_off(client: Client, viewer: str) -> None:
    response = await client.get(f"/schema/{viewer}")
    assert response.status_code == 404
    assert "unpkg.com" not in response.text and "cdn." not in response.text


async def test_the_favicon_is_served(client: Client) -> None:
    response = await client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age" in response.headers["cache-control"]
