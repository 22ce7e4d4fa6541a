"""Each (host, model)'s merged rollup over a run of complete hours, kept between queries.

A fleet summary over a day merges every (host, model)'s 24 hour rollups: decoding and
merging their histograms was most of its time (bench `fleet_scale`). Hours that have ended
change only when late events arrive (a spool replayed after an outage) or retention
deletes rows, so the merge of a pair's complete hours is kept with a signature of the rows
it came from: their number, the sum of their request counts and of their last timestamps
(a rollup only grows, so any write changes the signature). A query reads the signatures
with one aggregate SQL statement and merges again only the pairs whose signature changed.

Pure code: the SQL is in `queries.py`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from ollamon_storage.fleet import HostModel
from ollamon_storage.rollups import Rollup

Signature = tuple[int, int, int]  # rows, sum of request counts, sum of last timestamps
Window = tuple[int, int]  # first hour's start, end of the last complete hour (epoch s)
MAX_WINDOWS = 4  # a dashboard's few periods; an hour boundary starts a new window


class CompleteHoursCache:
    """Merged rollups per window of complete hours and (host, model), with signatures."""

    def __init__(self, max_windows: int = MAX_WINDOWS) -> None:
        self.max_windows = max_windows
        self._windows: OrderedDict[Window, dict[HostModel, tuple[Signature, Rollup]]] = (
            OrderedDict()
        )
        self.hits = 0
        self.misses = 0

    def split(
        self, window: Window, signatures: Mapping[HostModel, Signature]
    ) -> tuple[dict[HostModel, Rollup], list[HostModel]]:
        """The kept rollups whose signature still matches, and the pairs to merge again.

        The rollups returned are the cache's own: merge them into a new one, never into
        them.
        """
        kept = self._windows.get(window, {})
        if window in self._windows:
            self._windows.move_to_end(window)
        fresh: dict[HostModel, Rollup] = {}
        stale: list[HostModel] = []
        for pair, signature in signatures.items():
            entry = kept.get(pair)
            if entry is not None and entry[0] == signature:
                fresh[pair] = entry[1]
            else:
                stale.append(pair)
        self.hits += len(fresh)
        self.misses += len(stale)
        return fresh, stale

    def keep(
        self,
        window: Window,
        signatures: Mapping[HostModel, Signature],
        merged: Iterable[tuple[HostModel, Rollup]],
    ) -> None:
        """Remember freshly merged pairs under the signatures read before their rows."""
        kept = self._windows.setdefault(window, {})
        self._windows.move_to_end(window)
        for pair, rollup in merged:
            signature = signatures.get(pair)
            if signature is not None:
                kept[pair] = (signature, rollup)
        while len(self._windows) > self.max_windows:
            self._windows.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (nothing depends on it but speed)."""
        self._windows.clear()
