"""What the probe knows of each Ollama's loaded models, for cold/warm start decisions.

The watcher replaces a server's view on every `/api/ps` poll; the proxy adds a model it
has just served (Ollama keeps it loaded for keep_alive), so a second request between two
polls is not taken for a cold start.
"""

from __future__ import annotations

from dataclasses import dataclass

from ollamon_core.events import LoadedModel


def model_key(name: str) -> str:
    """Ollama's name for a model: `llama3.2` means `llama3.2:latest`."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


@dataclass(frozen=True)
class Residency:
    """One server's loaded models (by name) with what `/api/ps` said of each."""

    models: dict[str, LoadedModel]

    def is_loaded(self, model_name: str) -> bool:
        """True when `model_name` was loaded."""
        return model_key(model_name) in self.models

    def get(self, model_name: str) -> LoadedModel | None:
        """What `/api/ps` said of `model_name`, if it was loaded."""
        return self.models.get(model_key(model_name))


class ResidencyBook:
    """The latest residency of every Ollama URL; None until the first poll of it."""

    def __init__(self) -> None:
        self._by_url: dict[str, Residency] = {}

    def replace(self, ollama_url: str, loaded: list[LoadedModel]) -> None:
        """The watcher's latest `/api/ps` of `ollama_url`."""
        self._by_url[ollama_url] = Residency({model_key(model.name): model for model in loaded})

    def view(self, ollama_url: str) -> Residency | None:
        """The residency now (an immutable snapshot, cheap to take per request)."""
        return self._by_url.get(ollama_url)

    def note_served(self, ollama_url: str, model_name: str) -> None:
        """A request for `model_name` succeeded, so the model is loaded now."""
        current = self._by_url.get(ollama_url)
        if current is None or current.is_loaded(model_name):
            return
        key = model_key(model_name)
        models = dict(current.models)
        models[key] = LoadedModel(name=key, model=key)
        self._by_url[ollama_url] = Residency(models)
