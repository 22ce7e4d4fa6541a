"""Log-spaced histograms: buckets, encoding and percentiles (pure)."""

from __future__ import annotations

import random

import pytest

from ollamon_core import stats
from ollamon_storage import histogram


def test_bucket_bounds_hold_their_values() -> None:
    for value in (1.0, 1.05, 7.3, 250.0, 29_999.0, 600_000.0):
        lower, upper = histogram.bucket_bounds(histogram.bucket_index(value))
        assert lower <= value < upper


def test_tiny_negative_nan_and_huge_values_land_in_the_edge_buckets() -> None:
    assert histogram.bucket_index(0.2) == 0
    assert histogram.bucket_index(-5.0) == 0
    assert histogram.bucket_index(float("nan")) == 0
    assert histogram.bucket_index(1e12) == histogram.BUCKET_COUNT - 1


def test_encoding_round_trips_a_sparse_histogram() -> None:
    counts = {0: 3, 17: 1, 150: 70_000}
    assert histogram.decode(histogram.encode(counts)) == counts
    assert histogram.decode(None) == {}
    assert histogram.decode_into({17: 2}, histogram.encode(counts)) == {0: 3, 17: 3, 150: 70_000}


def test_merged_histograms_count_both_sides() -> None:
    left = histogram.histogram_of([10.0, 20.0])
    right = histogram.histogram_of([20.0, 5000.0])
    merged = histogram.merge_into(dict(left), right)
    assert histogram.total(merged) == 4
    assert merged[histogram.bucket_index(20.0)] == 2


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.9, 0.95, 0.99, 1.0])
def test_percentiles_are_within_six_percent_of_the_exact_ones(fraction: float) -> None:
    generator = random.Random(7)
    values = [generator.lognormvariate(6.0, 1.2) for _ in range(20_000)]
    estimate = histogram.percentile(histogram.histogram_of(values), fraction)
    exact = stats.percentile(values, fraction)
    assert estimate is not None and exact is not None
    assert abs(estimate - exact) <= 0.06 * exact


def test_the_percentile_of_nothing_is_none_and_a_bad_fraction_is_refused() -> None:
    assert histogram.percentile({}, 0.5) is None
    with pytest.raises(ValueError, match="fraction"):
        histogram.percentile({3: 1}, 1.5)


def test_several_percentiles_in_one_walk_are_each_percentile() -> None:
    generator = random.Random(11)
    for size in (1, 2, 5, 300):
        counts = histogram.histogram_of(generator.lognormvariate(5.0, 1.5) for _ in range(size))
        fractions = (0.0, 0.5, 0.95, 0.99, 1.0)
        assert histogram.percentiles(counts, fractions) == [
            histogram.percentile(counts, fraction) for fraction in fractions
        ]
    assert histogram.percentiles({}, (0.5, 0.9)) == [None, None]
    with pytest.raises(ValueError, match="ascending"):
        histogram.percentiles({3: 1}, (0.9, 0.5))
