"""`python -m ollama_emulator --host 127.0.0.1 --port 11434 --scenario demo`."""

from __future__ import annotations

import argparse

import uvicorn

from ollama_emulator.app import create_app
from ollama_emulator.config import (
    EmulatorConfig,
    bench_config,
    demo_config,
    fast_config,
    llama_cpp_config,
)
from ollama_emulator.server_log import ServerLog

SHUTDOWN_SECONDS = 1
# Ollama (Go's http.Server without an IdleTimeout) keeps an idle connection open; uvicorn's
# default closes it after 5 s, just when a client polling every 5 s comes back.
KEEP_ALIVE_SECONDS = 300
SCENARIOS = {
    "demo": demo_config,
    "fast": fast_config,
    "bench": bench_config,
    "llama.cpp": llama_cpp_config,
}


def configured(config: EmulatorConfig, version: str | None, eval_speed: float) -> EmulatorConfig:
    """The scenario's server with the version and eval speed of the command line."""
    if version:
        config = config.model_copy(update={"version": version})
    return config if eval_speed == 1.0 else config.with_eval_speed(eval_speed)


def main() -> None:
    """Serve the emulator in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="A faithful Ollama emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="demo")
    parser.add_argument("--config", help="a JSON file holding an EmulatorConfig")
    parser.add_argument(
        "--server-log",
        help="append gin's access-log line of every request to this file, as Ollama's "
        "server.log holds them",
    )
    parser.add_argument(
        "--ollama-version",
        help="the version /api/version answers (default: the scenario's, 0.12.6)",
    )
    parser.add_argument(
        "--eval-speed",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="multiply every model's generation speed (0.8: an upgrade 20 %% slower at eval)",
    )
    args = parser.parse_args()
    if args.config:
        with open(args.config, encoding="utf-8") as file:
            config = EmulatorConfig.model_validate_json(file.read())
    else:
        config = SCENARIOS[args.scenario]()
    if args.eval_speed <= 0:
        parser.error("--eval-speed must be above 0")
    config = configured(config, args.ollama_version, args.eval_speed)
    print(f"Ollama emulator ({args.scenario}) on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(
        create_app(config, server_log=ServerLog(args.server_log) if args.server_log else None),
        host=args.host,
        port=args.port,
        log_level="warning",
        lifespan="off",
        # open streams are cut after this, so a stop takes under 2 s
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


if __name__ == "__main__":
    main()
