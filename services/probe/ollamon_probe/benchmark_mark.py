"""The mark on a benchmark's requests: header `X-Ollamon-Benchmark: <run id>`.

The runner sends its requests through the probe's own proxy with this header; the proxy
reads it into the request event's `benchmark_run_id` and never forwards it
(`upstream.NOT_FORWARDED`). A value that is not a run id (1-64 letters, digits, `_`, `-`)
marks nothing. Any client may set it: it only tells the anomaly baselines to leave the
request out, which a client could do to its own traffic anyway by not using the proxy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ollamon_probe.upstream import BENCHMARK_HEADER

_RUN_ID = re.compile(rb"[A-Za-z0-9_\-]{1,64}")


def benchmark_run_id(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The run id an ASGI request's headers carry (names are lower case), or None."""
    for name, value in headers:
        if name == BENCHMARK_HEADER:
            value = value.strip()
            return value.decode("ascii") if _RUN_ID.fullmatch(value) else None
    return None
