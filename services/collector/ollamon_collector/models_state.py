"""The latest model snapshot of this host's Ollama servers, as the probe reports them.

The collector never calls Ollama: `models_loaded` and `total_models` come from the probe's
`OllamaModelsSnapshot` events. Snapshots are kept per Ollama URL and only for this
collector's host label, so collectors on several machines each count their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ollamon_core.events import OllamaModelsSnapshot


@dataclass(frozen=True)
class ModelCounts:
    """Models resident in memory (summed over servers) and distinct models installed."""

    loaded: int = 0
    total: int = 0


class LatestModels:
    """Keeps the newest snapshot per Ollama server of one host.

    Args:
        host_label: the host whose snapshots count; others are ignored.
    """

    def __init__(self, host_label: str) -> None:
        self._host_label = host_label
        self._snapshots: dict[str, OllamaModelsSnapshot] = {}

    def update(self, snapshot: OllamaModelsSnapshot) -> bool:
        """Keep a snapshot; True when the set of loaded models changed.

        Snapshots of other hosts, and ones older than the one kept, change nothing.
        """
        if snapshot.host != self._host_label:
            return False
        previous = self._snapshots.get(snapshot.ollama_url)
        if previous is not None and previous.timestamp > snapshot.timestamp:
            return False
        self._snapshots[snapshot.ollama_url] = snapshot
        before = set() if previous is None else {model.name for model in previous.loaded}
        return before != {model.name for model in snapshot.loaded}

    def counts(self) -> ModelCounts:
        """Loaded models summed over servers; installed models counted once by name."""
        loaded = sum(len(snapshot.loaded) for snapshot in self._snapshots.values())
        installed = {
            model.name for snapshot in self._snapshots.values() for model in snapshot.available
        }
        return ModelCounts(loaded=loaded, total=len(installed))
