"""The emulated inference engine: admission, model loading, failures and token timing.

Both wire formats (native `/api/*` and OpenAI `/v1/*`) drive the same engine, as Ollama's
OpenAI layer sits on top of its native handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field

from ollama_emulator.asgi import ApiError
from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollama_emulator.generation import (
    TimingPlan,
    count_tokens,
    generate_tokens,
    plan_timing,
    seeded_random,
)
from ollama_emulator.residency import Residency, keep_alive_seconds

QUEUE_FULL_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"


@dataclass
class Job:
    """One generation request after its options are read."""

    spec: ModelSpec
    prompt: str
    seed: object
    num_predict: int | None
    num_ctx: int | None
    keep_alive: float
    started_ns: int = field(default_factory=time.perf_counter_ns)
    # Time spent waiting while another request loaded a model (Ollama's scheduler queue):
    # part of `load_duration`, as in Ollama, whether or not this request's model loads.
    scheduler_wait_ns: int = 0


@dataclass
class Outcome:
    """What a finished (or failed) generation reports."""

    tokens: list[str]
    timing: TimingPlan
    done_reason: str
    total_ns: int
    error: str | None = None


class MidStreamError(Exception):
    """The model failed after some tokens had been sent."""


class Engine:
    """State shared by every request: residency, admission, per-model counters."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.residency = Residency(config, clock)
        self.stats: Counter[str] = Counter()
        self._request_numbers: Counter[str] = Counter()
        self._slots = asyncio.Semaphore(config.num_parallel)
        self._waiting = 0
        self.processing = 0  # requests holding a slot now
        self._load_lock = asyncio.Lock()

    def resolve(self, name: object) -> ModelSpec:
        """The model a request names, or Ollama's 400/404."""
        if not isinstance(name, str) or not name:
            raise ApiError(400, "model is required")
        spec = self.config.find(name)
        if spec is None:
            raise ApiError(404, f'model "{name}" not found, try pulling it first')
        return spec

    def job(self, spec: ModelSpec, prompt: str, body: dict[str, object]) -> Job:
        """Read options, seed and keep_alive from a request body."""
        options = body.get("options")
        options = options if isinstance(options, dict) else {}
        num_predict = options.get("num_predict")
        num_ctx = options.get("num_ctx")
        try:
            keep_alive = keep_alive_seconds(body.get("keep_alive"), self.config.keep_alive_seconds)
        except ValueError as error:
            raise ApiError(400, str(error)) from error
        return Job(
            spec=spec,
            prompt=prompt,
            seed=options.get("seed", body.get("seed")),
            num_predict=num_predict if isinstance(num_predict, int) and num_predict > 0 else None,
            num_ctx=num_ctx if isinstance(num_ctx, int) and num_ctx > 0 else None,
            keep_alive=keep_alive,
        )

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Hold one of `num_parallel` slots; 503 when too many already wait."""
        if self._slots.locked() and self._waiting >= self.config.max_queue:
            self.stats["rejected"] += 1
            raise ApiError(503, QUEUE_FULL_MESSAGE)
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self.processing += 1
        try:
            yield
        finally:
            self.processing -= 1
            self._slots.release()

    @property
    def waiting(self) -> int:
        """Requests waiting for a slot now."""
        return self._waiting

    def failure_now(self, spec: ModelSpec) -> tuple[str | None, int | None]:
        """Count this request and decide: (error at start, tokens before a mid-stream error)."""
        number = self._request_numbers[spec.name] = self._request_numbers[spec.name] + 1
        if spec.fail_every_nth is not None and number % spec.fail_every_nth == 0:
            return spec.error_message, None
        if spec.failure_rate and seeded_random(spec.name, number).random() < spec.failure_rate:
            return spec.error_message, None
        every = spec.fail_mid_stream_every_nth
        if spec.fail_mid_stream_after_tokens is not None and (every is None or number % every == 0):
            return None, spec.fail_mid_stream_after_tokens
        return None, None

    async def load(self, job: Job) -> bool:
        """Make the model resident, sleeping its load time if it was not; True if loaded now.

        A request that arrives while another one loads a model waits for it, its model
        resident or not (`job.scheduler_wait_ns`).
        """
        waiting_since = time.perf_counter_ns() if self._load_lock.locked() else None
        async with self._load_lock:
            if waiting_since is not None:
                job.scheduler_wait_ns = time.perf_counter_ns() - waiting_since
            loaded_now = self.residency.acquire(job.spec, job.num_ctx)
            if loaded_now:
                self.stats["loads"] += 1
                await asyncio.sleep(job.spec.load_time_ms / 1000)
        return loaded_now

    def plan(self, job: Job, loaded_now: bool) -> tuple[TimingPlan, list[str], str]:
        """Timing, tokens and done_reason of a generation."""
        count = job.spec.response_tokens
        done_reason = "stop"
        if job.num_predict is not None and job.num_predict <= count:
            count, done_reason = job.num_predict, "length"
        timing = plan_timing(
            job.spec, count_tokens(job.prompt), count, loaded_now, job.scheduler_wait_ns
        )
        return timing, generate_tokens(job.spec, job.prompt, job.seed, count), done_reason

    async def run(self, job: Job, outcome_box: list[Outcome]) -> AsyncGenerator[str, None]:
        """Yield tokens at the model's pace; append the Outcome when done.

        Raises ApiError before the first token (start failures) and MidStreamError after.
        """
        error, fail_after = self.failure_now(job.spec)
        loaded_now = await self.load(job)
        timing, tokens, done_reason = self.plan(job, loaded_now)
        await asyncio.sleep(timing.prompt_eval_ns / 1e9)
        if error is not None:
            self.stats["failed"] += 1
            self.residency.release(job.spec, job.keep_alive)
            raise ApiError(500, error)
        interval = timing.token_interval_seconds
        next_at = time.perf_counter()
        for index, token in enumerate(tokens):
            if fail_after is not None and index == fail_after:
                self.stats["failed_mid_stream"] += 1
                self.residency.release(job.spec, job.keep_alive)
                raise MidStreamError(job.spec.error_message)
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            yield token
        self.residency.release(job.spec, job.keep_alive)
        self.stats["completed"] += 1
        self.stats["prompt_tokens"] += timing.prompt_eval_count
        self.stats["tokens_predicted"] += timing.eval_count
        outcome_box.append(
            Outcome(tokens, timing, done_reason, time.perf_counter_ns() - job.started_ns)
        )

    async def embed(self, spec: ModelSpec, texts: list[str], job: Job) -> tuple[TimingPlan, int]:
        """Load, sleep the prompt evaluation of `texts`; the timing and total ns."""
        error, _ = self.failure_now(spec)
        loaded_now = await self.load(job)
        prompt_tokens = sum(count_tokens(text) for text in texts)
        timing = plan_timing(spec, prompt_tokens, 0, loaded_now, job.scheduler_wait_ns)
        await asyncio.sleep(timing.prompt_eval_ns / 1e9)
        self.residency.release(spec, job.keep_alive)
        if error is not None:
            self.stats["failed"] += 1
            raise ApiError(500, error)
        self.stats["completed"] += 1
        return timing, time.perf_counter_ns() - job.started_ns
