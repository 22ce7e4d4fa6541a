"""The whole stack's footprint: CPU and RSS of every process of `ollamon up`, idle and busy.

`ollamon up` (its defaults: heartbeats, polls and samples at their default intervals) runs
against the emulator on free ports; Glances (`collector_cost`'s command) runs beside it at
the same time. After a warm-up that leaves start-up out, the stack idles for a window, then
takes 10 requests/s through the proxy (`/api/generate`, every other one streamed) for a
window of the same length. Every process of the stack is measured: the supervisor (`ollamon
up` itself, the slim `ollamon_cli.watch` once the stack is up), nats-server and the services
(their one process, `services`, by default; each its own under
`OLLAMON_PROCESSES=separate`): CPU time over each window (user + system), and its largest
RSS. Figures: idle % of one core (beside Glances), CPU per request (the busy window's CPU
less the idle rate, divided by the requests answered; beside the emulator's own CPU per
request, a single Python HTTP server answering the same calls), and the stack's RSS (the sum
of its processes' peaks, beside Glances'). The emulator and the load generator are not the
stack and are not counted. The notes add each process's PSS at the end (shared pages, such
as libpython's or libcrypto's, divided among the processes that map them), which a sum of
RSS counts once per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from bench.harness import BenchContext, BenchResult
from bench.scenarios.collector_cost import glances_command
from bench.scenarios.proxy_overhead import process
from ollamon_cli.nats_server import free_port
from ollamon_core.settings import ServiceSettings
from ollamon_probe.settings import ProbeSettings
from tests.support.stack import RunningStack, start_stack, stop_stack

NAME = "stack_footprint"
REQUESTS_PER_SECOND = 10.0
BODY = {"model": "bench", "prompt": "one two three", "options": {"temperature": 0.1}}
TARGET_IDLE_PERCENT = 0.5
TARGET_GLANCES_FRACTION = 0.25
TARGET_MS_PER_REQUEST = 1.0
TARGET_RSS_MB = 180.0
BYTES_PER_MB = 1024**2
# `python -m ollamon_<module>` -> the name reported; a service's own process is its name.
PROCESS_NAMES = {"cli.main": "supervisor", "cli.services": "services"}


@dataclass
class Windows:
    """How long each part lasts, in seconds."""

    warm_up: float
    idle: float
    busy: float


@dataclass
class Footprint:
    """What one run measured, per process name."""

    idle_cpu_seconds: dict[str, float] = field(default_factory=dict)
    busy_cpu_seconds: dict[str, float] = field(default_factory=dict)
    max_rss_bytes: dict[str, int] = field(default_factory=dict)
    pss_bytes: dict[str, int] = field(default_factory=dict)
    shared_services: list[str] = field(default_factory=list)
    idle_wall_seconds: float = 0.0
    busy_wall_seconds: float = 0.0
    requests_sent: int = 0
    requests_ok: int = 0
    glances_idle_cpu_seconds: float = 0.0
    glances_max_rss_bytes: int = 0
    emulator_busy_cpu_seconds: float = 0.0
    emulator_idle_cpu_seconds: float = 0.0


def process_name(proc: psutil.Process) -> str:
    """`storage` for `python -m ollamon_storage`, `services` for the services' one process
    (`python -m ollamon_cli.services`), `nats-server`, `supervisor` for `ollamon up`."""
    try:
        argv = proc.cmdline()
    except psutil.Error:
        return f"pid {proc.pid}"
    for index, word in enumerate(argv[:-1]):
        if word == "-m" and argv[index + 1].startswith("ollamon_"):
            module = argv[index + 1].removeprefix("ollamon_")
            return PROCESS_NAMES.get(module, module)
    if argv and Path(argv[0]).name == "nats-server":
        return "nats-server"
    return Path(argv[0]).name if argv else f"pid {proc.pid}"


def stack_processes(stack: RunningStack) -> dict[str, psutil.Process]:
    """`ollamon up` and every process under it, by name."""
    root = psutil.Process(stack.process.pid)
    found = {"supervisor": root}
    for child in root.children(recursive=True):
        found[process_name(child)] = child
    return found


def services_sharing(processes: dict[str, psutil.Process]) -> list[str]:
    """The services the one `services` process runs (none when each has its own)."""
    shared = processes.get(PROCESS_NAMES["cli.services"])
    if shared is None:
        return []
    try:
        argv = shared.cmdline()
    except psutil.Error:
        return []
    return argv[argv.index("ollamon_cli.services") + 1 :] if "ollamon_cli.services" in argv else []


def cpu_seconds(proc: psutil.Process) -> float:
    try:
        times = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def rss_bytes(proc: psutil.Process) -> int:
    try:
        return int(proc.memory_info().rss)
    except psutil.Error:
        return 0


def all_cpu_seconds(processes: dict[str, psutil.Process]) -> dict[str, float]:
    return {name: cpu_seconds(proc) for name, proc in processes.items()}


def all_pss_bytes(processes: dict[str, psutil.Process]) -> dict[str, int]:
    """Each process's proportional set size (shared pages divided among their users)."""
    found = {}
    for name, proc in processes.items():
        try:
            found[name] = int(getattr(proc.memory_full_info(), "pss", 0))
        except psutil.Error:
            found[name] = 0
    return found


