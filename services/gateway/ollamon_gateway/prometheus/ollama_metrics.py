"""Ollama's state and its models, from the probe's polls: `OllamaHealth` (up, version, poll
time), `OllamaModelsSnapshot` (loaded and installed models) and `ModelLifecycleEvent`."""

from __future__ import annotations

import contextlib

from ollamon_core.events import ModelLifecycleEvent, OllamaHealth, OllamaModelsSnapshot
from ollamon_core.redaction import redact_url
from ollamon_gateway.prometheus.families import MODEL, Families, ModelLabels


class OllamaMetrics:
    """The Ollama and model families.

    Args:
        families: makes the families in the exporter's registry.
        models: the bounded model labels, shared with the other jobs.
    """

    def __init__(self, families: Families, models: ModelLabels) -> None:
        self._models = models
        self._loaded: dict[tuple[str, str], set[str]] = {}  # (host, url) -> loaded models
        self._versions: dict[tuple[str, str], str] = {}  # (host, url) -> Ollama's version
        url = ("host", "url")
        self.ollama_up = families.gauge(
            "ollamon_ollama_up", "1 when Ollama answered its last poll", url
        )
        self.ollama_info = families.gauge(
            "ollamon_ollama_info", "Ollama's version (always 1)", (*url, "version")
        )
        self.ollama_probe = families.gauge(
            "ollamon_ollama_probe_duration_seconds", "How long Ollama's version poll took", url
        )
        self.model_loaded = families.gauge(
            "ollamon_model_loaded", "1 for a model loaded now, 0 for one only installed", MODEL
        )
        self.model_size = families.gauge(
            "ollamon_model_size_bytes", "Memory a loaded model takes, VRAM and RAM", MODEL
        )
        self.model_vram = families.gauge(
            "ollamon_model_vram_bytes", "VRAM a loaded model takes", MODEL
        )
        self.model_expiry = families.gauge(
            "ollamon_model_expiry_timestamp_seconds",
            "When a loaded model unloads unless used (Unix time)",
            MODEL,
        )
        self.lifecycle = families.counter(
            "ollamon_model_residency_changes",
            "Models loaded, unloaded, or evicted by another",
            (*MODEL, "change"),
        )

    def observe_health(self, event: OllamaHealth) -> None:
        """Up, poll time, and the version in use (an upgrade drops the old one)."""
        url = redact_url(event.ollama_url)  # a label is kept for good: never a secret
        self.ollama_up.labels(event.host, url).set(1 if event.up else 0)
        if event.response_time_ms is not None:
            self.ollama_probe.labels(event.host, url).set(event.response_time_ms / 1000)
        before = self._versions.get((event.host, url))
        if event.version and event.version != before:
            if before is not None:  # an upgrade: one version a server at a time
                self.ollama_info.remove(event.host, url, before)
            self.ollama_info.labels(event.host, url, event.version).set(1)
            self._versions[(event.host, url)] = event.version

    def observe_models(self, event: OllamaModelsSnapshot) -> None:
        """Loaded models with size, VRAM and expiry; installed ones at 0."""
        host = event.host
        key = (host, redact_url(event.ollama_url))
        loaded = {self._models.label(host, model.name): model for model in event.loaded}
        for gone in self._loaded.get(key, set()) - set(loaded):
            for gauge in (self.model_size, self.model_vram, self.model_expiry):
                with contextlib.suppress(KeyError):  # prometheus-client before 0.21 raised
                    gauge.remove(gone, host)
            self.model_loaded.labels(gone, host).set(0)
        for entry in event.available:
            name = self._models.label(host, entry.name)
            if name not in loaded:
                self.model_loaded.labels(name, host).set(0)
        for name, model in loaded.items():
            self.model_loaded.labels(name, host).set(1)
            self.model_size.labels(name, host).set(model.size_bytes)
            self.model_vram.labels(name, host).set(model.size_vram_bytes)
            if model.expires_at is not None:
                self.model_expiry.labels(name, host).set(model.expires_at.timestamp())
        self._loaded[key] = set(loaded)

    def observe_lifecycle(self, event: ModelLifecycleEvent) -> None:
        """Count a load, unload or eviction."""
        model = self._models.label(event.host, event.model_name)
        self.lifecycle.labels(model, event.host, event.change.value).inc()
