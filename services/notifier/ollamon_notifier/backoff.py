"""When to try a failed notification again, and when to give up (pure)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: `initial_seconds` after the first failure, doubling up to
    `max_seconds`; no attempt starts later than `give_up_seconds` after the alert came in."""

    initial_seconds: float
    max_seconds: float
    give_up_seconds: float

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after `failed_attempts` (1 or more) failures in a row."""
        return min(self.max_seconds, self.initial_seconds * 2 ** (failed_attempts - 1))

    def next_delay(self, failed_attempts: int, elapsed_seconds: float) -> float | None:
        """The wait before the next attempt, or None when it would start past the give-up."""
        delay = self.delay(failed_attempts)
        if elapsed_seconds + delay > self.give_up_seconds:
            return None
        return delay
