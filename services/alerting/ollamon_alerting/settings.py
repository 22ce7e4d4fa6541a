"""Settings of alerting, read from `OLLAMON_ALERT_*` variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ollamon_core.events.limits import MAX_PERCENT, MAX_THRESHOLD_MS
from ollamon_core.settings import ServiceSettings

MAX_FORECAST_HOURS = 8760.0  # a year: lead times past it say nothing


class AlertingSettings(ServiceSettings):
    """Settings of alerting: thresholds of the specification and lifecycle timing.

    A threshold's field name is also the name a threshold update may use for its rule, and
    its bounds are the ones a threshold update must keep to (`rules.check_threshold`).
    """

    model_config = SettingsConfigDict(env_prefix="OLLAMON_ALERT_")

    response_time_ms: float = Field(
        default=30000.0, gt=0, le=MAX_THRESHOLD_MS, description="Slow-response threshold (ms)"
    )
    model_load_time_ms: float = Field(
        default=60000.0,
        gt=0,
        le=MAX_THRESHOLD_MS,
        description="Model-load threshold: a request's load_duration (ms)",
    )
    context_length_utilization: float = Field(
        default=90.0,
        gt=0,
        le=MAX_PERCENT,
        description="Context-overflow threshold: percent of num_ctx a request used",
    )
    error_rate_percent: float = Field(
        default=10.0,
        gt=0,
        le=MAX_PERCENT,
        description="Low-success-rate threshold: percent of failed requests in the window",
    )
    memory_usage_percent: float = Field(
        default=95.0,
        gt=0,
        le=MAX_PERCENT,
        description="High-memory threshold (percent of host memory used)",
    )
    cpu_usage_percent: float = Field(
        default=98.0, gt=0, le=MAX_PERCENT, description="High-CPU threshold (percent)"
    )
    gpu_usage_percent: float = Field(
        default=95.0, gt=0, le=MAX_PERCENT, description="High-GPU threshold (percent utilisation)"
    )
    gpu_memory_percent: float = Field(
        default=95.0,
        gt=0,
        le=MAX_PERCENT,
        description="VRAM-full threshold: percent of a GPU's memory in use (fires at or above)",
    )
    disk_usage_percent: float = Field(
        default=90.0,
        gt=0,
        le=MAX_PERCENT,
        description="Disk-space threshold (percent of the disk used)",
    )
    time_to_first_token_p95_ms: float = Field(
        default=10000.0,
        gt=0,
        le=MAX_THRESHOLD_MS,
        validation_alias="OLLAMON_ALERT_TTFT_P95_MS",
        description="Time-to-first-token threshold: p95 over the window (ms)",
    )
    tokens_per_second_drop_percent: float = Field(
        default=30.0,
        gt=0,
        le=MAX_PERCENT,
        description="Tokens/s regression threshold: percent below the model's own baseline",
    )
    cpu_offload_percent: float = Field(
        default=0.0,
        ge=0,
        lt=MAX_PERCENT,
        description="Partial-offload threshold: percent of a loaded model outside VRAM",
    )
    telemetry_backlog_seconds: float = Field(
        default=60.0,
        gt=0,
        le=MAX_THRESHOLD_MS / 1000,
        description="Telemetry-backlog threshold: age (s) of the oldest event waiting in a "
        "service's disk spool, from its heartbeats (NATS not acknowledging its events)",
    )
    proxy_bypassed_percent: float = Field(
        default=0.0,
        ge=0,
        lt=MAX_PERCENT,
        description="Proxy-bypass threshold: percent of a host's requests in the window that "
        "only Ollama's server log saw (the probe follows it: OLLAMON_OLLAMA_LOG_PATH); "
        "the alert names the client addresses",
    )
    disk_full_forecast_hours: float = Field(
        default=168.0,
        gt=0,
        le=MAX_FORECAST_HOURS,
        description="Disk-full forecast: fires when a filesystem (root's, storage's, Ollama's "
        "models') will be full within this many hours at its rate over the last day "
        "(critical within a sixth)",
    )
    memory_pressure_forecast_minutes: float = Field(
        default=60.0,
        gt=0,
        le=MAX_FORECAST_HOURS * 60,
        description="Memory forecast: fires when host memory will be full within this many "
        "minutes at its rate over the last 30 minutes (critical within a sixth)",
    )
    vram_pressure_forecast_minutes: float = Field(
        default=60.0,
        gt=0,
        le=MAX_FORECAST_HOURS * 60,
        description="VRAM forecast: fires when a GPU's memory will be full within this many "
        "minutes at its rate over the last 30 minutes (critical within a sixth)",
    )
    anomaly_deviations: float = Field(
        default=4.0,
        gt=0,
        le=100,
        description="Performance-anomaly threshold: robust standard deviations (MAD x 1.4826 "
        "of the logarithm) beyond a model's own median latency, TTFT or tokens/s, by hour of "
        "day once learned, on k of the last n requests (OLLAMON_ALERT_REQUEST_RULE_*)",
    )
    anomaly_min_samples: int = Field(
        default=30,
        ge=5,
        le=128,
        description="Performance anomalies: requests a (host, model, digest) baseline learns "
        "before it judges (its hour of day takes over at 20)",
    )
    anomaly_learn_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Performance anomalies: the baseline learns at most one request per metric "
        "this often (a sample that covers hours at any request rate)",
    )
    anomaly_spread_floor_percent: float = Field(
        default=5.0,
        gt=0,
        le=MAX_PERCENT,
        description="Performance anomalies: the least spread a baseline assumes (percent), so a "
        "very steady model does not call a small change an anomaly",
    )
    window_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Sliding window of the success-rate, TTFT p95, tokens/s rules and scores",
    )
    min_requests: int = Field(
        default=10,
        ge=1,
        description="Requests a window needs before its success-rate, TTFT and tokens/s rules act",
    )
    request_rule_breaches: int = Field(
        default=3,
        ge=1,
        description="Per-request rules (slow_response, model_load, context_overflow): how many "
        "of the last OLLAMON_ALERT_REQUEST_RULE_REQUESTS requests in the window must be over "
        "the threshold (k of n) before the alert is pending",
    )
    request_rule_requests: int = Field(
        default=10,
        ge=1,
        description="Per-request rules: the last requests (n, within the window) the k of n "
        "counts over",
    )
    severe_breach_factor: float = Field(
        default=2.0,
        gt=0,
        description="Per-request rules: one request over threshold x this (a millisecond rule) "
        "or over 100 % of its context fires at once (1 or less: every breach does)",
    )
    baseline_min_samples: int = Field(
        default=20,
        ge=1,
        description="Requests that set a model's tokens/s baseline (median) on a host",
    )
    for_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long a condition must hold (pending) before the alert fires",
    )
    resolve_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long a firing alert must stay below its resolve level before resolving",
    )
    hysteresis_percent: float = Field(
        default=10.0,
        ge=0,
        lt=100,
        description="Resolve level: a value must fall to threshold x (1 - this/100) or below",
    )
    repeat_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between repeat notifications of a still-firing alert",
    )
    stale_seconds: float = Field(
        default=600.0,
        gt=0,
        description="A condition with no new data for this long counts as cleared",
    )
    state_save_interval_seconds: float = Field(
        default=15.0,
        gt=0,
        description="Seconds between writes of the request windows and tokens/s baselines to "
        "the state bucket (also written at shutdown), restored at start",
    )
    evaluation_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        validation_alias="OLLAMON_ALERT_EVALUATION_INTERVAL",
        description="Seconds between evaluations of pending, resolving and windowed alerts",
    )
    score_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias="OLLAMON_ALERT_SCORE_INTERVAL",
        description="Seconds between ModelScore publications",
    )
