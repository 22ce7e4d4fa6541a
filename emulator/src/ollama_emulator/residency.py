"""Which models are loaded: load on first use, expire after keep_alive, evict the oldest."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from ollama_emulator.config import EmulatorConfig, ModelSpec

_DURATION = re.compile(r"^(-?\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def keep_alive_seconds(value: object, default: float) -> float:
    """Ollama's keep_alive: a number of seconds or a Go duration ("5m"); negative = forever."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValueError("keep_alive must be a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value).strip())
        if match is None:
            raise ValueError(f"time: invalid duration {value!r}")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return float("inf") if seconds < 0 else seconds


@dataclass
class LoadedModel:
    """One resident model."""

    spec: ModelSpec
    num_ctx: int
    loaded_at: float
    expires_at: float


class Residency:
    """The loaded models of the emulator; time comes from an injectable clock."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self._loaded: dict[str, LoadedModel] = {}

    def expire(self) -> None:
        """Drop models whose keep_alive has passed."""
        now = self.clock()
        for name in [name for name, model in self._loaded.items() if model.expires_at <= now]:
            del self._loaded[name]

    def loaded(self) -> list[LoadedModel]:
        """The resident models, most recently loaded first (as `/api/ps` lists them)."""
        self.expire()
        return sorted(self._loaded.values(), key=lambda model: model.loaded_at, reverse=True)

    def is_loaded(self, spec: ModelSpec) -> bool:
        """True when `spec` is resident now."""
        self.expire()
        return spec.name in self._loaded

    def acquire(self, spec: ModelSpec, num_ctx: int | None) -> bool:
        """Make `spec` resident (evicting the oldest if full); True if it had to load."""
        self.expire()
        context = num_ctx or spec.default_num_ctx
        current = self._loaded.get(spec.name)
        if current is not None and current.num_ctx == context:
            return False
        self._loaded.pop(spec.name, None)
        while len(self._loaded) >= self.config.max_loaded_models:
            oldest = min(self._loaded.values(), key=lambda model: model.loaded_at)
            del self._loaded[oldest.spec.name]
        now = self.clock()
        self._loaded[spec.name] = LoadedModel(spec, context, now, now + 3600.0)
        return True

    def release(self, spec: ModelSpec, keep_alive: float) -> None:
        """A request finished: keep the model for `keep_alive` seconds (0 unloads now)."""
        model = self._loaded.get(spec.name)
        if model is None:
            return
        if keep_alive <= 0:
            del self._loaded[spec.name]
            return
        model.expires_at = self.clock() + min(keep_alive, 10 * 365 * 86400.0)

    def unload(self, spec: ModelSpec) -> None:
        """Unload `spec` now (a request with keep_alive 0 and no prompt)."""
        self._loaded.pop(spec.name, None)
