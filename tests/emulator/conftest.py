"""Fixtures of the emulator's own tests: a running emulator with its engine at hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from ollama_emulator.app import EmulatorApp, create_app
from ollama_emulator.config import fast_config
from ollama_emulator.server import serve_app


@dataclass
class RunningEmulator:
    """A served emulator: its base URL and the app (engine, counters) behind it."""

    url: str
    app: EmulatorApp


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    """The fast test emulator on a random port."""
    app = create_app(fast_config())
    async with serve_app(app) as url:
        yield RunningEmulator(url, app)
