"""Issue 19's done-when for benchmarks: a simulated Ollama upgrade that slows eval by 20 % is
flagged against the previous version's run.

Storage, the probe and the gateway run in this process on the test's NATS; the emulator
answers as Ollama 0.12.3, a run is started over REST (`POST .../benchmarks`), then the
emulator is restarted on the same port as 0.12.6 with every model's eval 20 % slower
(`--ollama-version`, `--eval-speed 0.8` on its command line) and a second run is started.
`GET .../benchmarks` then ranks the model by the newer run and flags its eval at -20 %.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx

from ollama_emulator.app import create_app as create_emulator
from ollama_emulator.config import ModelSpec
from ollama_emulator.server import serve_app
from ollamon_cli.nats_server import free_port
from tests.conftest import BusFactory
from tests.support.benchmark_stack import BENCHMARKS, benchmark_stack, ollama
from tests.support.waiting import wait_for_async

MODEL = "llama3.2:1b"
SPEC = ModelSpec(name=MODEL, tokens_per_second=400.0, load_time_ms=40.0)
HOST = "gpu-a"
RUN_TIMEOUT_SECONDS = 20.0


async def run_benchmark(client: httpx.AsyncClient) -> dict[str, Any]:
    """Start a run over REST and wait until storage lists it; the benchmarks answer then."""
    body = {"models": [MODEL], "cases": ["streamed"], "repetitions": 3}
    response = await client.post(BENCHMARKS, json=body)
    assert response.status_code == 202, response.text
    run_id = response.json()["run_id"]

    async def stored() -> dict[str, Any] | None:
        answer: dict[str, Any] = (await client.get(BENCHMARKS)).json()
        listed = any(run["run_id"] == run_id for run in answer.get("runs", []))
        return answer if listed else None

    answer = await wait_for_async(stored, RUN_TIMEOUT_SECONDS, f"run {run_id} stored")
    assert isinstance(answer, dict)
    return answer


async def test_an_upgrade_that_slows_eval_by_a_fifth_is_flagged_against_the_previous_version(
    clean_nats_url: str, bus_factory: BusFactory, tmp_path: Path
) -> None:
    port = free_port()
    async with contextlib.AsyncExitStack() as first_ollama:
        await first_ollama.enter_async_context(
            serve_app(create_emulator(ollama("0.12.3", SPEC)), port=port)
        )
        async with benchmark_stack(
            clean_nats_url, bus_factory, tmp_path, ollama_port=port, host=HOST
        ) as stack:
            before = await run_benchmark(stack.client)
            # Ollama is upgraded under the running probe: same address, a new server.
            await first_ollama.aclose()
            upgraded = create_emulator(ollama("0.12.6", SPEC, eval_speed=0.8))
            async with serve_app(upgraded, port=port):
                after = await run_benchmark(stack.client)

    (first,) = before["ranking"]
    assert (first["model"], first["host"], first["server_version"]) == (MODEL, HOST, "0.12.3")
    assert before["comparisons"] == []
    (latest,) = after["ranking"]
    assert latest["server_version"] == "0.12.6"
    assert latest["eval_tokens_per_second"]["samples"] == 3
    flagged = {item["metric"]: item for item in after["comparisons"] if item["flagged"]}
    # Eval is flagged; TTFT (a few milliseconds here) may move with the machine's load too.
    eval_change = flagged["eval_tokens_per_second"]
    assert eval_change["worse"] is True
    assert -22.0 < eval_change["change_percent"] < -18.0
    assert eval_change["message"] == f"0.12.3 -> 0.12.6: {MODEL} eval -20 % on {HOST}"