def poll_rss(processes: dict[str, psutil.Process], rss: dict[str, int]) -> None:
    for name, proc in processes.items():
        rss[name] = max(rss.get(name, 0), rss_bytes(proc))


async def window(
    processes: dict[str, psutil.Process], seconds: float, rss: dict[str, int]
) -> tuple[float, dict[str, float]]:
    """CPU seconds of each process over `seconds` (RSS polled each second into `rss`);
    /proc is read off the event loop."""
    started_cpu = await asyncio.to_thread(all_cpu_seconds, processes)
    started = time.monotonic()
    while (left := seconds - (time.monotonic() - started)) > 0:
        await asyncio.sleep(min(1.0, left))
        await asyncio.to_thread(poll_rss, processes, rss)
    wall = time.monotonic() - started
    ended_cpu = await asyncio.to_thread(all_cpu_seconds, processes)
    return wall, {name: ended_cpu[name] - started_cpu[name] for name in processes}


def emulator_process() -> psutil.Process:
    """The emulator this process started."""
    return next(proc for proc in psutil.Process().children() if "ollama_emulator" in proc.cmdline())


async def offer_load(proxy_url: str, seconds: float, footprint: Footprint) -> None:
    """10 requests/s on a fixed schedule (not waiting for replies), every other one streamed."""

    async def one(http: httpx.AsyncClient, streamed: bool) -> None:
        try:
            if streamed:
                async with http.stream(
                    "POST", f"{proxy_url}/api/generate", json=BODY | {"stream": True}
                ) as reply:
                    async for _ in reply.aiter_bytes():
                        pass
            else:
                reply = await http.post(f"{proxy_url}/api/generate", json=BODY | {"stream": False})
            if reply.status_code == 200:
                footprint.requests_ok += 1
        except httpx.HTTPError:
            pass

    async with httpx.AsyncClient(timeout=30) as http, asyncio.TaskGroup() as group:
        started = time.monotonic()
        count = int(seconds * REQUESTS_PER_SECOND)
        for index in range(count):
            await asyncio.sleep(max(0.0, started + index / REQUESTS_PER_SECOND - time.monotonic()))
            group.create_task(one(http, streamed=index % 2 == 1))
            footprint.requests_sent += 1


@contextlib.asynccontextmanager
async def running_stack(work_dir: Path, ollama_url: str) -> AsyncIterator[RunningStack]:
    """`ollamon up` at its default intervals (the test helper's shorter ones undone)."""
    heartbeat = ServiceSettings.model_fields["heartbeat_interval_seconds"].default
    monitoring = ProbeSettings.model_fields["monitoring_interval_seconds"].default
    stack = await asyncio.to_thread(
        start_stack,
        work_dir / "data",
        ollama_url,
        OLLAMA_MONITORING_INTERVAL=str(monitoring),
        OLLAMON_HEARTBEAT_INTERVAL=str(heartbeat),
        OLLAMON_LOG_LEVEL="WARNING",
    )
    try:
        yield stack
    finally:
        await asyncio.to_thread(stop_stack, stack)


