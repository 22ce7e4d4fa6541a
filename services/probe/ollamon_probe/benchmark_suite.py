"""The benchmark's prompt suite, version `SUITE_VERSION`: what each case sends (pure).

Four cases, each one request:

- `short_chat`: a one-line question, 32 tokens at most (the latency a chat user feels);
- `long_prompt`: a prompt filling about 60 % of `num_ctx` in words (some 75-80 % in the
  tokens of usual tokenizers), 16 tokens at most (prompt evaluation dominates);
- `streamed`: a streamed generation of 128 tokens at most (time to first token, eval rate);
- `embeddings`: four sentences embedded at once (Ollama's `/api/embed`), where the model
  says it embeds (`capabilities` of `/api/show`).

Every request asks temperature 0 and a fixed seed, and (Ollama) the run's `num_ctx`, the
same for every case, so the model is loaded once per run and not again per case. An
OpenAI-compatible server gets the same prompts on `/v1/chat/completions` (no `num_ctx`: its
context is the server's; no embeddings: few such servers embed with their chat model).
Changing a prompt, a limit or a case changes what is measured: bump `SUITE_VERSION`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ollamon_core.events import BenchmarkCase
from ollamon_core.events.benchmarks import SUITE_VERSION

__all__ = ["SUITE_VERSION", "CaseRequest", "case_request", "cases_for", "long_prompt_text"]

SEED = 19
SHORT_CHAT_PROMPT = "In one short sentence, say what a lighthouse is for."
SHORT_CHAT_TOKENS = 32
LONG_PROMPT_TOKENS = 16
LONG_PROMPT_SHARE = 0.6  # words per token of num_ctx
LONG_PROMPT_QUESTION = "Say in one sentence what the text above is about."
STREAMED_PROMPT = "Tell a short story about a keeper of a lighthouse by the sea at night."
STREAMED_TOKENS = 128
EMBEDDING_INPUTS = (
    "The sun is a star.",
    "Rain falls from a cloud.",
    "A river runs to the sea.",
    "The moon lights the road at night.",
)
# Plain words most tokenizers hold whole (and the test tier's tiny model too).
_FILLER_TEXT = (
    "the sun and the moon light the road to the city by the river and the sea is blue "
    "when the wind is slow and the day is green with rain on the hill where the house "
    "and the tree stand in the light of one star at night"
)
_FILLER = _FILLER_TEXT.split()


@dataclass(frozen=True)
class CaseRequest:
    """One request of a case: the path on the server and the JSON body."""

    path: str
    body: dict[str, Any]
    streamed: bool


def long_prompt_text(num_ctx: int) -> str:
    """The long prompt: filler words, about `LONG_PROMPT_SHARE` of `num_ctx`, then the ask."""
    count = max(16, int(num_ctx * LONG_PROMPT_SHARE))
    words = [_FILLER[index % len(_FILLER)] for index in range(count)]
    return " ".join(words) + ". " + LONG_PROMPT_QUESTION


def _prompt(case: BenchmarkCase, num_ctx: int) -> tuple[str, int]:
    match case:
        case BenchmarkCase.SHORT_CHAT:
            return SHORT_CHAT_PROMPT, SHORT_CHAT_TOKENS
        case BenchmarkCase.LONG_PROMPT:
            return long_prompt_text(num_ctx), LONG_PROMPT_TOKENS
        case _:
            return STREAMED_PROMPT, STREAMED_TOKENS


def case_request(case: BenchmarkCase, model: str, num_ctx: int, *, openai: bool) -> CaseRequest:
    """The request of `case` for `model`: Ollama's native API, or the OpenAI-compatible one.

    Raises:
        ValueError: embeddings asked of an OpenAI-compatible server (not in its suite).
    """
    if case is BenchmarkCase.EMBEDDINGS:
        if openai:
            raise ValueError("the suite embeds only on Ollama's /api/embed")
        return CaseRequest(
            "/api/embed", {"model": model, "input": list(EMBEDDING_INPUTS)}, streamed=False
        )
    prompt, limit = _prompt(case, num_ctx)
    streamed = case is BenchmarkCase.STREAMED
    if openai:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": limit,
            "temperature": 0,
            "seed": SEED,
            "stream": streamed,
        }
        if streamed:
            body["stream_options"] = {"include_usage": True}
        return CaseRequest("/v1/chat/completions", body, streamed)
    options = {"num_ctx": num_ctx, "num_predict": limit, "temperature": 0, "seed": SEED}
    if streamed:
        return CaseRequest(
            "/api/generate",
            {"model": model, "prompt": prompt, "stream": True, "options": options},
            streamed,
        )
    return CaseRequest(
        "/api/chat",
        {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": False,
            "options": options,
        },
        streamed,
    )


def cases_for(
    wanted: list[BenchmarkCase], capabilities: list[str] | None, *, openai: bool
) -> list[BenchmarkCase]:
    """The cases to run on one model: those asked (all when none), as far as it can do them.

    An Ollama model that lists capabilities gets the generation cases if it `completion`s
    and `embeddings` if it `embedding`s; one that lists none (an older Ollama) gets the
    generation cases. An OpenAI-compatible server's models get the generation cases.
    """
    asked = wanted or list(BenchmarkCase)
    generation = {case for case in BenchmarkCase if case is not BenchmarkCase.EMBEDDINGS}
    able: set[BenchmarkCase] = set()
    if openai or capabilities is None or "completion" in capabilities:
        able |= generation
    if not openai and capabilities is not None and "embedding" in capabilities:
        able.add(BenchmarkCase.EMBEDDINGS)
    return [case for case in BenchmarkCase if case in asked and case in able]
