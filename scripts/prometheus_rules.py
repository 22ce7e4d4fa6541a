"""deploy/prometheus/ollamon-rules.yml: ollamon's alert rules as Prometheus alerting rules.

One alert per rule of alerting (`RULE_SPECS`), on the gateway's `/metrics`, with the default
thresholds and timings of `AlertingSettings`, so that a team that alerts from Prometheus gets
the same conditions. Each alert is named as ollamon's own (`alertname` `slow_response`, ...,
with `severity`, `host` and `model` labels as in ollamon's webhooks), so Alertmanager routes
and silences written for one match the other; `source: prometheus` tells them apart. Where
Prometheus sees less than alerting does, the alert comes as close as it can:

- per-request rules (slow response, model load, context): alerting fires on k of the last n
  requests over the threshold, or one over threshold x the severe factor at once; here, the
  share of the window's requests over the threshold is at least k/n, or one request in the
  window passed the severe bound. Both bounds must be histogram buckets (checked here).
- tokens/s regression: alerting's baseline is a model's median over its first requests on
  a host; here, the model's mean over the last day.
- performance anomalies (`performance_anomaly`) are not mirrored: alerting judges each request
  against a median/MAD of the model's own recent requests by hour of day (decision 0020),
  state PromQL does not keep; `tokens_per_second_regression` is the nearest rule here.
- severity: alerting grades how far past the threshold a value is (low to critical); here
  each alert carries the grade at the threshold (`low`; Ollama unreachable `critical`).
- forecasts (disk, memory, VRAM full within the lead time): `predict_linear` over the same
  window as alerting (a day for disks, 30 minutes for memory and VRAM), full at a ratio of 1;
  alerting also waits for an hour (5 minutes) of history, restarts the line after a cleanup
  and needs the slope's 95 % interval above zero, which Prometheus cannot say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client.utils import floatToGoString

from ollamon_alerting.rules import PER_REQUEST_RULES, RULE_SPECS, RuleName, RuleSpec, Scale
from ollamon_alerting.settings import AlertingSettings
from ollamon_alerting.severity import severity_for
from ollamon_gateway import exporter

BY_MODEL = "sum by (host, model)"
# Rules of alerting that Prometheus cannot express (see the module's docstring).
ALERTING_ONLY = frozenset({RuleName.PERFORMANCE_ANOMALY})
# Rules about a model on a host (the others are about a host).
MODEL_RULES = {
    *PER_REQUEST_RULES,
    RuleName.LOW_SUCCESS_RATE,
    RuleName.PARTIAL_OFFLOAD,
    RuleName.TTFT_P95,
    RuleName.TOKENS_PER_SECOND_REGRESSION,
}


def default(setting: str) -> float:
    """A setting's default (never the environment of whoever runs this)."""
    return float(AlertingSettings.model_fields[setting].default)


def duration(seconds: float) -> str:
    """A Prometheus duration: whole minutes as `5m`, else seconds."""
    whole = round(seconds)
    return f"{whole // 60}m" if whole % 60 == 0 and whole else f"{whole}s"


def number(value: float) -> str:
    return f"{value:g}"


def bucket(buckets: tuple[float, ...], bound: float, what: str) -> str:
    """The `le` label of a bucket bound, which must exist for the rule to count against it."""
    if bound not in buckets:
        raise ValueError(f"{what}: {bound:g} is no bucket bound of {buckets}: add it")
    return floatToGoString(bound)


@dataclass(frozen=True)
class Window:
    """The timings the rules share, from alerting's defaults."""

    range: str = duration(default("window_seconds"))
    for_: str = duration(default("for_seconds"))
    min_requests: int = int(AlertingSettings.model_fields["min_requests"].default)
    breaches: int = int(AlertingSettings.model_fields["request_rule_breaches"].default)
    requests: int = int(AlertingSettings.model_fields["request_rule_requests"].default)
    severe: float = default("severe_breach_factor")


def per_request(histogram: str, buckets: tuple[float, ...], bound: float, severe: float) -> str:
    """At least k of n of the window's requests over `bound`, or one over `severe`."""
    w = Window()
    total = f"{BY_MODEL} (increase({histogram}_count[{w.range}]))"

    def over(limit: float) -> str:
        le = bucket(buckets, limit, histogram)
        return f'{total} - {BY_MODEL} (increase({histogram}_bucket{{le="{le}"}}[{w.range}]))'

    share = number(w.breaches / w.requests)
    return f"({over(bound)}) / {total} >= {share}\nor\n({over(severe)}) / {total} > 0"


