"""Pure helpers of the query answers."""

from __future__ import annotations

from ollamon_storage.aggregates import thin_evenly


def test_thinning_keeps_everything_under_the_limit() -> None:
    assert thin_evenly(5, 10) == [0, 1, 2, 3, 4]


def test_thinning_spreads_evenly_and_keeps_both_ends() -> None:
    chosen = thin_evenly(1000, 5)
    assert chosen == [0, 250, 500, 749, 999]  # round-half-even of 249.75 * k
    assert len(thin_evenly(10_000, 500)) == 500


def test_thinning_to_one_keeps_the_newest() -> None:
    assert thin_evenly(7, 1) == [6]
    assert thin_evenly(0, 3) == []
