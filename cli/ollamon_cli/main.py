"""The `ollamon` command.

ollamon up         start NATS (embedded unless OLLAMON_NATS_URL is set) and the services
                   (--role edge|hub: one part of a fleet; README "Add a host in three steps")
ollamon demo       the same, plus an Ollama emulator and traffic, for a first look
ollamon alerts     print alerts from ollamon.alerts.> as they fire and resolve
ollamon selftest   call every endpoint of a running stack and save the results
ollamon backup     ask storage for a consistent online copy of the database
ollamon settings   print every setting as a table
ollamon nats-config  print the NATS users and permissions for your own nats-server
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from ollamon_cli.settings import StackSettings
from ollamon_core.bus import NatsLogin
from ollamon_core.redaction import install_log_redaction


def _nats_url(settings: StackSettings) -> str:
    return settings.nats_url or f"nats://127.0.0.1:{settings.embedded_nats_port}"


def _nats_login(settings: StackSettings, user: str) -> NatsLogin:
    """`OLLAMON_NATS_USER` / `OLLAMON_NATS_PASSWORD` when set; else `user`'s login from the
    credentials `ollamon up` keeps under the storage path, if any."""
    from ollamon_cli.credentials import load_credentials

    credentials = None if settings.nats_user else load_credentials(settings.storage_path)
    return credentials.login(user) if credentials else NatsLogin.of(settings)


def command_up(args: argparse.Namespace) -> int:
    from ollamon_cli.stack import run_stack
    from ollamon_cli.topology import Role

    settings = StackSettings()
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
    from ollamon_core.permissions import ALERTS_READER_USER

    settings = StackSettings()
    login = _nats_login(settings, ALERTS_READER_USER)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(tail_alerts(_nats_url(settings), args.severity, sys.stdout, login=login))
    return 0


def command_selftest(args: argparse.Namespace) -> int:
    from ollamon_cli.selftest import run_selftest

    settings = StackSettings()
    base_url = args.url or f"http://{settings.gateway_host}:{settings.gateway_port}"
    path = run_selftest(base_url, Path(args.out), settings.api_token)
    print(f"selftest results written to {path}")
    return 0


def command_backup(_: argparse.Namespace) -> int:
    from ollamon_cli.backup import request_backup
    from ollamon_core.events import ServiceName

    settings = StackSettings()
    login = _nats_login(settings, ServiceName.CLI.value)
    print(asyncio.run(request_backup(_nats_url(settings), login=login)))
    return 0


def command_settings(_: argparse.Namespace) -> int:
    from ollamon_cli.settings_table import settings_table

    print(settings_table())
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
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the whole stack (or a fleet role's part)")
    up.add_argument(
        "--role",
        choices=["all", "edge", "hub"],
        default="all",
        help="all: one machine (default); edge: an Ollama host's probe, collector and leaf "
        "NATS server; hub: a hub cluster node with storage, alerting and the gateway",
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
    commands.add_parser("settings", help="print every setting").set_defaults(
        handler=command_settings
    )
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


def main(argv: list[str] | None = None) -> int:
    install_log_redaction()  # what the cli itself logs names no URL's credentials
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