async def measure(work_dir: Path, windows: Windows) -> Footprint:
    """Start the emulator, the stack and Glances; measure the idle window, then the busy one."""
    footprint = Footprint()
    emulator_port = free_port()
    ollama_url = f"http://127.0.0.1:{emulator_port}"
    emulator_argv = ["-m", "ollama_emulator", "--scenario", "bench", "--port", str(emulator_port)]
    async with (
        process(emulator_argv, {}, emulator_port),
        running_stack(work_dir, ollama_url) as stack,
    ):
        glances = await asyncio.create_subprocess_exec(
            *glances_command(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await asyncio.sleep(windows.warm_up)
            if glances.returncode is not None:
                raise RuntimeError(f"Glances exited early with {glances.returncode}")
            processes = await asyncio.to_thread(stack_processes, stack)
            footprint.shared_services = await asyncio.to_thread(services_sharing, processes)
            others = {
                "glances": await asyncio.to_thread(psutil.Process, glances.pid),
                "emulator": await asyncio.to_thread(emulator_process),
            }
            rss: dict[str, int] = {}
            footprint.idle_wall_seconds, idle = await window(processes | others, windows.idle, rss)
            load = asyncio.create_task(offer_load(stack.proxy_url, windows.busy, footprint))
            footprint.busy_wall_seconds, busy = await window(processes | others, windows.busy, rss)
            await load
            footprint.pss_bytes = await asyncio.to_thread(all_pss_bytes, processes)
        finally:
            glances.terminate()
            try:
                await asyncio.wait_for(glances.wait(), 10)
            except TimeoutError:
                glances.kill()
    footprint.glances_idle_cpu_seconds = idle.pop("glances")
    footprint.glances_max_rss_bytes = rss.pop("glances")
    footprint.emulator_idle_cpu_seconds = idle.pop("emulator")
    footprint.emulator_busy_cpu_seconds = busy.pop("emulator") - (
        footprint.emulator_idle_cpu_seconds
        * footprint.busy_wall_seconds
        / footprint.idle_wall_seconds
    )
    busy.pop("glances")
    rss.pop("emulator")
    footprint.idle_cpu_seconds, footprint.busy_cpu_seconds = idle, busy
    footprint.max_rss_bytes = rss
    return footprint


def results(footprint: Footprint) -> list[BenchResult]:
    """The three figures of the issue's table, each with its same-run reference."""
    idle_percent = 100.0 * sum(footprint.idle_cpu_seconds.values()) / footprint.idle_wall_seconds
    glances_percent = 100.0 * footprint.glances_idle_cpu_seconds / footprint.idle_wall_seconds
    idle_rate = sum(footprint.idle_cpu_seconds.values()) / footprint.idle_wall_seconds
    busy_cpu = sum(footprint.busy_cpu_seconds.values())
    answered = max(footprint.requests_ok, 1)
    per_request_ms = 1000.0 * (busy_cpu - idle_rate * footprint.busy_wall_seconds) / answered
    emulator_ms = 1000.0 * footprint.emulator_busy_cpu_seconds / answered
    rss_mb = sum(footprint.max_rss_bytes.values()) / BYTES_PER_MB
    glances_mb = footprint.glances_max_rss_bytes / BYTES_PER_MB
    per_process = {
        name: {
            "idle_cpu_percent": round(100.0 * seconds / footprint.idle_wall_seconds, 3),
            "busy_cpu_ms_per_request": round(
                1000.0
                * (
                    footprint.busy_cpu_seconds[name]
                    - seconds * footprint.busy_wall_seconds / footprint.idle_wall_seconds
                )
                / answered,
                3,
            ),
            "max_rss_mb": round(footprint.max_rss_bytes[name] / BYTES_PER_MB, 1),
            "pss_mb_at_end": round(footprint.pss_bytes.get(name, 0) / BYTES_PER_MB, 1),
        }
        for name, seconds in sorted(footprint.idle_cpu_seconds.items())
    }
    notes: dict[str, object] = {
        "idle_window_seconds": round(footprint.idle_wall_seconds, 1),
        "busy_window_seconds": round(footprint.busy_wall_seconds, 1),
        "requests_sent": footprint.requests_sent,
        "requests_answered": footprint.requests_ok,
        "stack_pss_mb_at_end": round(sum(footprint.pss_bytes.values()) / BYTES_PER_MB, 1),
        "busy_cpu_percent": round(100.0 * busy_cpu / footprint.busy_wall_seconds, 3),
        "processes": per_process,
        # One process runs these services (`services` above): per service figures need
        # OLLAMON_PROCESSES=separate.
        "services_in_one_process": footprint.shared_services,
        "glances_command": " ".join(glances_command()[1:]),
        "run": "the stack at its default intervals and Glances at the same time",
    }
    return [
        BenchResult(
            scenario=NAME,
            metric="stack idle, % of one core",
            ours=idle_percent,
            unit="%",
            reference=glances_percent,
            reference_label="Glances, same run",
            target=f"<= {TARGET_IDLE_PERCENT} % and <= 1/4 of Glances",
            met=idle_percent <= TARGET_IDLE_PERCENT
            and idle_percent <= glances_percent * TARGET_GLANCES_FRACTION,
            notes=notes,
        ),
        BenchResult(
            scenario=NAME,
            metric="stack CPU ms per request",
            ours=per_request_ms,
            unit="ms",
            reference=emulator_ms,
            reference_label="the emulator's CPU ms per request, same run",
            target=f"<= {TARGET_MS_PER_REQUEST:g} ms",
            met=per_request_ms <= TARGET_MS_PER_REQUEST,
            notes=notes,
        ),
        BenchResult(
            scenario=NAME,
            metric="stack RSS MB (sum of peaks)",
            ours=rss_mb,
            unit="MB",
            reference=glances_mb,
            reference_label="Glances, same run",
            target=f"<= {TARGET_RSS_MB:g} MB",
            met=rss_mb <= TARGET_RSS_MB,
            notes=notes,
        ),
    ]


async def run(ctx: BenchContext) -> list[BenchResult]:
    windows = Windows(warm_up=5.0, idle=15.0, busy=15.0) if ctx.quick else Windows(10.0, 60.0, 60.0)
    return results(await measure(ctx.work_dir, windows))
