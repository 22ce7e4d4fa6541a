"""What a llama.cpp server answers besides the OpenAI API: `/health`, `/props`, `/slots`,
`/metrics` (Prometheus text, `llamacpp:` names) and its `/v1/models`.

In the emulator's llama.cpp mode (`EmulatorConfig.backend = "llama.cpp"`) there is no
`/api/*`, one model (the first) is loaded from the start, and streams carry no `usage`, as
llama-cpp-python's server writes them (a role chunk first, one content chunk per token).
"""

from __future__ import annotations

from typing import Any

from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollama_emulator.engine import Engine

BUILD_INFO = "b6500-emulated"
METRICS_CONTENT_TYPE = b"text/plain; version=0.0.4"


def model_of(config: EmulatorConfig) -> ModelSpec:
    """The one model a llama.cpp server has loaded (the config's first)."""
    return config.models[0]


def model_path(spec: ModelSpec) -> str:
    """Where the emulated server pretends to have read its GGUF file."""
    return f"/models/{spec.name.replace(':', '-')}.gguf"


def health() -> dict[str, Any]:
    """`GET /health` of a server whose model is loaded."""
    return {"status": "ok"}


def props(config: EmulatorConfig) -> dict[str, Any]:
    """`GET /props`: the generation defaults, slots, model path and build."""
    spec = model_of(config)
    return {
        "default_generation_settings": {"n_ctx": spec.default_num_ctx, "model": model_path(spec)},
        "total_slots": config.num_parallel,
        "model_path": model_path(spec),
        "chat_template": "{{ messages }}",
        "build_info": BUILD_INFO,
    }


def slots(config: EmulatorConfig, engine: Engine) -> list[dict[str, Any]]:
    """`GET /slots`: one entry per slot, the first `processing` ones busy."""
    spec = model_of(config)
    return [
        {"id": index, "n_ctx": spec.default_num_ctx, "is_processing": index < engine.processing}
        for index in range(config.num_parallel)
    ]


def models(config: EmulatorConfig) -> dict[str, Any]:
    """`GET /v1/models` as llama.cpp writes it (the model file's path as id, with meta)."""
    spec = model_of(config)
    meta = {"n_ctx_train": spec.context_length, "n_params": spec.parameter_count}
    entry = {"id": model_path(spec), "object": "model", "owned_by": "llamacpp", "meta": meta}
    return {"object": "list", "data": [entry]}


def metrics(config: EmulatorConfig, engine: Engine) -> bytes:
    """`GET /metrics` (with `--metrics`): counters and gauges under `llamacpp:` names."""
    rows = [
        ("prompt_tokens_total", "counter", engine.stats["prompt_tokens"]),
        ("tokens_predicted_total", "counter", engine.stats["tokens_predicted"]),
        # a busy slot counts as a full share of the KV cache
        ("kv_cache_usage_ratio", "gauge", engine.processing / config.num_parallel),
        ("requests_processing", "gauge", engine.processing),
        ("requests_deferred", "gauge", engine.waiting),
    ]
    lines: list[str] = []
    for name, kind, value in rows:
        lines += [f"# HELP llamacpp:{name} {name}", f"# TYPE llamacpp:{name} {kind}"]
        lines.append(f"llamacpp:{name} {value}")
    return ("\n".join(lines) + "\n").encode()
