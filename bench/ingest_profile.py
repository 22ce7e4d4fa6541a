"""`python -m bench.ingest_profile [--events N] [--out DIR]`: where storage's ingest CPU goes.

Starts the storage process (`python -m ollamon_storage`), attaches py-spy to it (`uv tool
run py-spy record`, 250 Hz; idle waits left out of the summary), then publishes
`storage_ingest`'s request events as that scenario does and records until every event is
committed.
Writes `storage_ingest.collapsed.txt` (the stacks, `flamegraph.pl`'s input),
`storage_ingest.svg` (a second recording as a flame graph) and `storage_ingest.summary.txt`
(the top functions inclusive and on top) to DIR (default docs/profiles).
docs/BENCHMARKS.md (storage_ingest, issue 18) reads them.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import nats

from bench.scenarios.storage_ingest import _count, _payloads, _publish, _storage_process
from ollamon_cli.nats_server import NatsServer
from ollamon_core.bus import Bus
from ollamon_core.events import ServiceName

TOP = 25
SPY_START_SECONDS = 2.0  # py-spy attaches before the first event is published
# Frames py-spy samples while a thread waits (its idle detection misses these): a worker
# thread on its queue, aiosqlite's thread on its queue, the event loop in its selector.
IDLE_LEAVES = {
    "_worker (concurrent/futures/thread.py:81)",
    "_connection_worker_thread (aiosqlite/core.py:59)",
    "Runner.run (asyncio/runners.py:118)",
}


async def _record(events: int, out: Path, work_dir: Path, fmt: str) -> None:
    with NatsServer(work_dir / f"nats-{fmt}") as server:
        setup = await Bus.connect(server.url, ServiceName.GATEWAY)
        await setup.ensure_streams()
        nc = await nats.connect(server.url)
        storage_path = work_dir / f"storage-{fmt}"
        process = await _storage_process(server.url, storage_path)
        uv = str(Path(sys.executable).parent / "uv")
        record = ["record", "-r", "250", "-f", fmt, "-o", str(out), "-p", str(process.pid)]
        spy = subprocess.Popen(  # noqa: ASYNC220 (py-spy runs beside the loop until stopped)
            [uv, "tool", "run", "py-spy", *record],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await asyncio.sleep(SPY_START_SECONDS)
            await _publish(nc, _payloads(events))
            while await asyncio.to_thread(_count, storage_path / "ollamon.db") < events:
                await asyncio.sleep(0.05)
        finally:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file and exits
            await asyncio.to_thread(spy.wait, 60)
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
            await nc.close()
            await setup.close()


def summary(collapsed: str, title: str) -> str:
    """The top functions inclusive and on top of a collapsed-stacks file, idle waits out."""
    inclusive: Counter[str] = Counter()
    on_top: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or stack.rsplit(";", 1)[-1] in IDLE_LEAVES:
            continue
        count = int(count_text)
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        total += count
        on_top[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"# {title}: {total} busy samples (idle waits left out)"]
    lines += ["", f"## inclusive, top {TOP}"]
    lines += [f"{100 * n / total:5.1f} %  {name}" for name, n in inclusive.most_common(TOP)]
    lines += ["", f"## self (the frame on top), top {TOP}"]
    lines += [f"{100 * n / total:5.1f} %  {name}" for name, n in on_top.most_common(TOP)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=Path("docs/profiles"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    collapsed = args.out / "storage_ingest.collapsed.txt"
    with tempfile.TemporaryDirectory() as work_dir:
        asyncio.run(_record(args.events, collapsed, Path(work_dir), "raw"))
        svg = args.out / "storage_ingest.svg"
        asyncio.run(_record(args.events, svg, Path(work_dir), "flamegraph"))
    title = f"storage ingesting {args.events} request events alone, py-spy at 250 Hz"
    text = summary(collapsed.read_text(), title)
    (args.out / "storage_ingest.summary.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
