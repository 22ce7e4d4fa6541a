"""`python -m ollamon_cli.demo_traffic --base-url URL --rate R`: the demo's client traffic."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from ollama_emulator.traffic import send_traffic


async def run(base_url: str, rate: float) -> None:
    """Send demo traffic until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    traffic = asyncio.create_task(send_traffic(base_url, requests_per_second=rate))
    await stop.wait()
    traffic.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await traffic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--rate", type=float, default=2.0)
    args = parser.parse_args()
    asyncio.run(run(args.base_url, args.rate))


if __name__ == "__main__":
    main()
