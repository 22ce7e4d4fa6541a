"""`--ollama-version` and `--eval-speed` make the emulator a simulated Ollama upgrade: another
version, every model generating at a fraction of its speed."""

from __future__ import annotations

import httpx
import pytest

from ollama_emulator.__main__ import configured
from ollama_emulator.app import create_app
from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollama_emulator.server import serve_app


def _one_model() -> EmulatorConfig:
    return EmulatorConfig(
        models=[ModelSpec(name="m:latest", tokens_per_second=400.0, response_tokens=20)]
    )


async def _version_and_eval_rate(config: EmulatorConfig) -> tuple[str, float]:
    async with serve_app(create_app(config)) as url, httpx.AsyncClient(base_url=url) as http:
        version = (await http.get("/api/version")).json()["version"]
        reply = (
            await http.post(
                "/api/generate", json={"model": "m", "prompt": "hello there", "stream": False}
            )
        ).json()
    return version, reply["eval_count"] / (reply["eval_duration"] / 1e9)


async def test_an_upgrade_answers_its_version_and_generates_20_percent_slower() -> None:
    before = await _version_and_eval_rate(configured(_one_model(), "0.12.3", 1.0))
    after = await _version_and_eval_rate(configured(_one_model(), "0.12.6", 0.8))
    assert (before[0], after[0]) == ("0.12.3", "0.12.6")
    assert after[1] / before[1] == pytest.approx(0.8, rel=0.02)


def test_without_the_options_the_scenario_is_unchanged() -> None:
    config = _one_model()
    assert configured(config, None, 1.0) == config
