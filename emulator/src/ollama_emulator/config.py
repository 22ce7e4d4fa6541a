"""How the emulated Ollama behaves: its models and their speed, size and failures."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ModelSpec(BaseModel):
    """One emulated model: catalogue facts, timing and failure behaviour.

    Timings are what the emulator sleeps and then reports (in nanoseconds, as Ollama does),
    so a test can compare the durations a client saw with what a proxy measured.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    family: str = "llama"
    parameter_size: str = "1.2B"
    parameter_count: int = 1_235_814_432
    quantization_level: str = "Q8_0"
    digest: str = ""
    size_bytes: int = 2_000_000_000
    size_vram_bytes: int | None = Field(
        default=None, description="Bytes on the GPU; less than size_bytes means partly on CPU"
    )
    context_length: int = Field(default=131072, description="The model's trained context")
    default_num_ctx: int = Field(default=4096, description="Context used when none is asked")
    tokens_per_second: float = Field(default=2000.0, gt=0)
    prompt_tokens_per_second: float = Field(default=20000.0, gt=0)
    time_to_first_token_ms: float = Field(default=1.0, ge=0)
    load_time_ms: float = Field(default=5.0, ge=0)
    response_tokens: int = Field(default=12, ge=1, description="Tokens when num_predict unset")
    embedding_dimensions: int = Field(default=8, ge=1)
    failure_rate: float = Field(default=0.0, ge=0, le=1)
    fail_every_nth: int | None = Field(default=None, ge=1)
    fail_mid_stream_after_tokens: int | None = Field(default=None, ge=0)
    fail_mid_stream_every_nth: int | None = Field(
        default=None, ge=1, description="Only every Nth request fails mid-stream (None: all)"
    )
    error_message: str = "llama runner process has terminated: exit status 2"

    @property
    def vram_bytes(self) -> int:
        """Bytes on the GPU (all of the model unless `size_vram_bytes` says less)."""
        return self.size_bytes if self.size_vram_bytes is None else self.size_vram_bytes

    @property
    def model_digest(self) -> str:
        """The digest Ollama would report (derived from the name unless configured)."""
        if self.digest:
            return self.digest
        return hashlib.sha256(self.name.encode()).hexdigest()


class EmulatorConfig(BaseModel):
    """The whole emulated server."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = "0.12.6"
    backend: Literal["ollama", "llama.cpp"] = Field(
        default="ollama",
        description="llama.cpp: a llama.cpp-like server (no /api/*, /health, /props, /slots, "
        "/metrics, the first model loaded, no usage in streams)",
    )
    models: list[ModelSpec] = Field(default_factory=list)
    keep_alive_seconds: float = Field(default=300.0, ge=0, description="Default keep_alive")
    max_loaded_models: int = Field(default=3, ge=1)
    num_parallel: int = Field(default=4, ge=1, description="Requests served at once")
    max_queue: int = Field(default=512, ge=0, description="Waiting requests before 503")

    def scaled(self, speedup: float) -> EmulatorConfig:
        """The same server `speedup` times faster (a quick run of the demo in tests)."""
        models = [
            spec.model_copy(
                update={
                    "tokens_per_second": spec.tokens_per_second * speedup,
                    "prompt_tokens_per_second": spec.prompt_tokens_per_second * speedup,
                    "time_to_first_token_ms": spec.time_to_first_token_ms / speedup,
                    "load_time_ms": spec.load_time_ms / speedup,
                }
            )
            for spec in self.models
        ]
        return self.model_copy(update={"models": models})

    def with_eval_speed(self, factor: float) -> EmulatorConfig:
        """The same server with every model's generation `factor` times as fast (0.8: an
        upgrade that slows eval by 20 %); prompt evaluation and loads are unchanged."""
        if factor <= 0:
            raise ValueError("the eval speed factor must be above 0")
        models = [
            spec.model_copy(update={"tokens_per_second": spec.tokens_per_second * factor})
            for spec in self.models
        ]
        return self.model_copy(update={"models": models})

    def find(self, name: str) -> ModelSpec | None:
        """The model called `name`, accepting a missing `:latest` tag as Ollama does."""
        wanted = normalise_model_name(name)
        for spec in self.models:
            if normalise_model_name(spec.name) == wanted:
                return spec
        return None


def normalise_model_name(name: str) -> str:
    """`llama3.2` -> `llama3.2:latest`; names with a tag are unchanged."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def fast_config() -> EmulatorConfig:
    """A fast server for tests: two chat models and an embedding model, all quick."""
    return EmulatorConfig(
        models=[
            ModelSpec(name="llama3.2:1b"),
            ModelSpec(
                name="qwen2.5:7b",
                family="qwen2",
                parameter_size="7.6B",
                parameter_count=7_615_616_512,
                quantization_level="Q4_K_M",
                size_bytes=6_000_000_000,
                size_vram_bytes=4_000_000_000,
                context_length=32768,
            ),
            ModelSpec(
                name="nomic-embed-text:latest",
                family="nomic-bert",
                parameter_size="137M",
                parameter_count=136_727_040,
                quantization_level="F16",
                size_bytes=280_000_000,
                context_length=2048,
                default_num_ctx=2048,
                embedding_dimensions=16,
            ),
            ModelSpec(name="broken:latest", fail_every_nth=1, error_message="model crashed"),
            ModelSpec(name="flaky:latest", fail_mid_stream_after_tokens=3),
        ]
    )


