"""`run_service` runs every service on uvloop's loop where uvloop is installed, and on
asyncio's own where it is not (Windows, PyPy)."""

from __future__ import annotations

import sys

import pytest
import uvloop

from ollamon_core.runtime.process import default_loop_factory


def test_services_run_on_uvloop_where_it_is_installed() -> None:
    assert default_loop_factory() is uvloop.new_event_loop


def test_services_run_on_asyncio_loop_where_uvloop_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` raise ImportError
    assert default_loop_factory() is None
