"""Ranking benchmark runs and flagging a server upgrade's change (pure, synthetic runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ollamon_core.events.benchmark_queries import ComparisonMetric
from ollamon_core.events.benchmarks import (
    BenchmarkCase,
    BenchmarkCaseResult,
    BenchmarkModelResult,
    BenchmarkRun,
    Interval,
)
from ollamon_core.insights.benchmark_comparison import (
    beyond_both,
    comparisons,
    headline_case,
    message,
    ranking,
)

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def interval(mean: float, spread: float = 0.02, samples: int = 3) -> Interval:
    """A mean with a symmetric interval of +-`spread` (a fraction of the mean)."""
    return Interval(mean=mean, low=mean * (1 - spread), high=mean * (1 + spread), samples=samples)


def model_result(
    model: str,
    eval_tps: float | None,
    *,
    ttft_ms: float = 50.0,
    load_ms: float | None = 800.0,
    spread: float = 0.02,
    case: BenchmarkCase = BenchmarkCase.STREAMED,
) -> BenchmarkModelResult:
    return BenchmarkModelResult(
        model=model,
        digest=f"sha256:{model}",
        size_vram_bytes=1_000_000,
        fits_in_vram=True,
        cold_load_ms=load_ms,
        cases=[
            BenchmarkCaseResult(
                case=case,
                eval_tokens_per_second=None if eval_tps is None else interval(eval_tps, spread),
                ttft_ms=interval(ttft_ms, spread),
                latency_ms=interval(1000.0, spread),
            )
        ],
    )


def run(
    index: int,
    version: str | None,
    *models: BenchmarkModelResult,
    host: str = "gpu-a",
    suite: str = "1",
) -> BenchmarkRun:
    finished = START + timedelta(hours=index)
    return BenchmarkRun(
        run_id=f"run-{index}",
        host=host,
        server_version=version,
        suite_version=suite,
        started_at=finished - timedelta(minutes=2),
        finished_at=finished,
        repetitions=3,
        num_ctx=2048,
        models=list(models),
    )


def test_the_ranking_keeps_each_models_latest_run_fastest_eval_first() -> None:
    runs = [
        run(0, "0.12.3", model_result("small", 200.0), model_result("big", 40.0)),
        run(1, "0.12.3", model_result("small", 150.0)),  # small's latest: slower now
        run(2, "0.12.3", model_result("mid", 90.0), host="gpu-b"),
        run(3, "0.12.3", model_result("broken", None)),
    ]
    rows = ranking(runs)
    assert [(row.rank, row.model, row.host) for row in rows] == [
        (1, "small", "gpu-a"),
        (2, "mid", "gpu-b"),
        (3, "big", "gpu-a"),
        (4, "broken", "gpu-a"),
    ]
    assert rows[0].run_id == "run-1"
    assert rows[0].eval_tokens_per_second is not None
    assert rows[0].eval_tokens_per_second.mean == 150.0
    assert rows[0].case == BenchmarkCase.STREAMED
    assert rows[0].cold_load_ms == 800.0
    assert rows[0].fits_in_vram is True
    assert rows[3].eval_tokens_per_second is None


def test_the_ranking_of_one_model_lists_it_on_every_host() -> None:
    runs = [
        run(0, "0.12.3", model_result("small", 200.0), model_result("big", 40.0)),
        run(1, "0.12.3", model_result("small", 300.0), host="gpu-b"),
    ]
    assert [(row.model, row.host) for row in ranking(runs, "small")] == [
        ("small", "gpu-b"),
        ("small", "gpu-a"),
    ]


def test_the_headline_case_is_streamed_else_short_chat() -> None:
    chat = model_result("m", 100.0, case=BenchmarkCase.SHORT_CHAT)
    both = chat.model_copy(update={"cases": [*chat.cases, *model_result("m", 120.0).cases]})
    chat_case = headline_case(chat)
    both_case = headline_case(both)
    assert chat_case is not None and chat_case.case == BenchmarkCase.SHORT_CHAT
    assert both_case is not None and both_case.case == BenchmarkCase.STREAMED
    assert headline_case(model_result("m", None)) is None


def test_an_upgrade_that_slows_eval_by_a_fifth_is_flagged() -> None:
    runs = [
        run(0, "0.12.3", model_result("llama3.2:1b", 100.0)),
        run(1, "0.12.6", model_result("llama3.2:1b", 80.0)),
    ]
    found = {item.metric: item for item in comparisons(runs)}
    eval_change = found[ComparisonMetric.EVAL]
    assert eval_change.flagged and eval_change.worse
    assert round(eval_change.change_percent, 6) == -20.0
    assert eval_change.message == "0.12.3 -> 0.12.6: llama3.2:1b eval -20 % on gpu-a"
    assert (eval_change.previous_run_id, eval_change.current_run_id) == ("run-0", "run-1")
    # TTFT and load time did not change: compared, not flagged.
    assert not found[ComparisonMetric.TTFT].flagged
    assert not found[ComparisonMetric.LOAD].flagged
    assert comparisons(runs)[0] == eval_change  # flagged first


def test_the_previous_run_is_the_latest_one_on_another_version() -> None:
    runs = [
        run(0, "0.12.2", model_result("m", 50.0)),
        run(1, "0.12.3", model_result("m", 100.0)),
        run(2, "0.12.6", model_result("m", 110.0)),  # same version as the latest: skipped
        run(3, "0.12.6", model_result("m", 82.0)),
    ]
    (eval_change,) = [item for item in comparisons(runs) if item.metric == ComparisonMetric.EVAL]
    assert eval_change.previous_run_id == "run-1"
    assert eval_change.current_run_id == "run-3"
    assert eval_change.message == "0.12.3 -> 0.12.6: m eval -18 % on gpu-a"


def test_a_change_within_the_intervals_is_not_flagged() -> None:
    runs = [
        run(0, "0.12.3", model_result("m", 100.0, spread=0.15)),
        run(1, "0.12.6", model_result("m", 88.0, spread=0.15)),
    ]
    (eval_change,) = [item for item in comparisons(runs) if item.metric == ComparisonMetric.EVAL]
    assert eval_change.worse and not eval_change.flagged


def test_a_change_below_ten_percent_is_not_flagged_even_with_tight_intervals() -> None:
    runs = [
        run(0, "0.12.3", model_result("m", 100.0, spread=0.001)),
        run(1, "0.12.6", model_result("m", 95.0, spread=0.001)),
    ]
    assert not any(item.flagged for item in comparisons(runs))


def test_a_cold_load_measured_once_is_flagged_from_a_quarter_on() -> None:
    runs = [
        run(0, "0.12.3", model_result("m", 100.0, load_ms=1000.0)),
        run(1, "0.12.6", model_result("m", 100.0, load_ms=1200.0)),
        run(2, "0.12.7", model_result("m", 100.0, load_ms=1500.0)),
    ]
    (first,) = [item for item in comparisons(runs[:2]) if item.metric == ComparisonMetric.LOAD]
    assert round(first.change_percent) == 20 and first.worse and not first.flagged
    (second,) = [item for item in comparisons(runs) if item.metric == ComparisonMetric.LOAD]
    assert round(second.change_percent) == 25 and second.flagged


def test_slower_ttft_and_load_are_worse_and_a_faster_eval_is_flagged_better() -> None:
    runs = [
        run(0, "0.12.3", model_result("m", 100.0, ttft_ms=40.0, load_ms=1000.0)),
        run(1, "0.12.6", model_result("m", 130.0, ttft_ms=60.0, load_ms=1500.0)),
    ]
    found = {item.metric: item for item in comparisons(runs)}
    assert found[ComparisonMetric.EVAL].flagged and not found[ComparisonMetric.EVAL].worse
    assert found[ComparisonMetric.TTFT].flagged and found[ComparisonMetric.TTFT].worse
    assert found[ComparisonMetric.LOAD].flagged and found[ComparisonMetric.LOAD].worse
    assert found[ComparisonMetric.TTFT].message == "0.12.3 -> 0.12.6: m TTFT +50 % on gpu-a"


def test_nothing_is_compared_without_another_version_host_or_suite() -> None:
    same_version = [
        run(0, "0.12.3", model_result("m", 100.0)),
        run(1, "0.12.3", model_result("m", 50.0)),
    ]
    other_host = [
        run(0, "0.12.3", model_result("m", 100.0), host="gpu-b"),
        run(1, "0.12.6", model_result("m", 50.0)),
    ]
    other_suite = [
        run(0, "0.12.3", model_result("m", 100.0), suite="0"),
        run(1, "0.12.6", model_result("m", 50.0)),
    ]
    unknown_version = [
        run(0, None, model_result("m", 100.0)),
        run(1, "0.12.6", model_result("m", 50.0)),
    ]
    for runs in (same_version, other_host, other_suite, unknown_version):
        assert comparisons(runs) == []


def test_each_host_and_model_is_compared_on_its_own() -> None:
    runs = [
        run(0, "0.12.3", model_result("a", 100.0), model_result("b", 100.0)),
        run(1, "0.12.3", model_result("a", 100.0), host="gpu-b"),
        run(2, "0.12.6", model_result("a", 80.0), model_result("b", 100.0)),
        run(3, "0.12.6", model_result("a", 100.0), host="gpu-b"),
    ]
    flagged = [item.message for item in comparisons(runs) if item.flagged]
    assert flagged == ["0.12.3 -> 0.12.6: a eval -20 % on gpu-a"]
    assert {(item.host, item.model) for item in comparisons(runs, "a")} == {
        ("gpu-a", "a"),
        ("gpu-b", "a"),
    }


def test_beyond_both_needs_each_mean_outside_the_other_interval() -> None:
    assert beyond_both(interval(100.0), interval(80.0))
    wide_new = Interval(mean=80.0, low=50.0, high=110.0, samples=3)
    assert not beyond_both(interval(100.0), wide_new)  # the old mean is inside the new one
    assert not beyond_both(Interval(mean=100.0, low=70.0, high=130.0, samples=3), interval(80.0))


def test_the_message_rounds_and_signs_the_change() -> None:
    assert message("a", "b", "m", ComparisonMetric.LOAD, 12.4, "h") == "a -> b: m load +12 % on h"
    assert message(None, "b", "m", ComparisonMetric.EVAL, -18.2, "h") == "? -> b: m eval -18 % on h"
