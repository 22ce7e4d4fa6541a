"""deploy/grafana/ollamon.json: a Grafana dashboard of the gateway's `/metrics`, built with
Grafana's own SDK (grafana-foundation-sdk) so that its JSON is the dashboard model Grafana
reads. Variables: the Prometheus data source, the hosts and the models (several or all)."""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import common as gc
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    VariableRefresh,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

UID = "ollamon"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
HOSTS = 'host=~"$host"'
MODELS = 'host=~"$host", model=~"$model"'
RATE = "$__rate_interval"


def query(expr: str, legend: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).datasource(DATASOURCE)


def chart(title: str, unit: str, *queries: prometheus.Dataquery, span: int = 12) -> Any:
    panel = (
        timeseries.Panel()
        .title(title)
        .unit(unit)
        .datasource(DATASOURCE)
        .height(8)
        .span(span)
        .legend(
            gc.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.RIGHT)
            .calcs(["lastNotNull", "max"])
        )
        .tooltip(gc.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI))
    )
    for ref, item in zip("ABCDEFGH", queries, strict=False):
        panel = panel.with_target(item.ref_id(ref))
    return panel


def figure(title: str, expr: str, legend: str) -> Any:
    """A stat panel: the latest value of each series."""
    panel = stat.Panel().title(title).datasource(DATASOURCE).height(4).span(6)
    return panel.with_target(query(expr, legend).ref_id("A"))


def quantile(histogram: str, q: float = 0.95) -> str:
    return (
        f"histogram_quantile({q}, sum by (le, host, model) "
        f"(rate({histogram}_bucket{{{MODELS}}}[{RATE}])))"
    )


def request_panels() -> list[Any]:
    requests = f"ollamon_requests_total{{{MODELS}}}"
    errors = f'ollamon_requests_total{{{MODELS}, outcome="error"}}'
    tokens = f"ollamon_generated_tokens_timed_total{{{MODELS}}}"
    seconds = f"ollamon_generation_seconds_total{{{MODELS}}}"
    per_model = "{{model}} on {{host}}"
    return [
        chart(
            "Requests per second",
            "reqps",
            query(
                f"sum by (host, model, outcome) (rate({requests}[{RATE}]))",
                per_model + " {{outcome}}",
            ),
        ),
        chart(
            "Requests in flight",
            "short",
            query(f"sum by (host, model) (ollamon_requests_in_flight{{{MODELS}}})", per_model),
        ),
        chart(
            "Errors (share of requests)",
            "percentunit",
            query(
                f"sum by (host, model) (rate({errors}[{RATE}]))"
                f" / sum by (host, model) (rate({requests}[{RATE}]))",
                per_model,
            ),
        ),
        chart(
            "Response time p95",
            "s",
            query(quantile("ollamon_request_duration_seconds"), per_model),
        ),
        chart(
            "Time to first token p95",
            "s",
            query(quantile("ollamon_time_to_first_token_seconds"), per_model),
        ),
        chart(
            "Tokens per second (generation)",
            "short",
            query(
                f"sum by (host, model) (rate({tokens}[{RATE}]))"
                f" / sum by (host, model) (rate({seconds}[{RATE}]))",
                per_model,
            ),
        ),
        chart(
            "Inter-chunk gap p95",
            "s",
            query(quantile("ollamon_inter_chunk_gap_seconds"), per_model),
        ),
        chart(
            "Backend durations p95: load, prompt eval, eval",
            "s",
            query(quantile("ollamon_model_load_duration_seconds"), "load " + per_model),
            query(quantile("ollamon_prompt_eval_duration_seconds"), "prompt eval " + per_model),
            query(quantile("ollamon_eval_duration_seconds"), "eval " + per_model),
        ),
        chart(
            "Tokens: generated and prompt, per second",
            "short",
            query(
                f"sum by (host, model) (rate(ollamon_tokens_generated_total{{{MODELS}}}[{RATE}]))",
                "generated " + per_model,
            ),
            query(
                f"sum by (host, model) (rate(ollamon_prompt_tokens_total{{{MODELS}}}[{RATE}]))",
                "prompt " + per_model,
            ),
        ),
    ]


def column(expr: str, ref: str) -> prometheus.Dataquery:
    return query(expr, ref).instant().format(PromQueryFormat.TABLE).ref_id(ref)


def loaded_now() -> Any:
    """One row a loaded model: size, VRAM, share on the CPU, seconds until it unloads."""
    size = f"ollamon_model_size_bytes{{{HOSTS}}}"
    vram = f"ollamon_model_vram_bytes{{{HOSTS}}}"
    panel = (
        table.Panel()
        .title("Loaded now")
        .datasource(DATASOURCE)
        .height(8)
        .span(12)
        .unit("bytes")
        .with_target(column(size, "size"))
        .with_target(column(vram, "VRAM"))
        .with_target(column(f"1 - {vram} / {size}", "CPU share"))
        .with_target(
            column(f"ollamon_model_expiry_timestamp_seconds{{{HOSTS}}} - time()", "expires in")
        )
        .with_transformation(DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            DataTransformerConfig(
                id_val="organize", options={"excludeByName": {"Time": True, "__name__": True}}
            )
        )
    )
    for name, unit in (("Value #CPU share", "percentunit"), ("Value #expires in", "s")):
        panel = panel.override_by_name(name, [DynamicConfigValue(id_val="unit", value=unit)])
    return panel


