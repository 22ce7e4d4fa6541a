"""Realistic demo traffic through any Ollama URL, sent with the official `ollama` client.

`await send_traffic(base_url)` runs until cancelled: several models, streaming and not,
chat, generate and embed, a slow partly offloaded model, some failures.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import ollama

log = logging.getLogger(__name__)

PROMPTS = (
    "Why is the sky blue?",
    "Summarise the plot of Hamlet in two sentences.",
    "Write a haiku about latency.",
    "Explain what a context window is to a new engineer.",
    "List three ways to make a local model answer faster.",
)

Action = Callable[[ollama.AsyncClient, random.Random], Awaitable[None]]


async def _generate(client: ollama.AsyncClient, rng: random.Random, model: str) -> None:
    prompt = rng.choice(PROMPTS)
    options = {"temperature": rng.choice([0.2, 0.7, 1.0]), "top_p": 0.9}
    if rng.random() < 0.5:
        async for _ in await client.generate(
            model=model, prompt=prompt, stream=True, options=options
        ):
            pass
    else:
        await client.generate(model=model, prompt=prompt, options=options)


async def _chat(client: ollama.AsyncClient, rng: random.Random, model: str) -> None:
    messages = [{"role": "user", "content": rng.choice(PROMPTS)}]
    options = {"temperature": 0.7, "num_ctx": rng.choice([2048, 4096])}
    if rng.random() < 0.6:
        async for _ in await client.chat(
            model=model, messages=messages, stream=True, options=options
        ):
            pass
    else:
        await client.chat(model=model, messages=messages, options=options)


async def _embed(client: ollama.AsyncClient, rng: random.Random) -> None:
    await client.embed(model="nomic-embed-text", input=[rng.choice(PROMPTS) for _ in range(3)])


@dataclass(frozen=True)
class WeightedAction:
    """One kind of request and how often it is picked."""

    name: str
    weight: float
    action: Action


DEMO_MIX: tuple[WeightedAction, ...] = (
    WeightedAction("small-generate", 4, lambda c, r: _generate(c, r, "llama3.2:1b")),
    WeightedAction("small-chat", 3, lambda c, r: _chat(c, r, "llama3.2:1b")),
    WeightedAction("mid-chat", 2, lambda c, r: _chat(c, r, "qwen2.5:7b")),
    WeightedAction("big-offloaded-chat", 0.5, lambda c, r: _chat(c, r, "llama3.1:70b")),
    WeightedAction("embed", 2, _embed),
    WeightedAction("unknown-model", 0.2, lambda c, r: _generate(c, r, "mistral:7b")),
)


async def send_traffic(
    base_url: str,
    *,
    requests_per_second: float = 1.0,
    max_in_flight: int = 8,
    seed: int | None = None,
    mix: tuple[WeightedAction, ...] = DEMO_MIX,
    stats: Counter[str] | None = None,
) -> None:
    """Send the demo mix to `base_url` at about `requests_per_second` until cancelled.

    Outcomes are counted in `stats` (`sent`, `ok`, `error`, `<name>`); errors are expected
    (some models fail on purpose) and never stop the traffic.
    """
    counts = stats if stats is not None else Counter()
    rng = random.Random(seed)
    slots = asyncio.Semaphore(max_in_flight)
    tasks: set[asyncio.Task[None]] = set()

    async def one(choice: WeightedAction, client: ollama.AsyncClient) -> None:
        try:
            await choice.action(client, random.Random(rng.random()))
            counts["ok"] += 1
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError) as error:
            counts["error"] += 1
            log.debug("demo request %s failed: %s", choice.name, error)
        finally:
            slots.release()

    client = ollama.AsyncClient(host=base_url)
    try:
        while True:
            await slots.acquire()
            choice = rng.choices(mix, weights=[item.weight for item in mix])[0]
            counts["sent"] += 1
            counts[choice.name] += 1
            task = asyncio.create_task(one(choice, client))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            await asyncio.sleep(rng.expovariate(requests_per_second))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()
