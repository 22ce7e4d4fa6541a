"""The benchmark contract: a run request is bounded, a run and its progress have subjects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ollamon_core import subjects
from ollamon_core.events import (
    BenchmarkCase,
    BenchmarkProgress,
    BenchmarkRequest,
    BenchmarkRun,
    Interval,
    OllamaModelMetrics,
)


def test_an_empty_request_asks_for_every_model_and_case_three_times_at_2048() -> None:
    request = BenchmarkRequest.model_validate_json("{}")
    assert request.models == [] and request.cases == []
    assert (request.repetitions, request.num_ctx, request.force, request.cold) == (
        3,
        2048,
        False,
        True,
    )


@pytest.mark.parametrize(
    "body",
    [
        '{"repetitions": 0}',
        '{"repetitions": 21}',
        '{"repetitions": "3"}',
        '{"repetitions": true}',
        '{"repetitions": 2.5}',
        '{"num_ctx": 255}',
        '{"num_ctx": 131073}',
        '{"models": [""]}',
        '{"models": ["' + "m" * 256 + '"]}',
        '{"models": [' + ",".join(['"m"'] * 51) + "]}",
        '{"cases": ["poetry"]}',
        '{"requested_by": "' + "x" * 65 + '"}',
        '{"unknown": 1}',
    ],
)
def test_a_request_out_of_bounds_is_refused(body: str) -> None:
    with pytest.raises(ValidationError):
        BenchmarkRequest.model_validate_json(body)


def test_an_interval_keeps_its_mean_between_its_bounds() -> None:
    assert Interval(mean=2, low=1, high=3, samples=3).mean == 2
    with pytest.raises(ValidationError):
        Interval(mean=5, low=1, high=3, samples=3)


def test_runs_are_stored_and_progress_is_not() -> None:
    now = datetime.now(UTC)
    run = BenchmarkRun(run_id="r1", started_at=now, finished_at=now, repetitions=3, num_ctx=2048)
    progress = BenchmarkProgress(run_id="r1", step=1, total_steps=4, case=BenchmarkCase.STREAMED)
    assert subjects.subject_for(run) == subjects.BENCHMARK_RUNS
    assert subjects.subject_for(progress) == subjects.BENCHMARK_PROGRESS
    assert subjects.BENCHMARK_RUNS in subjects.STREAM_EVENTS_SUBJECTS
    assert not any(
        subjects.subject_matches(pattern, subjects.BENCHMARK_PROGRESS)
        for pattern in subjects.STREAM_EVENTS_SUBJECTS
    )
    assert subjects.model_for_subject(subjects.BENCHMARK_RUNS) is BenchmarkRun


def test_a_request_event_says_which_benchmark_run_it_belongs_to() -> None:
    event = OllamaModelMetrics(model_name="m", response_time_ms=1, benchmark_run_id="r1")
    assert event.benchmark_run_id == "r1"
    assert OllamaModelMetrics(model_name="m", response_time_ms=1).benchmark_run_id is None
