"""Build the `OllamaModelMetrics` event of one exchange (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from ollamon_core.events import UNKNOWN_MODEL, OllamaModelMetrics, TokenSource
from ollamon_core.events.limits import MAX_MODEL_NAME_CHARS
from ollamon_core.redaction import redact_url
from ollamon_core.stats import mean, percentile
from ollamon_probe.exchange import CANCELLED_STATUS, Exchange
from ollamon_probe.reply_parsing import ReplyFacts, ns_to_ms, parse_reply, rate_per_second
from ollamon_probe.request_fields import RequestFacts, request_facts
from ollamon_probe.residency import Residency

MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class Origin:
    """Where the exchange went: the Ollama URL (the real one: a key of the residency book)
    and its host label."""

    ollama_url: str
    host: str

    @property
    def shown_url(self) -> str:
        """The URL as events show it: no userinfo, no secret parameter values."""
        return redact_url(self.ollama_url)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def _error(exchange: Exchange, reply: ReplyFacts) -> str | None:
    if exchange.cancelled:
        return None
    if exchange.transport_error is not None:
        return exchange.transport_error
    if reply.error_message is not None:
        return reply.error_message
    if exchange.status_code >= 400:
        return reply.unparsed_text or f"HTTP {exchange.status_code}"
    return None


def _openai_rate(exchange: Exchange, tokens: int | None) -> float | None:
    # Ollama's /v1 replies carry no timings: measure generation from the proxy's clock.
    if not tokens or exchange.finished_at is None:
        return None
    begin = exchange.first_chunk_at if exchange.streamed else exchange.started_at
    seconds = exchange.finished_at - (begin or exchange.started_at)
    return tokens / seconds if seconds > 0 else None


@dataclass(frozen=True)
class Generated:
    """The generated tokens of an exchange, where the count came from, and tokens/s."""

    tokens: int
    source: TokenSource | None
    per_second: float | None


def generated_tokens(exchange: Exchange, reply: ReplyFacts) -> Generated:
    """The reply's own count (`usage`, or the server's final statistics), else the deltas
    the proxy counted in a stream. Tokens/s: the server's own generation time where it gave
    one (Ollama's `eval_duration`, llama.cpp's `timings`), else the proxy's clock from the
    first chunk (the whole exchange when not streamed) to the last."""
    if reply.eval_count is not None:
        tokens, source = reply.eval_count, reply.token_source
    elif exchange.streamed and exchange.deltas.tokens:
        tokens, source = exchange.deltas.tokens, TokenSource.COUNTED
    else:
        return Generated(0, None, None)
    if reply.eval_duration_ns:
        rate = rate_per_second(tokens, reply.eval_duration_ns)
    elif exchange.openai or source == TokenSource.COUNTED:
        rate = _openai_rate(exchange, tokens)
    else:
        rate = None
    return Generated(tokens, source, rate)


def context_in_effect(request: RequestFacts, residency: Residency | None) -> int | None:
    """The context window of the request: its num_ctx, else the loaded model's."""
    if request.num_ctx:
        return request.num_ctx
    loaded = residency.get(request.model_name) if residency is not None else None
    return loaded.context_length if loaded is not None else None


@dataclass(frozen=True)
class LoadSplit:
    """`load_duration` split by residency: queue wait when the model was resident, else load."""

    cold_start: bool | None
    queue_wait_ms: float | None
    cold_load_ms: float | None


def split_load(
    model_name: str, load_duration_ms: float | None, residency_before: Residency | None
) -> LoadSplit:
    """Ollama's `load_duration` runs from the request's arrival until its model is ready,
    so it holds the wait for the scheduler as well as a load. A model that `/api/ps` listed
    when the request started did not load: its `load_duration` is queue wait. A model that
    was not listed is a cold start: the time is the load (with any wait before it). Neither
    is known before the first poll or without a model name; neither is said of a reply
    without `load_duration` (OpenAI-style replies carry no timings)."""
    if residency_before is None or not model_name:
        return LoadSplit(None, None, None)
    if residency_before.is_loaded(model_name):
        return LoadSplit(False, load_duration_ms, None)
    return LoadSplit(True, None, load_duration_ms)


def memory_usage_mb(model_name: str, *views: Residency | None) -> float | None:
    """The model's memory on the GPU (`size_vram` of `/api/ps`) in MB, from the first view
    that lists it with a size (a cold start is listed only by a poll after its load)."""
    for view in views:
        loaded = view.get(model_name) if view is not None and model_name else None
        if loaded is not None and loaded.size_bytes:
            return round(loaded.size_vram_bytes / 1e6, 3)
    return None