def enough_requests() -> str:
    w = Window()
    return f"{BY_MODEL} (increase(ollamon_requests_total[{w.range}])) >= {w.min_requests}"


def tokens_per_second(window: str) -> str:
    return (
        f"{BY_MODEL} (rate(ollamon_generated_tokens_timed_total[{window}]))"
        f" / {BY_MODEL} (rate(ollamon_generation_seconds_total[{window}]))"
    )


def expression(rule: RuleName, threshold: float) -> str:
    """The PromQL of one rule at its threshold (in the setting's own unit)."""
    if rule in MODEL_RULES:
        return model_expression(rule, threshold)
    if RULE_SPECS[rule].scale is Scale.LEAD:
        return forecast_expression(rule, threshold)
    match rule:
        case RuleName.HIGH_MEMORY:
            return f"100 * ollamon_host_memory_usage_ratio > {number(threshold)}"
        case RuleName.HIGH_CPU:
            return f"100 * ollamon_host_cpu_usage_ratio > {number(threshold)}"
        case RuleName.HIGH_GPU:
            return f"100 * max by (host) (ollamon_gpu_utilization_ratio) > {number(threshold)}"
        case RuleName.VRAM_FULL:
            used = "ollamon_gpu_memory_used_bytes / ollamon_gpu_memory_total_bytes"
            return f"100 * max by (host) ({used}) >= {number(threshold)}"
        case RuleName.DISK_SPACE:
            return f"100 * max by (host) (ollamon_host_disk_usage_ratio) > {number(threshold)}"
        case RuleName.OLLAMA_UNREACHABLE:
            return "ollamon_ollama_up == 0"
        case RuleName.TELEMETRY_BACKLOG:
            return f"max by (host) (ollamon_spool_oldest_age_seconds) > {number(threshold)}"
        case RuleName.PROXY_BYPASSED:
            window = Window().range
            bypassed = f'sum by (host) (increase(ollamon_requests_total{{source="log"}}[{window}]))'
            every = f"sum by (host) (increase(ollamon_requests_total[{window}]))"
            return f"100 * {bypassed} / {every} > {number(threshold)}"
    raise ValueError(f"no Prometheus rule for {rule}")


def forecast_expression(rule: RuleName, threshold: float) -> str:
    """A forecast rule: full (a ratio of 1) within the lead time at the window's rate."""
    match rule:
        case RuleName.DISK_FULL_FORECAST:
            ahead = f"{number(threshold)} * 3600"
            return (
                f"max by (host) (predict_linear(ollamon_host_disk_usage_ratio[1d], {ahead})) >= 1"
            )
        case RuleName.MEMORY_PRESSURE_FORECAST:
            ahead = f"{number(threshold)} * 60"
            return (
                "max by (host) (predict_linear(ollamon_host_memory_usage_ratio[30m], "
                f"{ahead})) >= 1"
            )
        case RuleName.VRAM_PRESSURE_FORECAST:
            ahead = f"{number(threshold)} * 60"
            used = f"predict_linear(ollamon_gpu_memory_used_bytes[30m], {ahead})"
            return f"max by (host) ({used} / ollamon_gpu_memory_total_bytes) >= 1"
    raise ValueError(f"no Prometheus rule for {rule}")


