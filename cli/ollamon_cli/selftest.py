"""`ollamon selftest`: call every endpoint of a running stack, check the answers, keep a report.

The seed's test script, as a function: each check records its method, path, status, time
and what was wrong; the results go to a timestamped JSON file whose path is returned.
Monitoring is left as it was found (stop then start, or start then stop).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

API = "/api/ai/ollama/performance"
REQUEST_TIMEOUT_SECONDS = 30.0
STREAM_WAIT_SECONDS = 5.0
# Keeps every row: cleanup is called for its answer, not to delete anything.
CLEANUP_DAYS_TO_KEEP = 36600

Check = Callable[[httpx.Response], str | None]


@dataclass
class CheckResult:
    """One endpoint call and its verdict."""

    name: str
    method: str
    path: str
    status_code: int | None
    ok: bool
    elapsed_ms: float
    problem: str | None = None


def _expect(status_code: int, *keys: str) -> Check:
    def check(response: httpx.Response) -> str | None:
        if response.status_code != status_code:
            return f"expected {status_code}, got {response.status_code}: {response.text[:300]}"
        if keys:
            body = response.json()
            missing = [key for key in keys if key not in body]
            if missing:
                return f"answer lacks {missing}"
        return None

    return check


class _Runner:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.results: list[CheckResult] = []

    def call(
        self, name: str, method: str, path: str, check: Check, **kwargs: Any
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            self._record(name, method, path, None, started, f"{type(error).__name__}: {error}")
            return None
        try:
            problem = check(response)
        except (ValueError, KeyError, TypeError) as error:
            problem = f"unexpected answer: {error!r}"
        self._record(name, method, path, response.status_code, started, problem)
        return response

    def stream(self, path: str) -> None:
        started = time.perf_counter()
        problem: str | None = "no `: connected` comment"
        status_code: int | None = None
        try:
            with self.client.stream("GET", path, timeout=STREAM_WAIT_SECONDS) as response:
                status_code = response.status_code
                if not response.headers.get("content-type", "").startswith("text/event-stream"):
                    problem = f"content type {response.headers.get('content-type')!r}"
                else:
                    for line in response.iter_lines():
                        if line.startswith(": connected"):
                            problem = None
                            break
        except httpx.HTTPError as error:
            problem = f"{type(error).__name__}: {error}"
        self._record("stream", "GET", path, status_code, started, problem)

    def _record(
        self,
        name: str,
        method: str,
        path: str,
        status_code: int | None,
        started: float,
        problem: str | None,
    ) -> None:
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        self.results.append(
            CheckResult(name, method, path, status_code, problem is None, elapsed_ms, problem)
        )


def _nats_connected(response: httpx.Response) -> str | None:
    problem = _expect(200, "services", "nats", "monitoring")(response)
    if problem is None and not response.json()["nats"]["connected"]:
        return "the gateway is not connected to NATS"
    return problem


def _problem_details(response: httpx.Response) -> str | None:
    if response.status_code != 400:
        return f"bad input answered {response.status_code}, not 400"
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return "bad input answered without problem details"
    return None


def _monitoring(runner: _Runner, headers: dict[str, str]) -> None:
    status = runner.call("status", "GET", f"{API}/status", _nats_connected)
    was_active = bool(status is not None and status.json().get("monitoring", {}).get("active"))
    stop = ("monitoring stop", "POST", f"{API}/monitoring/stop", _expect(200, "active"))
    start = ("monitoring start", "POST", f"{API}/monitoring/start", _expect(200, "active"))
    # Leave monitoring as it was found.
    order = (stop, start) if was_active else (start, stop)
    for name, method, path, check in order:
        body = {"interval": None} if path.endswith("start") else None
        runner.call(name, method, path, check, json=body, headers=headers)


def _storage_reads(runner: _Runner) -> None:
    summary = runner.call(
        "summary", "GET", f"{API}/summary", _expect(200, "models", "monitoring", "gpu_available")
    )
    models = summary.json().get("models", []) if summary and summary.status_code == 200 else []
    if models:
        name = models[0]["model_name"]
        runner.call(
            "model metrics",
            "GET",
            f"{API}/metrics/{name}",
            _expect(200, "summary", "recent"),
        )
    runner.call("system", "GET", f"{API}/system?hours=1", _expect(200, "samples"))
    runner.call("alerts", "GET", f"{API}/alerts?limit=10", _expect(200, "alerts", "active"))
    runner.call("bad input", "GET", f"{API}/system?hours=0", _problem_details)


def run_selftest(base_url: str, out_dir: Path, token: str | None) -> Path:
    """Call every endpoint of the stack at `base_url`; write and return a JSON report.

    Args:
        base_url: The gateway, e.g. `http://127.0.0.1:8000`.
        out_dir: Folder for `selftest-<UTC timestamp>.json` (created if missing).
        token: The API token, when the gateway has `OLLAMON_API_TOKEN` set.

    Returns:
        The path of the report; its `ok` is true only when every check passed.
    """
    started_at = datetime.now(UTC)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=base_url.rstrip("/"), timeout=REQUEST_TIMEOUT_SECONDS) as client:
        runner = _Runner(client)
        runner.call("ollama health", "GET", "/api/ai/ollama/health", _expect(200, "results"))
        _monitoring(runner, headers)
        _storage_reads(runner)
        for export_format in ("json", "csv"):
            runner.call(
                f"export {export_format}",
                "POST",
                f"{API}/export",
                _expect(200, "path", "row_counts"),
                json={"format": export_format},
                headers=headers,
            )
        runner.call(
            "cleanup",
            "POST",
            f"{API}/cleanup",
            _expect(200, "deleted"),
            json={"days_to_keep": CLEANUP_DAYS_TO_KEEP},
            headers=headers,
        )
        runner.stream(f"{API}/stream")
        runner.call("prometheus", "GET", "/metrics", _expect(200))
        runner.call("dashboard", "GET", "/ollama-performance-dashboard", _expect(200))
        runner.call("openapi", "GET", "/schema/openapi.json", _expect(200, "paths"))
    failed = [result for result in runner.results if not result.ok]
    report = {
        "base_url": base_url,
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "ok": not failed,
        "passed": len(runner.results) - len(failed),
        "failed": len(failed),
        "checks": [asdict(result) for result in runner.results],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"selftest-{started_at.strftime('%Y%m%dT%H%M%S%fZ')}.json"
    path.write_text(json.dumps(report, indent=2))
    return path


def failure_lines(report: dict[str, Any]) -> list[str]:
    """One line per failed check of a report: name, call, status and what was wrong."""
    return [
        f"FAIL {check['name']}: {check['method']} {check['path']} -> "
        f"{check['status_code'] if check['status_code'] is not None else 'no answer'}: "
        f"{check['problem']}"
        for check in report["checks"]
        if not check["ok"]
    ]


def summary_line(report: dict[str, Any], path: Path, url_setting: str) -> str:
    """The last line `ollamon selftest` prints: passed and failed counts, where the
    results are, and, when nothing answered at all, which setting names the URL."""
    total = report["passed"] + report["failed"]
    verdict = "ok" if report["ok"] else "FAILED"
    line = (
        f"selftest {verdict}: {report['passed']}/{total} checks passed, "
        f"{report['failed']} failed against {report['base_url']}; results in {path}"
    )
    if total and all(check["status_code"] is None for check in report["checks"]):
        line += f" (nothing answered there: {url_setting})"
    return line