def build_event(
    exchange: Exchange,
    origin: Origin,
    residency_before: Residency | None,
    residency_now: Residency | None = None,
    gpu_utilization_percent: float | None = None,
) -> OllamaModelMetrics:
    """The event of a finished exchange; `residency_before` is what was loaded at its start,
    `residency_now` what is loaded at its end, `gpu_utilization_percent` the host's GPU
    utilisation in the collector's latest sample (None when there is none, or it is stale).

    A body that named no readable model (it never completed, or was not JSON) gives the
    model `UNKNOWN_MODEL` with `model_unknown` set, never a blank name.
    """
    request = request_facts(exchange.body)
    reply = parse_reply(
        exchange.reply.final_lines(), exchange.reply.truncated, exchange.openai, exchange.sse
    )
    error = _error(exchange, reply)
    generated = generated_tokens(exchange, reply)
    tokens_in, tokens_out = reply.prompt_eval_count or 0, generated.tokens
    context = context_in_effect(request, residency_before)
    used = tokens_in + tokens_out
    gaps = exchange.gaps_seconds
    finished = exchange.finished_at or exchange.started_at
    loaded = residency_before.get(request.model_name) if residency_before is not None else None
    load_ms = ns_to_ms(reply.load_duration_ns)
    split = split_load(
        request.model_name,
        None if reply.load_duration_ns is None else load_ms,
        residency_before,
    )
    token_gaps = exchange.deltas.gaps_seconds
    return OllamaModelMetrics(
        host=origin.host,
        ollama_url=origin.shown_url,
        model_name=request.model_name[:MAX_MODEL_NAME_CHARS] or UNKNOWN_MODEL,
        model_unknown=not request.model_name,
        endpoint=exchange.endpoint,
        method=exchange.method,
        status_code=CANCELLED_STATUS if exchange.cancelled else exchange.status_code,
        streamed=exchange.streamed,
        cancelled=exchange.cancelled,
        response_time_ms=round((finished - exchange.started_at) * 1000.0, 3),
        time_to_first_token_ms=(
            _ms(exchange.first_chunk_at - exchange.started_at)
            if exchange.streamed and exchange.first_chunk_at is not None
            else None
        ),
        chunk_count=exchange.chunk_count,
        inter_chunk_gap_mean_ms=_ms(mean(gaps)),
        inter_chunk_gap_p95_ms=_ms(percentile(gaps, 0.95)),
        inter_chunk_gap_max_ms=_ms(max(gaps) if gaps else None),
        token_source=generated.source,
        inter_token_gap_mean_ms=_ms(mean(token_gaps)),
        inter_token_gap_p95_ms=_ms(percentile(token_gaps, 0.95)),
        inter_token_gap_max_ms=_ms(max(token_gaps) if token_gaps else None),
        tokens_input=tokens_in,
        tokens_generated=tokens_out,
        load_duration_ms=load_ms,
        prompt_eval_duration_ms=ns_to_ms(reply.prompt_eval_duration_ns),
        eval_duration_ms=ns_to_ms(reply.eval_duration_ns),
        total_duration_ms=ns_to_ms(reply.total_duration_ns),
        tokens_per_second=generated.per_second,
        prompt_tokens_per_second=rate_per_second(
            reply.prompt_eval_count, reply.prompt_eval_duration_ns
        ),
        done_reason=reply.done_reason,
        temperature=request.temperature,
        top_p=request.top_p,
        num_ctx=request.num_ctx,
        context_length=context,
        context_utilization_percent=(
            round(used / context * 100.0, 3) if context and used and error is None else None
        ),
        model_size_gb=loaded.size_bytes / 1e9 if loaded is not None and loaded.size_bytes else None,
        cold_start=split.cold_start,
        queue_wait_ms=split.queue_wait_ms,
        cold_load_ms=split.cold_load_ms,
        memory_usage_mb=memory_usage_mb(request.model_name, residency_before, residency_now),
        gpu_utilization_percent=gpu_utilization_percent,
        error_occurred=error is not None,
        error_message=error[:MAX_ERROR_CHARS] if error is not None else None,
        request_bytes=exchange.body.size,
        response_bytes=exchange.response_bytes,
        benchmark_run_id=exchange.benchmark_run_id,
    )
