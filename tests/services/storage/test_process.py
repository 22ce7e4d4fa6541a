"""Process-wide tuning done when storage runs as `python -m ollamon_storage`."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ollamon_storage.__main__ import GC_THRESHOLDS, tune_garbage_collector


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """Put the test process's collector back as it was."""
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_the_collector_runs_less_often_and_skips_what_startup_created() -> None:
    gc.unfreeze()
    tune_garbage_collector()
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_freeze_count() > 0
