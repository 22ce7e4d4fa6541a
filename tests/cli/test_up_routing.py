"""`ollamon up` refuses a routing file the notifier could not use, before anything starts."""

from __future__ import annotations

from pathlib import Path

from tests.support.stack import run_until_exit


def test_up_with_a_bad_routing_file_is_refused_with_one_line_before_anything_starts(
    tmp_path: Path,
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text("receivers: [{name: ops, kind: webhook}]\n")
    code, output = run_until_exit(
        ("up",),
        tmp_path / "data",
        "http://127.0.0.1:9",
        {"OLLAMON_NOTIFIER_ROUTES_FILE": str(routes)},
    )
    assert code != 0
    assert [line for line in output.splitlines() if line.strip()] == [
        f"ollamon: routing file {routes}: receivers.0: a webhook receiver needs an http(s) url"
    ]
    assert not (tmp_path / "data" / "nats").exists(), "no NATS server was started"
