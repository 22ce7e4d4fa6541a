"""schemathesis over the published OpenAPI against a live gateway: no 5xx, ever."""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from pathlib import Path

import pytest

from ollamon_alerting.service import AlertingService
from ollamon_gateway.server import AppServer
from tests.services.gateway.stubs import Responder

FUZZ_TIMEOUT_SECONDS = 300


@pytest.fixture
def schemathesis() -> str:
    """The schemathesis command of this environment (looked up before the loop runs)."""
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("schemathesis is not installed in this environment")
    return found


async def test_no_operation_answers_with_a_server_error(
    schemathesis: str,
    live_server: AppServer,
    storage: Responder,
    probe: Responder,
    alerting: AlertingService,
    tmp_path: Path,
) -> None:
    # Storage and the probe answer (stand-ins), alerting too (the real one, for its
    # management routes): a 503 from an absent one is not a bug here.
    process = await asyncio.create_subprocess_exec(
        schemathesis,
        "run",
        f"{live_server.url}/schema/openapi.json",
        "--checks",
        "not_a_server_error",
        # The stream never ends by design; it has its own tests.
        "--exclude-path",
        "/api/ai/ollama/performance/stream",
        "--max-examples",
        "15",
        "--seed",
        "7",
        "--workers",
        "2",
        "--request-timeout",
        "10",
        "--no-color",
        "--report-dir",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    output, _ = await asyncio.wait_for(process.communicate(), FUZZ_TIMEOUT_SECONDS)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", text)
    assert cases is not None, text[-3000:]
    generated, passed = (int(group) for group in cases.groups())
    assert generated == passed > 100, text[-3000:]