def model_expression(rule: RuleName, threshold: float) -> str:
    """The rules about a model on a host."""
    w = Window()
    seconds = threshold / 1000  # the millisecond settings
    match rule:
        case RuleName.SLOW_RESPONSE:
            return per_request(
                "ollamon_request_duration_seconds",
                exporter.LATENCY_BUCKETS_SECONDS,
                seconds,
                seconds * w.severe,
            )
        case RuleName.MODEL_LOAD:
            return per_request(
                "ollamon_model_load_duration_seconds",
                exporter.LOAD_BUCKETS_SECONDS,
                seconds,
                seconds * w.severe,
            )
        case RuleName.CONTEXT_OVERFLOW:
            return per_request(
                "ollamon_context_usage_ratio", exporter.CONTEXT_BUCKETS_RATIO, threshold / 100, 1.0
            )
        case RuleName.LOW_SUCCESS_RATE:
            errors = f'{BY_MODEL} (increase(ollamon_requests_total{{outcome="error"}}[{w.range}]))'
            total = f"{BY_MODEL} (increase(ollamon_requests_total[{w.range}]))"
            return f"100 * {errors} / {total} > {number(threshold)}\nand\n{enough_requests()}"
        case RuleName.PARTIAL_OFFLOAD:
            share = "1 - ollamon_model_vram_bytes / ollamon_model_size_bytes"
            return f"100 * ({share}) > {number(threshold)}"
        case RuleName.TTFT_P95:
            buckets = f"rate(ollamon_time_to_first_token_seconds_bucket[{w.range}])"
            count = f"increase(ollamon_time_to_first_token_seconds_count[{w.range}])"
            return (
                f"histogram_quantile(0.95, sum by (le, host, model) ({buckets}))"
                f" > {number(seconds)}\nand\n{BY_MODEL} ({count}) >= {w.min_requests}"
            )
        case RuleName.TOKENS_PER_SECOND_REGRESSION:
            now, baseline = tokens_per_second(w.range), tokens_per_second("1d")
            return (
                f"100 * (1 - ({now}) / ({baseline})) > {number(threshold)}"
                f"\nand\n{enough_requests()}"
            )
    raise ValueError(f"no Prometheus rule for {rule}")


def description(spec: RuleSpec, threshold: float) -> str:
    """What `$value` is, in the expression's unit, and the threshold it passed."""
    w = Window()
    if spec.name in PER_REQUEST_RULES:
        if spec.name is RuleName.CONTEXT_OVERFLOW:
            bound, severe = f"{number(threshold)} % of the context", "over 100 %"
        else:
            bound = f"{number(threshold / 1000)} s"
            severe = f"over {number(threshold / 1000 * w.severe)} s"
        return (
            f"{{{{ $value | humanizePercentage }}}} of the requests in {w.range} over {bound} "
            f"(ollamon: {w.breaches} of the last {w.requests}, or one {severe})"
        )
    if spec.scale is Scale.BINARY:
        return "Ollama at {{ $labels.url }} did not answer its last poll"
    if spec.scale is Scale.LEAD:
        return (
            f"{{{{ $value | humanizePercentage }}}} in use {number(threshold)} {spec.unit} from "
            "now at the current rate (full at 100 %)"
        )
    if spec.name in (RuleName.TTFT_P95, RuleName.TELEMETRY_BACKLOG):
        shown = threshold / 1000 if spec.unit == "ms" else threshold
        return f"{{{{ $value | humanizeDuration }}}} (threshold {number(shown)} s)"
    return f'{{{{ $value | printf "%.1f" }}}} {spec.unit} (threshold {number(threshold)})'


def env_name(spec: RuleSpec) -> str | None:
    if spec.setting is None:
        return None
    alias = AlertingSettings.model_fields[spec.setting].validation_alias
    return alias if isinstance(alias, str) else f"OLLAMON_ALERT_{spec.setting.upper()}"


def alert(spec: RuleSpec) -> dict[str, Any]:
    """One Prometheus alerting rule."""
    threshold = 0.5 if spec.setting is None else default(spec.setting)
    grade = severity_for(spec.scale, threshold + 1e-9, threshold)
    on_model = spec.name in MODEL_RULES
    where = "{{ $labels.model }} on {{ $labels.host }}" if on_model else "{{ $labels.host }}"
    setting = env_name(spec)
    annotations = {
        "summary": f"{spec.title[0].upper()}{spec.title[1:]}: {where}",
        "description": description(spec, threshold),
    }
    if setting is not None:
        annotations["threshold_setting"] = f"{setting}={number(threshold)}"
    return {
        "alert": spec.name.value,
        "expr": expression(spec.name, threshold) + "\n",
        "for": Window().for_,
        "labels": {"severity": grade.value, "source": "prometheus"},
        "annotations": annotations,
    }


def rules() -> dict[str, Any]:
    """The rule file: one group of every rule, in alerting's order."""
    return {
        "groups": [
            {
                "name": "ollamon",
                "rules": [
                    alert(spec) for spec in RULE_SPECS.values() if spec.name not in ALERTING_ONLY
                ],
            }
        ]
    }
