"""Model counts from the probe's snapshots: per server, per host, newest wins."""

from __future__ import annotations

from datetime import timedelta

from ollamon_collector.models_state import LatestModels, ModelCounts
from ollamon_core.events import CatalogModel, LoadedModel, OllamaModelsSnapshot, utc_now


def snapshot(
    loaded: list[str], available: list[str], *, host: str = "gpu-1", url: str = "http://a:11434"
) -> OllamaModelsSnapshot:
    return OllamaModelsSnapshot(
        host=host,
        ollama_url=url,
        loaded=[LoadedModel(name=name) for name in loaded],
        available=[CatalogModel(name=name) for name in available],
    )


def test_counts_start_at_zero() -> None:
    assert LatestModels("gpu-1").counts() == ModelCounts(loaded=0, total=0)


def test_the_latest_snapshot_gives_loaded_and_installed_counts() -> None:
    models = LatestModels("gpu-1")
    models.update(snapshot(["llama3.2:1b"], ["llama3.2:1b", "qwen2.5:7b", "phi3"]))
    assert models.counts() == ModelCounts(loaded=1, total=3)
    models.update(snapshot([], ["llama3.2:1b", "qwen2.5:7b", "phi3"]))
    assert models.counts() == ModelCounts(loaded=0, total=3)


def test_snapshots_of_another_host_are_ignored() -> None:
    models = LatestModels("gpu-1")
    assert not models.update(snapshot(["m"], ["m"], host="gpu-2"))
    assert models.counts() == ModelCounts()


def test_servers_of_one_host_add_loaded_models_and_share_installed_names() -> None:
    models = LatestModels("gpu-1")
    models.update(snapshot(["a"], ["a", "b"], url="http://127.0.0.1:11434"))
    models.update(snapshot(["a", "b"], ["a", "b", "c"], url="http://127.0.0.1:11500"))
    assert models.counts() == ModelCounts(loaded=3, total=3)


def test_update_says_when_the_loaded_set_changed() -> None:
    models = LatestModels("gpu-1")
    assert models.update(snapshot(["a"], ["a"]))
    assert not models.update(snapshot(["a"], ["a", "b"]))
    assert models.update(snapshot(["b"], ["a", "b"]))


def test_an_older_snapshot_arriving_late_is_ignored() -> None:
    models = LatestModels("gpu-1")
    newer = snapshot(["a", "b"], ["a", "b"])
    older = snapshot(["a"], ["a"]).model_copy(
        update={"timestamp": utc_now() - timedelta(minutes=1)}
    )
    models.update(newer)
    models.update(older)
    assert models.counts() == ModelCounts(loaded=2, total=2)
