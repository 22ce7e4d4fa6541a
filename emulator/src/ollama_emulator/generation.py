"""Deterministic text and embeddings, and the timing plan of one request (pure)."""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

from ollama_emulator.config import ModelSpec

_WORDS = (
    "the quick brown fox jumps over a lazy dog while local models answer questions",
    "about latency tokens memory and the weather in a calm and steady voice",
)
_VOCABULARY = [word for line in _WORDS for word in line.split(" ")]


def count_tokens(text: str) -> int:
    """A stand-in tokenizer: one token per word, at least one."""
    return max(1, len(text.split()))


def seeded_random(*parts: object) -> random.Random:
    """A random generator fixed by `parts` (model, seed, prompt...)."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def generate_tokens(spec: ModelSpec, prompt: str, seed: object, count: int) -> list[str]:
    """`count` tokens (words with a leading space after the first), fixed by seed and prompt."""
    rng = seeded_random(spec.name, seed, prompt)
    words = [rng.choice(_VOCABULARY) for _ in range(count)]
    return [word if index == 0 else f" {word}" for index, word in enumerate(words)]


def embedding(spec: ModelSpec, text: str) -> list[float]:
    """A unit-length vector fixed by the model and the text."""
    rng = seeded_random(spec.name, "embed", text)
    values = [rng.uniform(-1.0, 1.0) for _ in range(spec.embedding_dimensions)]
    norm = math.sqrt(sum(value * value for value in values)) or 1.0
    return [round(value / norm, 6) for value in values]


@dataclass(frozen=True)
class TimingPlan:
    """What one request costs, in nanoseconds, as the emulator will report it."""

    load_ns: int
    prompt_eval_count: int
    prompt_eval_ns: int
    eval_count: int
    eval_ns: int

    @property
    def token_interval_seconds(self) -> float:
        """Seconds between generated tokens."""
        return 0.0 if self.eval_count == 0 else self.eval_ns / self.eval_count / 1e9


def plan_timing(
    spec: ModelSpec, prompt_tokens: int, eval_count: int, loaded: bool, scheduler_wait_ns: int = 0
) -> TimingPlan:
    """The durations of a request: load (its wait for the scheduler, plus the model's load
    time if it had to load), prompt evaluation, generation."""
    prompt_eval_ns = int(
        spec.time_to_first_token_ms * 1e6 + prompt_tokens / spec.prompt_tokens_per_second * 1e9
    )
    return TimingPlan(
        load_ns=scheduler_wait_ns + (int(spec.load_time_ms * 1e6) if loaded else 0),
        prompt_eval_count=prompt_tokens,
        prompt_eval_ns=max(1, prompt_eval_ns),
        eval_count=eval_count,
        eval_ns=int(eval_count / spec.tokens_per_second * 1e9),
    )
