"""Container health: the file a service rewrites at each heartbeat, and the command that reads it.

NATS carries every heartbeat (`ollamon.heartbeat.<service>`), but a container engine asks
the container itself. With `OLLAMON_HEALTH_FILE` set, a service rewrites that file after
every heartbeat it sent while connected to NATS, so the file's age says the service's loop
runs and its NATS connection is up. `python -m ollamon_core.runtime.health` (compose's
healthchecks) exits 0 while the file is younger than `HEALTHY_BEATS` heartbeat intervals,
and, given `--http URL`, that URL answers 2xx (the gateway); else it prints why and exits 1.
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ollamon_core.settings import ServiceSettings

# The file may be this many heartbeat intervals old before the service counts as unhealthy.
HEALTHY_BEATS = 3
HTTP_TIMEOUT_SECONDS = 3.0


def write_health_file(path: Path, service: str, state: str) -> None:
    """Record that `service` sent a heartbeat just now (blocking: call it in a thread)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(f"{time.time():.3f} {service} {state}\n")
    partial.replace(path)


def heartbeat_problem(path: Path, max_age_seconds: float, now: float | None = None) -> str | None:
    """Why the service is not healthy by its heartbeat file, or None when it is."""
    try:
        written_at = float(path.read_text().split(maxsplit=1)[0])
    except FileNotFoundError:
        return f"no heartbeat yet ({path} does not exist)"
    except (OSError, ValueError, IndexError) as error:
        return f"unreadable heartbeat file {path}: {error!r}"
    age = (time.time() if now is None else now) - written_at
    if age > max_age_seconds:
        return f"last heartbeat sent while connected {age:.1f} s ago (> {max_age_seconds:g} s)"
    return None


def http_problem(url: str) -> str | None:
    """Why `url` is not answering 2xx, or None when it is."""
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:
        return f"{url}: {error!r}"
    return None if 200 <= status < 300 else f"{url} answered {status}"


def main(argv: list[str] | None = None) -> int:
    """The healthcheck command: 0 healthy, 1 not (with the reason on stderr)."""
    parser = argparse.ArgumentParser(prog="python -m ollamon_core.runtime.health")
    parser.add_argument("--http", metavar="URL", help="also require a 2xx answer from URL")
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    if settings.health_file is None:
        print("OLLAMON_HEALTH_FILE is not set: no heartbeat file to read", file=sys.stderr)
        return 1
    max_age = HEALTHY_BEATS * settings.heartbeat_interval_seconds
    problem = heartbeat_problem(settings.health_file, max_age)
    if problem is None and args.http:
        problem = http_problem(args.http)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
