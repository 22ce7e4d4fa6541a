"""Synthetic `BenchmarkRun` events for the storage, gateway and dashboard tests."""

from __future__ import annotations

from datetime import timedelta

from ollamon_core.events import (
    BenchmarkCase,
    BenchmarkCaseResult,
    BenchmarkModelResult,
    BenchmarkRun,
    Interval,
    utc_now,
)


def interval(mean: float, spread: float = 0.02, samples: int = 3) -> Interval:
    """A mean with a symmetric interval of +-`spread` (a fraction of the mean)."""
    return Interval(mean=mean, low=mean * (1 - spread), high=mean * (1 + spread), samples=samples)


def model_result(
    model: str, eval_tps: float, *, ttft_ms: float = 50.0, load_ms: float | None = 800.0
) -> BenchmarkModelResult:
    """One model measured in the streamed and short chat cases."""
    cases = [
        BenchmarkCaseResult(
            case=case,
            eval_tokens_per_second=interval(eval_tps),
            prompt_tokens_per_second=interval(eval_tps * 10),
            ttft_ms=interval(ttft_ms),
            latency_ms=interval(900.0),
        )
        for case in (BenchmarkCase.STREAMED, BenchmarkCase.SHORT_CHAT)
    ]
    return BenchmarkModelResult(
        model=model,
        digest=f"sha256:{model}",
        quantization="Q4_K_M",
        parameter_size="1B",
        size_bytes=2_000_000_000,
        size_vram_bytes=2_000_000_000,
        fits_in_vram=True,
        cold_load_ms=load_ms,
        cases=cases,
    )


def benchmark_run(
    index: int,
    version: str | None,
    *models: BenchmarkModelResult,
    host: str = "gpu-a",
    minutes_ago: float | None = None,
) -> BenchmarkRun:
    """Run `index` (a later index finishes later), on server `version`."""
    finished = utc_now() - timedelta(minutes=60 - index if minutes_ago is None else minutes_ago)
    return BenchmarkRun(
        run_id=f"run-{index}",
        host=host,
        server_version=version,
        gpu_name="Emulated GPU",
        started_at=finished - timedelta(minutes=1),
        finished_at=finished,
        timestamp=finished,
        repetitions=3,
        num_ctx=2048,
        models=list(models),
    )
