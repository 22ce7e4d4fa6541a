"""Child processes as the supervisor sees them, including ones this process adopted.

`ollamon up` starts its children, then replaces its own program with the slim supervisor
(`ollamon_cli.watch`; the process and its pid stay, so the children stay its children). The
new program knows them by pid only: `AdoptedProcess` waits for, signals and reaps such a
child with the part of `subprocess.Popen`'s interface the supervisor uses. Stdlib only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import IO, Protocol

WAIT_STEP_SECONDS = 0.05


class ChildProcess(Protocol):
    """What the supervisor needs of a child: `subprocess.Popen` or `AdoptedProcess`."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


class AdoptedProcess:
    """A child of this process that another program image of it started (by pid)."""

    def __init__(self, pid: int, stderr: IO[str] | None = None) -> None:
        self.pid = pid
        self.stderr = stderr
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """Its exit status (negative: the signal that ended it) once it has ended, else None."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped already elsewhere: gone, status unknown
                self.returncode = 255
            else:
                if pid == self.pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for it to end; `subprocess.TimeoutExpired` after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
            time.sleep(WAIT_STEP_SECONDS)
        return code

    def send_signal(self, sig: int) -> None:
        """Signal it while it runs (never a reused pid: it stays a zombie until reaped)."""
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
