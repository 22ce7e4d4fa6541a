"""Real-server TTFT: what the proxy adds to the time to first token of a real inference server.

llama.cpp's server (llama-cpp-python, `--interrupt_requests False`) on the tiny random
model the real-server tests use (tests/support/llama_cpp.py), and `python -m ollamon_probe`
in front of it publishing to a real nats-server, each its own process. One client rotates
direct and proxied streamed `/v1/chat/completions` calls (the order swapped every round, 10
warm-up rounds) and times the first content delta, and the whole non-streamed call. The
server decodes one request at a time on one thread, so the pairs never overlap. Targets:
the proxy adds at most 1 ms at p50 and 5 ms at p99 (as proxy_overhead against the emulator).
"""

from __future__ import annotations

import json
import time

import httpx

from bench.harness import BenchContext, BenchResult
from bench.scenarios.proxy_overhead import process
from ollamon_cli.nats_server import NatsServer, free_port
from ollamon_core.stats import percentile
from tests.support.llama_cpp import MODEL_ALIAS, running_llama_server, write_tiny_model

NAME = "real_server_ttft"
ADDED_TARGETS_MS = {0.5: 1.0, 0.99: 5.0}
WARM_UP_ROUNDS = 10
BODY = {
    "model": MODEL_ALIAS,
    "messages": [{"role": "user", "content": "why is the sky blue"}],
    "max_tokens": 8,
    "temperature": 0,
}


async def first_token_ms(http: httpx.AsyncClient, base: str) -> float:
    """Milliseconds from sending a streamed chat to its first content delta (read whole)."""
    started = time.perf_counter()
    elapsed = 0.0
    async with http.stream(
        "POST", f"{base}/v1/chat/completions", json=BODY | {"stream": True}
    ) as reply:
        reply.raise_for_status()
        async for line in reply.aiter_lines():
            if elapsed or not line.startswith("data: {"):
                continue
            choices = json.loads(line[len("data: ") :])["choices"]
            if choices and choices[0]["delta"].get("content"):
                elapsed = (time.perf_counter() - started) * 1000.0
    return elapsed


async def whole_reply_ms(http: httpx.AsyncClient, base: str) -> float:
    started = time.perf_counter()
    reply = await http.post(f"{base}/v1/chat/completions", json=BODY)
    reply.raise_for_status()
    return (time.perf_counter() - started) * 1000.0


def added(label: str, direct: list[float], proxied: list[float]) -> list[BenchResult]:
    rows = []
    for fraction, limit_ms in ADDED_TARGETS_MS.items():
        reference = percentile(direct, fraction) or 0.0
        ours = percentile(proxied, fraction) or 0.0
        difference = ours - reference
        rows.append(
            BenchResult(
                scenario=NAME,
                metric=f"{label} p{int(fraction * 100)} (ms)",
                ours=ours,
                unit="ms",
                reference=reference,
                reference_label="direct to llama.cpp's server",
                target=f"adds <= {limit_ms:g} ms (added {difference:.3f} ms)",
                met=difference <= limit_ms,
                notes={"added_ms": round(difference, 4), "samples": len(proxied)},
            )
        )
    return rows


async def run(ctx: BenchContext) -> list[BenchResult]:
    """Time to first token and whole-reply latency, direct and through the probe."""
    rounds = 40 if ctx.quick else 400
    model = write_tiny_model(ctx.work_dir / "tiny-llama.gguf")
    proxy_port = free_port()
    proxied_url = f"http://127.0.0.1:{proxy_port}"
    timings: dict[str, dict[str, list[float]]] = {
        "ttft": {"direct": [], "proxied": []},
        "whole": {"direct": [], "proxied": []},
    }
    with NatsServer(ctx.work_dir / "nats") as nats:
        async with running_llama_server(model, log=ctx.work_dir / "llama.log") as server:
            probe_env = {
                "OLLAMON_NATS_URL": nats.url,
                "OLLAMON_OLLAMA_URL": server.url,
                "OLLAMON_PROXY_PORT": str(proxy_port),
                "OLLAMON_LOG_LEVEL": "WARNING",
            }
            targets = {"direct": server.url, "proxied": proxied_url}
            async with (
                process(["-m", "ollamon_probe"], probe_env, proxy_port),
                httpx.AsyncClient(timeout=60) as http,
            ):
                for index in range(rounds + WARM_UP_ROUNDS):
                    order = ["direct", "proxied"] if index % 2 else ["proxied", "direct"]
                    for name in order:
                        ttft = await first_token_ms(http, targets[name])
                        whole = await whole_reply_ms(http, targets[name])
                        if index >= WARM_UP_ROUNDS:
                            timings["ttft"][name].append(ttft)
                            timings["whole"][name].append(whole)
    return [
        *added("streamed time to first token", **timings["ttft"]),
        *added("non-streamed chat latency", **timings["whole"]),
    ]
