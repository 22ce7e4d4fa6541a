"""The forecast series kept in the state bucket: what comes back, what is left out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from ollamon_alerting import forecast_state
from ollamon_alerting.forecast_rules import ForecastBook
from ollamon_alerting.rules import thresholds_from_settings
from ollamon_core.insights.forecast_resources import ResourceKind
from tests.services.alerting.conftest import START, make_settings
from tests.services.alerting.test_forecast_rules import GB, sample

DISK = ("test-host", ResourceKind.DISK, "/")
MEMORY = ("test-host", ResourceKind.MEMORY, "memory")


def filled_book() -> ForecastBook:
    book = ForecastBook(0.1)
    thresholds = thresholds_from_settings(make_settings())
    for minute in range(120):
        book.observe(sample(minute, disk_used=400 * GB + GB * minute // 2), thresholds)
    return book


def test_a_host_s_series_come_back_with_their_forecast() -> None:
    book = filled_book()
    assert book.take_changes() == ["test-host"]
    again = ForecastBook(0.1)
    forecast_state.restore(
        again, forecast_state.host_bytes(book, "test-host"), START + timedelta(minutes=120)
    )
    assert list(again.series[DISK].points) == list(book.series[DISK].points)
    restored = again.series[DISK].latest
    assert restored == book.series[DISK].latest
    assert restored is not None and restored.filling
    assert again.take_changes() == []  # nothing new to write back


def test_points_older_than_their_window_are_left_out() -> None:
    raw = forecast_state.host_bytes(filled_book(), "test-host")
    again = ForecastBook(0.1)
    forecast_state.restore(again, raw, START + timedelta(minutes=140))
    # Memory keeps 30 minutes: the last 10 of the 120; the disk keeps a day: all of them.
    assert again.series[MEMORY].points[0][0] >= (START + timedelta(minutes=110)).timestamp()
    assert len(again.series[MEMORY].points) == 10
    assert len(again.series[DISK].points) == 120
    forecast_state.restore(again := ForecastBook(0.1), raw, START + timedelta(days=2))
    assert again.series == {}


@pytest.mark.parametrize("raw", [b"{}", b'{"host": "h", "series": [{"kind": "tape"}]}', b"[1"])
def test_an_entry_this_version_did_not_write_is_refused(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        forecast_state.restore(ForecastBook(0.1), raw, START)
