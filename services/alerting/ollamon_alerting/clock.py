"""The clock alerting reads time from, injected so tests can drive it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime."""
