"""Diffing two /api/ps snapshots gives loaded, unloaded and evicted events."""

from __future__ import annotations

from ollamon_core.events import LifecycleChange, LoadedModel
from ollamon_probe.lifecycle import lifecycle_events


def model(name: str, size: int = 10, vram: int = 10, context: int = 4096) -> LoadedModel:
    return LoadedModel(
        name=name,
        size_bytes=size,
        size_vram_bytes=vram,
        context_length=context,
        partially_offloaded=vram < size,
    )


def changes(
    previous: list[LoadedModel] | None, current: list[LoadedModel]
) -> list[tuple[str, str, str | None]]:
    events = lifecycle_events(previous, current, ollama_url="http://o", host="h")
    return [(event.model_name, event.change.value, event.evicted_by) for event in events]


def test_the_first_snapshot_is_the_baseline() -> None:
    assert changes(None, [model("a")]) == []


def test_a_new_model_is_loaded_with_its_offload_flag() -> None:
    events = lifecycle_events([], [model("big", size=10, vram=4)], ollama_url="http://o", host="h")
    assert [event.change for event in events] == [LifecycleChange.LOADED]
    assert events[0].partially_offloaded
    assert (events[0].size_bytes, events[0].size_vram_bytes, events[0].host) == (10, 4, "h")


def test_a_model_gone_alone_was_unloaded() -> None:
    assert changes([model("a"), model("b")], [model("b")]) == [("a", "unloaded", None)]


def test_a_model_gone_while_another_arrived_was_evicted_by_it() -> None:
    assert changes([model("a")], [model("c")]) == [("a", "evicted", "c"), ("c", "loaded", None)]


def test_a_reload_with_another_context_is_unload_then_load() -> None:
    assert changes([model("a", context=2048)], [model("a", context=8192)]) == [
        ("a", "unloaded", None),
        ("a", "loaded", None),
    ]


def test_nothing_changed_gives_no_events() -> None:
    assert changes([model("a")], [model("a")]) == []
