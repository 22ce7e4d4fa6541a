"""`ollamon benchmark` end to end: the command (a child process) asks a running probe over
NATS, follows the run step by step, prints the ranking table, and the comparison with the
previous server version that storage makes of it; refused runs are one line; `--host` asks
that host's probe, and a host no probe serves is one line too."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import httpx

from ollama_emulator.__main__ import configured
from ollamon_storage.settings import StorageSettings
from tests.cli.commands import run_ollamon
from tests.services.probe.benchmark_probe import HOST, benchmark_probe, ranked_config
from tests.services.storage.conftest import running_storage, storage_settings

__all__ = ["running_storage", "storage_settings"]  # the storage tests' fixtures, used here


async def ollamon(cwd: Path, nats_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        run_ollamon, *args, cwd=cwd, env={"OLLAMON_NATS_URL": nats_url}, timeout=60
    )


async def test_benchmark_waits_for_quiet_then_ranks_the_models_in_a_table(
    tmp_path: Path, running_storage: StorageSettings
) -> None:
    url = running_storage.nats_url
    async with benchmark_probe(url, tmp_path) as probe:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{probe.proxy_port}") as http:
            real = await http.post(
                "/api/generate", json={"model": "swift:1b", "prompt": "hi", "stream": False}
            )
        assert real.status_code == 200
        refused = await ollamon(tmp_path, url, "benchmark")
        done = await ollamon(tmp_path, url, "benchmark", "--repetitions", "2", "--force")
    assert refused.returncode == 1
    assert "ollamon: the probe refused the benchmark: busy: real traffic" in refused.stderr
    assert "(--force runs anyway)" in refused.stderr
    assert done.returncode == 0, done.stderr
    # Piped: one plain line per step on stderr, the table alone on stdout.
    assert "[17/17]" in done.stderr and "\x1b[" not in done.stdout + done.stderr
    rows = [
        [cell.strip() for cell in line.split("\u2502")]
        for line in done.stdout.splitlines()
        if line.strip()[:1].isdigit()
    ]
    assert [row[1] for row in rows] == ["swift:1b", "steady:7b", "embed-mini:latest"]
    assert "ollama 0.12.6" in done.stdout and "suite 1" in done.stdout
    eval_mean, _, eval_half = rows[0][2].partition(" ± ")
    assert float(eval_mean) > 800 and float(eval_half) >= 0


async def test_host_runs_it_on_that_host_s_probe_and_an_unknown_host_is_one_line(
    tmp_path: Path, clean_nats_url: str
) -> None:
    url = clean_nats_url
    async with benchmark_probe(url, tmp_path):
        quick = ("--case", "short_chat", "--repetitions", "1", "--no-cold", "--force")
        done = await ollamon(tmp_path, url, "benchmark", "swift:1b", "--host", HOST, *quick)
        unknown = await ollamon(tmp_path, url, "benchmark", "--host", "nowhere", *quick)
    assert done.returncode == 0, done.stderr
    assert "swift:1b" in done.stdout
    assert unknown.returncode == 1
    assert (
        "ollamon: no probe of host 'nowhere' answered on ollamon.control.benchmark.nowhere"
        in unknown.stderr
    )


async def test_an_upgrade_that_slows_eval_is_flagged_against_the_previous_version(
    tmp_path: Path, running_storage: StorageSettings
) -> None:
    url = running_storage.nats_url
    args = ("benchmark", "swift:1b", "--case", "streamed", "--repetitions", "3", "--force")
    async with benchmark_probe(url, tmp_path, configured(ranked_config(), "0.12.3", 1.0)):
        before = await ollamon(tmp_path, url, *args, "--json")
    async with benchmark_probe(url, tmp_path, configured(ranked_config(), "0.12.6", 0.8)):
        after = await ollamon(tmp_path, url, *args)
    assert before.returncode == 0 and after.returncode == 0, before.stderr + after.stderr
    document = json.loads(before.stdout)
    assert document["run"]["server_version"] == "0.12.3"
    assert [row["model"] for row in document["ranking"]] == ["swift:1b"]
    flagged = [line for line in after.stdout.splitlines() if "FLAGGED" in line]
    assert any("0.12.3 -> 0.12.6" in line and "eval -20" in line for line in flagged), after.stdout
