"""`ollamon up` in front of the real server, the way a llama.cpp user runs it.

Requests through the stack's proxy with the official `openai` client reach storage (the
REST summary) and the Prometheus exposition with their tokens; the watcher sees a live
non-Ollama backend, so its health is up and no "Ollama unreachable" alert fires.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from prometheus_client.parser import text_string_to_metric_families

from tests.support.llama_cpp import MODEL_ALIAS, LlamaServer
from tests.support.stack import RunningStack, start_stack, stop_stack
from tests.support.waiting import wait_for_async

PERFORMANCE = "/api/ai/ollama/performance"
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello there"}]

pytestmark = pytest.mark.timeout(180)


@contextlib.asynccontextmanager
async def stack_in_front_of(server: LlamaServer, data: Path) -> AsyncIterator[RunningStack]:
    stack = await asyncio.to_thread(
        start_stack,
        data,
        server.url,
        OLLAMON_ALERT_FOR_SECONDS="0",  # an unreachable backend would fire at once
        OLLAMON_ALERT_EVALUATION_INTERVAL="0.2",
    )
    try:
        yield stack
    finally:
        await asyncio.to_thread(stop_stack, stack)


def samples(exposition: str, family: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples of one metric family (counters without `_created`), by label set."""
    found: dict[frozenset[tuple[str, str]], float] = {}
    for metric in text_string_to_metric_families(exposition):
        if metric.name == family:
            for sample in metric.samples:
                if not sample.name.endswith("_created"):
                    found[frozenset(sample.labels.items())] = sample.value
    return found


def of_model(found: dict[frozenset[tuple[str, str]], float]) -> float:
    return sum(value for labels, value in found.items() if ("model", MODEL_ALIAS) in labels)


async def test_requests_to_llama_cpp_reach_rest_and_prometheus_and_no_unreachable_alert_fires(
    llama_server: LlamaServer, tmp_path: Path, openai_http: openai.DefaultAsyncHttpxClient
) -> None:
    async with stack_in_front_of(llama_server, tmp_path / "data") as stack, openai_http:
        client = openai.AsyncOpenAI(
            base_url=f"{stack.proxy_url}/v1", api_key="none", max_retries=0, http_client=openai_http
        )
        reply = await client.chat.completions.create(
            model=MODEL_ALIAS, messages=MESSAGES, max_tokens=8, temperature=0
        )
        stream = await client.chat.completions.create(
            model=MODEL_ALIAS, messages=MESSAGES, max_tokens=12, temperature=0, stream=True
        )
        assert len([chunk async for chunk in stream if chunk.choices]) >= 12
        assert reply.usage is not None and reply.usage.completion_tokens == 8

        async def summary_of_both() -> dict[str, Any] | None:
            body = (await openai_http.get(stack.gateway_url + PERFORMANCE + "/summary")).json()
            models = {model["model_name"]: model for model in body["models"]}
            model = models.get(MODEL_ALIAS)
            return model if model and model["request_count"] >= 2 else None

        model = await wait_for_async(summary_of_both, timeout=15, message="the REST summary")
        assert isinstance(model, dict)
        assert model["success_count"] == 2
        assert model["tokens_per_second_mean"] and model["tokens_per_second_mean"] > 0
        assert model["time_to_first_token_p50_ms"] is not None

        async def metrics_of_both() -> str | None:
            exposition = (await openai_http.get(stack.gateway_url + "/metrics")).text
            tokens = of_model(samples(exposition, "ollamon_tokens_generated"))
            return exposition if tokens >= 8 + 12 else None

        exposition = await wait_for_async(metrics_of_both, timeout=10, message="the tokens")
        assert isinstance(exposition, str)
        assert of_model(samples(exposition, "ollamon_requests")) == 2

        async def backend_up() -> list[dict[str, Any]] | None:
            status = (await openai_http.get(stack.gateway_url + PERFORMANCE + "/status")).json()
            health = [item for item in status["ollama"] if item["ollama_url"] == llama_server.url]
            return health if health and health[0]["up"] else None

        health = await wait_for_async(backend_up, timeout=10, message="the backend's health")
        assert isinstance(health, list)
        assert health[0]["backend"] in {"llama.cpp", "openai-compatible"}
        up = samples(exposition, "ollamon_ollama_up")
        assert up and all(value == 1 for value in up.values())
        alerts = (await openai_http.get(stack.gateway_url + PERFORMANCE + "/alerts")).json()
        kinds = {alert["alert_type"] for alert in alerts["alerts"] + alerts["active"]}
        assert "ollama_unreachable" not in kinds
