"""`python -m ollamon_cli.watch FD`: the slim supervisor `ollamon up` becomes once it is up.

It takes over the children `ollamon up` started (`handover.py`), restarts a crashed one
with the same crash budget, stops them all on SIGINT or SIGTERM (the services, then NATS)
and exits 0, or 1 when a service kept crashing; it prints the same lines `ollamon up` did.

It sleeps until something happens: a child's exit (SIGCHLD) or a stop signal wakes it at
once through the signal wake-up descriptor, so it has no reason to poll often; it still
looks every `LOOK_SECONDS` (a dependency that failed to start again is retried then).
Stdlib only, with ollamon_cli's stdlib modules: its memory is the interpreter's.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys

from ollamon_cli.children import AdoptedProcess
from ollamon_cli.handover import STOP_SIGNALS, HandOver, read_hand_over
from ollamon_cli.nats_server import NatsServer
from ollamon_cli.supervisor import Dependency, StackFailedError, Supervisor

LOOK_SECONDS = 5.0


class SignalWaiter:
    """Sleeps until a signal arrives (a child ended, a stop) or the time is up."""

    def __init__(self) -> None:
        self._read_fd, write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(write_fd, False)
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wake-up fd hears it

    def wait(self, seconds: float) -> None:
        """Return after `seconds`, or as soon as a signal came."""
        ready, _, _ = select.select([self._read_fd], [], [], seconds)
        if ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._read_fd, 512):
                    pass


def report(line: str) -> None:
    print(line, flush=True)


def supervise(state: HandOver) -> int:
    """Watch what was handed over until a stop or a fatal crash; the exit code."""
    server: NatsServer | None = state.server.server() if state.server else None
    dependencies = (
        [Dependency("nats-server", server.exit_code, server.restart, server.stop)]
        if server is not None
        else []
    )
    supervisor = Supervisor(
        [], max_restarts=state.max_restarts, report=report, dependencies=dependencies
    )
    for child in state.children:
        supervisor.adopt(child.spec(), AdoptedProcess(child.pid))
    waiter = SignalWaiter()
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked across the exec
    exit_code = 0
    try:
        supervisor.watch(poll_seconds=LOOK_SECONDS, wait=waiter.wait)
        report("ollamon: stopping")
    except StackFailedError:
        exit_code = 1
    finally:
        supervisor.stop()  # the services, then NATS
    report("ollamon: stopped")
    os.close(state.lock_fd)
    return exit_code


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return supervise(read_hand_over(int(args[0])))


if __name__ == "__main__":
    sys.exit(main())