def llama_cpp_config() -> EmulatorConfig:
    """A fast llama.cpp-like server with one small model loaded."""
    return EmulatorConfig(
        backend="llama.cpp",
        num_parallel=2,
        models=[ModelSpec(name="tiny-llama:latest", default_num_ctx=512, context_length=2048)],
    )


def demo_config() -> EmulatorConfig:
    """The `ollamon demo` server: realistic speeds, a slow model, failures, a partial offload."""
    return EmulatorConfig(
        max_loaded_models=3,
        keep_alive_seconds=60.0,
        models=[
            ModelSpec(
                name="llama3.2:1b",
                tokens_per_second=90.0,
                time_to_first_token_ms=60.0,
                load_time_ms=800.0,
                response_tokens=60,
                size_bytes=2_000_000_000,
            ),
            ModelSpec(
                name="qwen2.5:7b",
                family="qwen2",
                parameter_size="7.6B",
                parameter_count=7_615_616_512,
                quantization_level="Q4_K_M",
                tokens_per_second=35.0,
                time_to_first_token_ms=250.0,
                load_time_ms=2500.0,
                response_tokens=80,
                size_bytes=6_000_000_000,
                context_length=32768,
                fail_every_nth=15,
                error_message="llama runner process has terminated: signal: killed",
            ),
            ModelSpec(
                name="llama3.1:70b",
                parameter_size="70.6B",
                parameter_count=70_553_706_496,
                quantization_level="Q4_K_M",
                tokens_per_second=3.0,
                time_to_first_token_ms=3000.0,
                load_time_ms=6000.0,
                response_tokens=40,
                size_bytes=42_000_000_000,
                size_vram_bytes=22_000_000_000,
                fail_mid_stream_after_tokens=20,
                fail_mid_stream_every_nth=4,
            ),
            ModelSpec(
                name="nomic-embed-text:latest",
                family="nomic-bert",
                parameter_size="137M",
                parameter_count=136_727_040,
                quantization_level="F16",
                size_bytes=280_000_000,
                context_length=2048,
                default_num_ctx=2048,
                load_time_ms=300.0,
                prompt_tokens_per_second=3000.0,
                embedding_dimensions=768,
            ),
        ],
    )


def bench_config() -> EmulatorConfig:
    """No simulated delays: what remains is the emulator's own cost (the proxy bench)."""
    return EmulatorConfig(
        models=[
            ModelSpec(
                name="bench:latest",
                load_time_ms=0,
                time_to_first_token_ms=0,
                tokens_per_second=1e9,
                prompt_tokens_per_second=1e9,
                response_tokens=16,
            )
        ]
    )
