"""Model lifecycle from two `/api/ps` snapshots: loaded, unloaded, evicted (pure)."""

from __future__ import annotations

from ollamon_core.events import LifecycleChange, LoadedModel, ModelLifecycleEvent


def lifecycle_events(
    previous: list[LoadedModel] | None,
    current: list[LoadedModel],
    *,
    ollama_url: str,
    host: str,
) -> list[ModelLifecycleEvent]:
    """What changed between two polls; nothing for the first poll (it is the baseline).

    A model that disappeared while another one appeared was evicted by it (Ollama makes
    room for the new model); one that disappeared alone was unloaded (keep_alive ran out
    or an explicit unload). A model reloaded with another context counts as unloaded and
    loaded again.
    """
    if previous is None:
        return []
    before = {model.name: model for model in previous}
    after = {model.name: model for model in current}
    reloaded = {
        name
        for name, model in after.items()
        if name in before and before[name].context_length != model.context_length
    }
    arrived = [model for name, model in after.items() if name not in before or name in reloaded]
    left = [model for name, model in before.items() if name not in after or name in reloaded]
    evicted_by = arrived[0].name if arrived else None
    events = [
        _event(
            model,
            LifecycleChange.EVICTED
            if evicted_by and model.name not in reloaded
            else LifecycleChange.UNLOADED,
            ollama_url,
            host,
            evicted_by if model.name not in reloaded else None,
        )
        for model in left
    ]
    events.extend(
        _event(model, LifecycleChange.LOADED, ollama_url, host, None) for model in arrived
    )
    return events


def _event(
    model: LoadedModel, change: LifecycleChange, ollama_url: str, host: str, evicted_by: str | None
) -> ModelLifecycleEvent:
    return ModelLifecycleEvent(
        host=host,
        ollama_url=ollama_url,
        model_name=model.name,
        change=change,
        size_bytes=model.size_bytes,
        size_vram_bytes=model.size_vram_bytes,
        partially_offloaded=model.partially_offloaded,
        evicted_by=evicted_by,
    )
