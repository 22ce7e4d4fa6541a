"""deploy/prometheus/ollamon-rules.yml and deploy/grafana/ollamon.json: current with the code,
every PromQL expression parsed by a parser of Prometheus' grammar (promql-parser), every
metric they name served by `/metrics`, the rules alerting's own with its default thresholds,
the dashboard a model Grafana's SDK reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import promql_parser
import pytest
import yaml
from grafana_foundation_sdk.models.dashboard import Dashboard
from prometheus_client.parser import text_string_to_metric_families

from ollamon_alerting.rules import RULE_SPECS, RuleName, Scale
from ollamon_alerting.settings import AlertingSettings
from ollamon_core.events import Severity
from scripts import observability_files
from scripts.grafana_dashboard import as_json
from scripts.prometheus_rules import (
    ALERTING_ONLY,
    MODEL_RULES,
    bucket,
    default,
    duration,
    per_request,
)
from tests.services.gateway.exposition import full_exposition

# Grafana's interval variables, as Grafana substitutes them before the query is sent.
GRAFANA_INTERVALS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "6h"}


@pytest.fixture(scope="module")
def rule_file() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(observability_files.RULES.read_text())
    return loaded


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(observability_files.DASHBOARD.read_text())
    return loaded


@pytest.fixture(scope="module")
def exposed_names() -> set[str]:
    """Every series name `/metrics` serves, after one event of each kind."""
    return {
        sample.name
        for family in text_string_to_metric_families(full_exposition())
        for sample in family.samples
    }


def alerts(rule_file: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in rule_file["groups"] for rule in group["rules"]]


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    queries = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_INTERVALS.items():
                expr = expr.replace(variable, value)
            queries.append(expr)
    return queries


def metric_names(expr: str) -> set[str]:
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def numbers(expr: str) -> set[float]:
    found: set[float] = set()

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.NumberLiteral):
            found.add(node.val)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def test_the_checked_in_files_are_what_the_script_makes_now() -> None:
    assert observability_files.main(["--check"]) == 0, "run python -m scripts.observability_files"


def test_the_check_sees_a_stale_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "ollamon-rules.yml"
    stale.write_text(observability_files.rules_text().replace("95", "96"))
    monkeypatch.setattr(observability_files, "RULES", stale)
    assert observability_files.main(["--check"]) == 1


def test_every_promql_expression_parses(
    rule_file: dict[str, Any], dashboard: dict[str, Any]
) -> None:
    expressions = [rule["expr"] for rule in alerts(rule_file)] + dashboard_queries(dashboard)
    assert len(expressions) > 40
    for expr in expressions:
        promql_parser.parse(expr)  # raises ValueError with the position of a syntax error


def test_the_parser_refuses_a_broken_expression() -> None:
    with pytest.raises(ValueError):
        promql_parser.parse("sum by (host) (rate(ollamon_requests_total[5m])")


def test_every_metric_named_is_served_by_the_exposition(
    rule_file: dict[str, Any], dashboard: dict[str, Any], exposed_names: set[str]
) -> None:
    used: set[str] = set()
    for expr in [rule["expr"] for rule in alerts(rule_file)] + dashboard_queries(dashboard):
        used |= metric_names(expr)
    for variable in dashboard["templating"]["list"]:
        match = re.match(r"label_values\((\w+)", str(variable.get("query", "")))
        if match:
            used.add(match.group(1))
    assert {"ollamon_host_cpu_usage_ratio", "ollamon_gpu_memory_used_bytes"} <= used
    missing = used - exposed_names
    assert not missing, f"named in deploy/ but not served by /metrics: {sorted(missing)}"


def test_one_prometheus_alert_per_alerting_rule_named_as_ollamon_names_it(
    rule_file: dict[str, Any],
) -> None:
    names = [rule["alert"] for rule in alerts(rule_file)]
    assert names == [rule.value for rule in RULE_SPECS if rule not in ALERTING_ONLY]
    assert {RuleName.PERFORMANCE_ANOMALY} == ALERTING_ONLY  # the only one without a mirror


def test_each_alert_compares_with_alertings_default_threshold_in_the_metrics_unit(
    rule_file: dict[str, Any],
) -> None:
    for rule in alerts(rule_file):
        spec = RULE_SPECS[RuleName(rule["alert"])]
        if spec.setting is None:
            assert numbers(rule["expr"]) == {0.0}  # ollamon_ollama_up == 0
            continue
        threshold = default(spec.setting)
        in_metric_unit = threshold / 1000 if spec.unit == "ms" else threshold
        expr = rule["expr"]
        if spec.name in (RuleName.SLOW_RESPONSE, RuleName.MODEL_LOAD):
            assert f'le="{bucket((in_metric_unit,), in_metric_unit, "")}"' in expr
        elif spec.name is RuleName.CONTEXT_OVERFLOW:
            assert f'le="{threshold / 100}"' in expr
        else:
            assert in_metric_unit in numbers(expr), f"{spec.name}: no {in_metric_unit} in {expr}"
        assert rule["annotations"]["threshold_setting"].endswith(f"={threshold:g}")


def test_each_alert_waits_alertings_pending_time_over_its_window(
    rule_file: dict[str, Any],
) -> None:
    fields = AlertingSettings.model_fields
    window = duration(float(fields["window_seconds"].default))
    for rule in alerts(rule_file):
        assert promql_parser.parse_duration(rule["for"]).total_seconds() == (
            fields["for_seconds"].default
        )
        spec = RULE_SPECS[RuleName(rule["alert"])]
        if spec.scale is Scale.LEAD:  # forecasts: a day (disks) or 30 minutes, as alerting
            assert "[1d]" in rule["expr"] or "[30m]" in rule["expr"], rule["alert"]
        elif "[" in rule["expr"] and spec.name is not RuleName.TELEMETRY_BACKLOG:
            assert f"[{window}]" in rule["expr"], rule["alert"]


def test_alerts_carry_ollamons_labels_and_a_summary(rule_file: dict[str, Any]) -> None:
    for rule in alerts(rule_file):
        assert rule["labels"]["severity"] in {severity.value for severity in Severity}
        summary = rule["annotations"]["summary"]
        assert "{{ $labels.host }}" in summary
        if RuleName(rule["alert"]) in MODEL_RULES:
            assert "{{ $labels.model }}" in summary
    unreachable = next(rule for rule in alerts(rule_file) if rule["alert"] == "ollama_unreachable")
    assert unreachable["labels"]["severity"] == "critical"


def test_a_threshold_that_is_no_bucket_bound_stops_the_generation() -> None:
    with pytest.raises(ValueError, match="no bucket bound"):
        per_request("ollamon_request_duration_seconds", (1.0, 30.0), 45.0, 90.0)


def test_the_dashboard_is_a_model_grafanas_sdk_reads_back_unchanged(
    dashboard: dict[str, Any],
) -> None:
    model = Dashboard.from_json(dashboard)
    again = as_json(model)
    assert again == dashboard


def test_the_dashboard_panels_fit_the_grid_without_overlap(dashboard: dict[str, Any]) -> None:
    taken: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_every_query_uses_the_chosen_data_source_and_the_host_choice(
    dashboard: dict[str, Any],
) -> None:
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert variables == {"datasource", "host", "model"}
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert target["refId"]
            ours = metric_names(target["expr"].replace("$__rate_interval", "5m"))
            if any(name.startswith("ollamon_") for name in ours) and "notifications" not in str(
                ours
            ):
                assert '$host"' in target["expr"] or "ollamon_build_info" in target["expr"], target[
                    "expr"
                ]
