"""Fixed log-spaced histograms of durations, so percentiles come from rollups (pure code).

Bucket 0 holds values below `MIN_VALUE_MS`; bucket i (1 <= i < BUCKET_COUNT) holds
[MIN_VALUE_MS * GROWTH**(i-1), MIN_VALUE_MS * GROWTH**i); the last bucket also takes
everything above. With GROWTH 1.1 a percentile read back from the histogram is within
about 5 % of the exact value. Histograms are stored sparse: pairs (bucket, count) packed
as unsigned 32-bit integers.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence

MIN_VALUE_MS = 1.0
GROWTH = 1.1
MAX_VALUE_MS = 1e7  # 10,000 s: beyond any Ollama timeout
BUCKET_COUNT = 2 + math.ceil(math.log(MAX_VALUE_MS / MIN_VALUE_MS) / math.log(GROWTH))
_LOG_GROWTH = math.log(GROWTH)

Histogram = dict[int, int]


def bucket_index(value_ms: float) -> int:
    """Return the bucket a duration (ms) falls in."""
    if not value_ms >= MIN_VALUE_MS:  # also catches NaN
        return 0
    index = 1 + int(math.log(value_ms / MIN_VALUE_MS) / _LOG_GROWTH)
    return min(index, BUCKET_COUNT - 1)


def bucket_bounds(index: int) -> tuple[float, float]:
    """Return the [lower, upper) bounds in ms of a bucket."""
    if index <= 0:
        return 0.0, MIN_VALUE_MS
    lower = MIN_VALUE_MS * GROWTH ** (index - 1)
    return lower, MIN_VALUE_MS * GROWTH**index


def histogram_of(values_ms: Iterable[float]) -> Histogram:
    """Count durations into a sparse histogram."""
    counts: Histogram = {}
    for value in values_ms:
        index = bucket_index(value)
        counts[index] = counts.get(index, 0) + 1
    return counts


def merge_into(target: Histogram, other: Mapping[int, int]) -> Histogram:
    """Add `other`'s counts to `target` (in place) and return it."""
    for index, count in other.items():
        target[index] = target.get(index, 0) + count
    return target


def encode(histogram: Mapping[int, int]) -> bytes:
    """Pack a sparse histogram as (bucket, count) uint32 pairs."""
    packed = array("I")
    for index in sorted(histogram):
        if histogram[index]:
            packed.append(index)
            packed.append(histogram[index])
    return packed.tobytes()


def decode(blob: bytes | None) -> Histogram:
    """Unpack `encode`'s bytes; empty for None or b''."""
    if not blob:
        return {}
    packed = array("I")
    packed.frombytes(blob)
    return dict(zip(packed[0::2], packed[1::2], strict=True))


def decode_into(target: Histogram, blob: bytes | None) -> Histogram:
    """Add an encoded histogram's counts to `target` without building a second dict."""
    if blob:
        packed = array("I")
        packed.frombytes(blob)
        for position in range(0, len(packed), 2):
            index = packed[position]
            target[index] = target.get(index, 0) + packed[position + 1]
    return target


def total(histogram: Mapping[int, int]) -> int:
    """Number of values counted."""
    return sum(histogram.values())


def percentile(histogram: Mapping[int, int], fraction: float) -> float | None:
    """Estimate the percentile (`fraction` in 0..1) of the counted values; None when empty.

    The rank follows `ollamon_core.stats.percentile` (linear between closest ranks), and
    the value is interpolated geometrically inside the bucket holding that rank.
    """
    return percentiles(histogram, (fraction,))[0]


def percentiles(histogram: Mapping[int, int], fractions: Sequence[float]) -> list[float | None]:
    """`percentile` of each fraction (ascending), in one walk over the buckets."""
    if any(not 0.0 <= fraction <= 1.0 for fraction in fractions):
        raise ValueError(f"fractions must be within 0..1, got {list(fractions)}")
    if list(fractions) != sorted(fractions):
        raise ValueError(f"fractions must be ascending, got {list(fractions)}")
    count = total(histogram)
    if count == 0:
        return [None for _ in fractions]
    ranks = [(count - 1) * fraction for fraction in fractions]  # 0-based, may be between two
    found: list[float | None] = []
    seen = 0
    for index in sorted(histogram):
        in_bucket = histogram[index]
        if in_bucket <= 0:
            continue
        while len(found) < len(ranks) and ranks[len(found)] < seen + in_bucket:
            position = (ranks[len(found)] - seen + 0.5) / in_bucket  # spread across the bucket
            lower, upper = bucket_bounds(index)
            if index == 0:
                found.append(lower + (upper - lower) * position)
            else:
                found.append(lower * (upper / lower) ** position)
        seen += in_bucket
    top = bucket_bounds(max(histogram))[1]
    return found + [top for _ in ranks[len(found) :]]