def model_panels() -> list[Any]:
    loaded = f"ollamon_model_loaded{{{HOSTS}}} == 1"
    return [
        loaded_now(),
        chart(
            "Loaded models' VRAM",
            "bytes",
            query(f"ollamon_model_vram_bytes{{{HOSTS}}}", "{{model}} on {{host}}"),
        ),
        figure("Models loaded", f"sum by (host) ({loaded})", "{{host}}"),
        figure("Ollama up", f"ollamon_ollama_up{{{HOSTS}}}", "{{host}} {{url}}"),
        figure(
            "Alerts firing", f"sum by (severity) (ollamon_alerts_firing{{{HOSTS}}})", "{{severity}}"
        ),
        figure("Model score (0-10)", f"ollamon_model_score{{{MODELS}}}", "{{model}} on {{host}}"),
    ]


def host_panels() -> list[Any]:
    per_host = "{{host}}"
    per_gpu = "{{host}} GPU {{gpu}}"
    return [
        chart(
            "CPU and memory in use",
            "percentunit",
            query(f"ollamon_host_cpu_usage_ratio{{{HOSTS}}}", "CPU " + per_host),
            query(f"ollamon_host_memory_usage_ratio{{{HOSTS}}}", "memory " + per_host),
        ),
        chart(
            "GPU utilisation",
            "percentunit",
            query(f"ollamon_gpu_utilization_ratio{{{HOSTS}}}", per_gpu),
        ),
        chart(
            "GPU memory",
            "bytes",
            query(f"ollamon_gpu_memory_used_bytes{{{HOSTS}}}", "used " + per_gpu),
            query(f"ollamon_gpu_memory_total_bytes{{{HOSTS}}}", "total " + per_gpu),
        ),
        chart(
            "GPU temperature",
            "celsius",
            query(f"ollamon_gpu_temperature_celsius{{{HOSTS}}}", per_gpu),
        ),
        chart(
            "GPU power",
            "watt",
            query(f"ollamon_gpu_power_draw_watts{{{HOSTS}}}", "draw " + per_gpu),
            query(f"ollamon_gpu_power_limit_watts{{{HOSTS}}}", "limit " + per_gpu),
        ),
        chart(
            "Load average (1 minute)",
            "short",
            query(f"ollamon_host_load1{{{HOSTS}}}", per_host),
        ),
        chart(
            "Disk in use",
            "percentunit",
            query(f"ollamon_host_disk_usage_ratio{{{HOSTS}}}", per_host + " {{mount}}"),
        ),
        chart(
            "Network",
            "Bps",
            query(f"ollamon_host_network_receive_bytes_per_second{{{HOSTS}}}", "in " + per_host),
            query(f"ollamon_host_network_transmit_bytes_per_second{{{HOSTS}}}", "out " + per_host),
        ),
    ]


def ollamon_panels() -> list[Any]:
    return [
        chart(
            "Telemetry waiting in a disk spool (oldest event's age)",
            "s",
            query(f"ollamon_spool_oldest_age_seconds{{{HOSTS}}}", "{{service}} on {{host}}"),
        ),
        chart(
            "Since each service's last heartbeat",
            "s",
            query(
                f"time() - ollamon_service_heartbeat_timestamp_seconds{{{HOSTS}}}",
                "{{service}} on {{host}}",
            ),
        ),
        chart(
            "Notifications by receiver and outcome",
            "short",
            query(
                f"sum by (receiver, outcome) (increase(ollamon_notifications_total[{RATE}]))",
                "{{receiver}} {{outcome}}",
            ),
        ),
        chart(
            "Gateway process",
            "bytes",
            # the gateway's own process: the target that serves ollamon_build_info
            query(
                "process_resident_memory_bytes and on (instance, job) ollamon_build_info",
                "resident memory {{instance}}",
            ),
        ),
    ]


def variables() -> list[Any]:
    return [
        gd.DatasourceVariable("datasource").label("Data source").type("prometheus"),
        gd.QueryVariable("host")
        .label("Host")
        .datasource(DATASOURCE)
        .query("label_values(ollamon_alerts_firing, host)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .multi(True)
        .include_all(True)
        .all_value(".*"),
        gd.QueryVariable("model")
        .label("Model")
        .datasource(DATASOURCE)
        .query('label_values(ollamon_requests_total{host=~"$host"}, model)')
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .multi(True)
        .include_all(True)
        .all_value(".*"),
    ]


def dashboard() -> dict[str, Any]:
    """The dashboard as Grafana's JSON model."""
    builder = (
        gd.Dashboard("ollamon")
        .uid(UID)
        .description("Local LLM servers seen by ollamon: requests, models, hosts, GPUs, alerts")
        .tags(["ollamon", "ollama", "llm"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .editable()
        .variables(variables())
    )
    for title, panels in (
        ("Requests by model", request_panels()),
        ("Models and Ollama", model_panels()),
        ("Hosts and GPUs", host_panels()),
        ("ollamon", ollamon_panels()),
    ):
        builder = builder.with_row(gd.Row(title))
        for panel in panels:
            builder = builder.with_panel(panel)
    return as_json(builder.build())


def as_json(model: object) -> dict[str, Any]:
    """A model of the SDK as Grafana's JSON."""
    encoded: dict[str, Any] = without_nulls(json.loads(json.dumps(model, cls=JSONEncoder)))
    return encoded


def without_nulls(value: Any) -> Any:
    """The SDK writes unset fields as null (`"options": null`); Grafana takes them absent."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value
