"""What alerting keeps of its windows and baselines, as bytes and back (pure)."""

from __future__ import annotations

from ollamon_alerting import snapshots
from ollamon_alerting.baselines import BaselineBook
from ollamon_alerting.windows import RequestSample, RequestWindow
from tests.services.alerting.conftest import FakeClock
from tests.services.alerting.factories import HOST, MODEL, failed_request, request


def test_a_window_comes_back_with_the_same_requests_less_those_that_left_it(
    clock: FakeClock,
) -> None:
    window = RequestWindow(300)
    window.add(RequestSample.from_event(request(response_time_ms=1), clock()))
    clock.advance(200)
    kept = [
        RequestSample.from_event(request(num_ctx=2048, tokens_input=900, queue_wait_ms=5), clock()),
        RequestSample.from_event(failed_request(status_code=503), clock()),
        RequestSample.from_event(request(cancelled=True, status_code=499), clock()),
    ]
    for sample in kept:
        window.add(sample)
    raw = snapshots.window_bytes(HOST, MODEL, snapshots.kept_samples(window))
    host, model_name, restored = snapshots.window_from_bytes(raw, 300, clock.advance(150))
    assert (host, model_name) == (HOST, MODEL)
    assert list(restored.samples) == kept


def test_a_window_keeps_its_newest_requests_only(clock: FakeClock) -> None:
    window = RequestWindow(300)
    for index in range(snapshots.MAX_KEPT_SAMPLES + 10):
        window.add(RequestSample.from_event(request(response_time_ms=index), clock()))
    raw = snapshots.window_bytes(HOST, MODEL, snapshots.kept_samples(window))
    assert len(raw) < 512 * 1024  # far below the server's 1 MiB max_payload
    _, _, restored = snapshots.window_from_bytes(raw, 300, clock())
    assert len(restored.samples) == snapshots.MAX_KEPT_SAMPLES
    assert restored.samples[0].response_time_ms == 10


def test_baselines_come_back_by_digest_with_what_is_still_learning() -> None:
    book = BaselineBook(min_samples=3)
    book.set_digest(HOST, MODEL, "sha-a")
    for rate in (90.0, 91.0, 89.0):
        book.add(HOST, MODEL, rate)
    book.set_digest(HOST, MODEL, "sha-b")
    book.add(HOST, MODEL, 40.0)
    book.add("other-host", MODEL, 10.0)
    raw = snapshots.baseline_bytes(book, HOST, MODEL)
    restored = BaselineBook(min_samples=3)
    snapshots.restore_baselines(restored, raw)
    assert restored.baselines == {(HOST, MODEL, "sha-a"): 90.0}
    assert restored.digest(HOST, MODEL) == "sha-b"
    restored.add(HOST, MODEL, 42.0)
    restored.add(HOST, MODEL, 41.0)
    assert restored.baseline(HOST, MODEL) == 41.0  # sha-b learned from 40 (kept), 42, 41
    assert snapshots.state_key("window.", HOST, MODEL) != snapshots.state_key(
        "window.", "other-host", MODEL
    )
