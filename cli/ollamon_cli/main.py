"""The `ollamon` command.

ollamon up         start NATS (embedded unless OLLAMON_NATS_URL is set) and the services
                   (--role edge|hub: one part of a fleet; README "Add a host in three steps")
ollamon demo       the same, plus an Ollama emulator and traffic, for a first look
ollamon status     one screen: services, Ollama hosts, loaded models, firing alerts, backlog
ollamon top        the same, live, in the spirit of htop/nvitop (q quits)
ollamon alerts     the alerts firing now, then each one as it fires and resolves
ollamon selftest   call every endpoint of a running stack, save the results (exit 1 on a failure)
ollamon backup     ask storage for a consistent online copy of the database
ollamon benchmark  run the benchmark suite on the probe's server and rank its models
ollamon settings   every setting's value in effect and where it came from (--reference: the table)
ollamon nats-config  print the NATS users and permissions for your own nats-server
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

from ollamon_cli.exits import CommandError, run_command
from ollamon_cli.settings import StackSettings
from ollamon_core.redaction import install_log_redaction


def command_up(args: argparse.Namespace) -> int:
    from ollamon_cli.stack import run_stack
    from ollamon_cli.topology import Role

    settings = StackSettings()
    if args.processes is not None:
        settings = settings.model_copy(update={"processes": args.processes})
    return run_stack(settings, ollama_url=settings.ollama_urls[0], role=Role(args.role))


def command_demo(args: argparse.Namespace) -> int:
    from ollamon_cli.demo import run_demo

    return run_demo(
        StackSettings(),
        emulator_port=args.emulator_port,
        rate=args.rate,
        storage_path=Path(args.storage_path) if args.storage_path else None,
    )


def command_alerts(args: argparse.Namespace) -> int:
    from ollamon_cli.alerts_tail import tail_alerts
    from ollamon_cli.nats_target import nats_target
    from ollamon_core.events import ServiceName

    target = nats_target(StackSettings(), ServiceName.CLI.value)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(tail_alerts(target, args.severity, sys.stdout))
    return 0


def command_selftest(args: argparse.Namespace) -> int:
    import json

    from ollamon_cli.selftest import failure_lines, run_selftest, summary_line
    from ollamon_cli.terminal import console_for

    settings = StackSettings()
    base_url = args.url or f"http://{settings.gateway_host}:{settings.gateway_port}"
    url_setting = "--url" if args.url else "OLLAMON_GATEWAY_HOST, OLLAMON_GATEWAY_PORT or --url"
    path = run_selftest(base_url, Path(args.out), settings.api_token)
    report = json.loads(path.read_text())
    out = console_for()
    for line in failure_lines(report):
        out.print(line, style="red")
    summary = summary_line(report, path, url_setting)
    out.print(summary, style="green" if report["ok"] else "bold red")
    return 0 if report["ok"] else 1


def command_backup(_: argparse.Namespace) -> int:
    from ollamon_cli.backup import request_backup
    from ollamon_cli.nats_target import nats_target
    from ollamon_core.events import ServiceName

    target = nats_target(StackSettings(), ServiceName.CLI.value)
    print(asyncio.run(request_backup(target)))
    return 0


def command_benchmark(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from ollamon_cli.benchmark import run_benchmark
    from ollamon_cli.nats_target import nats_target
    from ollamon_core.events import BenchmarkRequest, ServiceName

    try:
        benchmark = BenchmarkRequest(
            models=args.models,
            cases=args.cases or [],
            repetitions=args.repetitions,
            num_ctx=args.num_ctx,
            force=args.force,
            cold=not args.no_cold,
            requested_by="ollamon benchmark",
            host=args.host,
        )
    except ValidationError as error:
        reasons = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        raise CommandError(f"benchmark: {reasons}") from None
    target = nats_target(StackSettings(), ServiceName.CLI.value)
    asyncio.run(run_benchmark(target, benchmark, sys.stdout, as_json=args.json))
    return 0


def command_status(args: argparse.Namespace) -> int:
    from ollamon_cli.gateway_api import GatewayTarget
    from ollamon_cli.status import show_status

    settings = StackSettings()
    return asyncio.run(show_status(GatewayTarget.of(settings, args.url), settings.api_token))


def command_top(args: argparse.Namespace) -> int:
    from ollamon_cli.gateway_api import GatewayTarget
    from ollamon_cli.top import run_top

    settings = StackSettings()
    target = GatewayTarget.of(settings, args.url)
    export = Path(args.export) if args.export else None
    return asyncio.run(run_top(target, settings.api_token, args.interval, export))


def command_settings(args: argparse.Namespace) -> int:
    import os

    from ollamon_cli.settings_sources import Source, effective_settings, settings_lines
    from ollamon_cli.settings_table import settings_table
    from ollamon_cli.terminal import console_for

    if args.reference:
        print(settings_table())
        return 0
    rows = effective_settings(os.environ, args.env_file_names)
    lines = settings_lines(rows)
    width = [max(len(line[column]) for line in lines) for column in (0, 1)]
    styles = {Source.ENVIRONMENT: "cyan", Source.ENV_FILE: "magenta", Source.INVALID: "bold red"}
    out = console_for()
    for row, (variable, source, value) in zip(rows, lines, strict=True):
        out.print(
            f"{variable:<{width[0]}}  {source:<{width[1]}}  {value}",
            style=styles.get(row.source, "dim" if row.source == Source.DEFAULT else ""),
        )
    invalid = [row.variable for row in rows if row.problem]
    if invalid:
        raise CommandError(f"invalid settings: {', '.join(invalid)}")
    return 0


def command_nats_config(args: argparse.Namespace) -> int:
    from ollamon_cli.nats_config import deploy_authorization
    from ollamon_core.permissions import hub_user_permissions

    table = hub_user_permissions() if args.role == "hub" else None
    print(deploy_authorization(table), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ollamon",
        description="Performance monitor for local LLM servers (Ollama first).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        help="read settings from this file of NAME=value lines first (the environment wins)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the whole stack (or a fleet role's part)")
    up.add_argument(
        "--role",
        choices=["all", "edge", "hub"],
        default="all",
        help="all: one machine (default); edge: an Ollama host's probe, collector and leaf "
        "NATS server; hub: a hub cluster node with storage, alerting and the gateway",
    )
    up.add_argument(
        "--processes",
        choices=["one", "separate"],
        default=None,
        help="one: the services in one Python process (default, OLLAMON_PROCESSES); "
        "separate: one process per service",
    )
    up.set_defaults(handler=command_up)
    demo = commands.add_parser("demo", help="the stack with an Ollama emulator and traffic")
    demo.add_argument("--emulator-port", type=int, default=11434)
    demo.add_argument("--rate", type=float, default=2.0, help="demo requests per second")
    demo.add_argument(
        "--storage-path",
        help="data folder of the demo (default: demo/ under OLLAMA_PERFORMANCE_STORAGE_PATH)",
    )
    demo.set_defaults(handler=command_demo)
    status = commands.add_parser(
        "status",
        help="one screen: services, Ollama hosts and versions, loaded models, firing "
        "alerts, backlog (exit 3 when something is missing or down)",
    )
    status.add_argument("--url", help="gateway base URL (default from settings)")
    status.set_defaults(handler=command_status)
    top = commands.add_parser(
        "top", help="live view of hosts, models, loaded models and alerts (q quits)"
    )
    top.add_argument("--url", help="gateway base URL (default from settings)")
    top.add_argument(
        "--interval", type=float, default=2.0, help="seconds between refreshes (default 2)"
    )
    top.add_argument(
        "--export",
        metavar="FILE",
        help="write one view to FILE (.svg, .html or text) instead of the live view",
    )
    top.set_defaults(handler=command_top)
    alerts = commands.add_parser("alerts", help="tail alerts in the terminal")
    alerts.add_argument("--severity", choices=["low", "medium", "high", "critical"])
    alerts.set_defaults(handler=command_alerts)
    selftest = commands.add_parser("selftest", help="check every endpoint of a running stack")
    selftest.add_argument("--url", help="gateway base URL (default from settings)")
    selftest.add_argument("--out", default=".", help="folder for the results file")
    selftest.set_defaults(handler=command_selftest)
    commands.add_parser("backup", help="online backup of the database").set_defaults(
        handler=command_backup
    )
    _benchmark_parser(commands)
    settings = commands.add_parser(
        "settings",
        help="every setting's value in effect here and where it came from (secrets hidden)",
    )
    settings.add_argument(
        "--reference",
        action="store_true",
        help="print the reference table instead: every variable, its default and meaning",
    )
    settings.set_defaults(handler=command_settings)
    nats_config = commands.add_parser(
        "nats-config",
        help="NATS users and permissions (passwords from OLLAMON_NATS_PASSWORD_<USER>)",
    )
    nats_config.add_argument(
        "--role",
        choices=["all", "hub"],
        default="all",
        help="hub: with the edges' `leaf` user (deploy/nats/hub-auth.conf)",
    )
    nats_config.set_defaults(handler=command_nats_config)
    return parser


def _benchmark_parser(commands: Any) -> None:
    from ollamon_core.events.benchmarks import (
        DEFAULT_NUM_CTX,
        DEFAULT_REPETITIONS,
        BenchmarkCase,
    )

    benchmark = commands.add_parser(
        "benchmark",
        help="run the benchmark suite through the probe and rank the models (cold, then warm)",
    )
    benchmark.add_argument("models", nargs="*", metavar="MODEL", help="default: every model")
    benchmark.add_argument(
        "--repetitions", type=int, default=DEFAULT_REPETITIONS, help="warm runs per case (1-20)"
    )
    benchmark.add_argument(
        "--num-ctx", type=int, default=DEFAULT_NUM_CTX, help="context size (256-131072)"
    )
    benchmark.add_argument(
        "--case",
        dest="cases",
        action="append",
        choices=[case.value for case in BenchmarkCase],
        help="only this case (repeatable; default: every case)",
    )
    benchmark.add_argument(
        "--force", action="store_true", help="run even while real traffic goes through"
    )
    benchmark.add_argument(
        "--no-cold", action="store_true", help="skip the unload and the cold load"
    )
    benchmark.add_argument(
        "--host",
        metavar="LABEL",
        help="the fleet host whose probe runs it (its host label; default: any probe)",
    )
    benchmark.add_argument("--json", action="store_true", help="the run as JSON on stdout")
    benchmark.set_defaults(handler=command_benchmark)


def main(argv: list[str] | None = None) -> int:
    install_log_redaction()  # what the cli itself logs names no URL's credentials
    args = build_parser().parse_args(argv)
    return run_command(_with_env_file, args)


def _with_env_file(args: argparse.Namespace) -> int:
    from ollamon_cli.env_file import load_env_file

    args.env_file_names = load_env_file(Path(args.env_file)) if args.env_file else frozenset()
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
