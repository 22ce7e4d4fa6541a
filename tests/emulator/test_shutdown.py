"""The emulator as `ollamon demo` runs it stops quickly, even with a stream open."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from ollama_emulator.config import EmulatorConfig, ModelSpec
from ollamon_cli.nats_server import free_port
from tests.support.waiting import wait_until

STOP_BOUND_SECONDS = 5.0
# A stream of 30 s: without a graceful-shutdown timeout the server waits for it to end.
SLOW = ModelSpec(name="slow:1b", tokens_per_second=2.0, response_tokens=60)


def test_the_emulator_exits_soon_after_sigterm_while_a_slow_stream_is_open(
    tmp_path: Path,
) -> None:
    config = tmp_path / "emulator.json"
    config.write_text(EmulatorConfig(models=[SLOW]).model_dump_json())
    port = free_port()
    emulator = subprocess.Popen(
        [sys.executable, "-m", "ollama_emulator", "--port", str(port), "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    stream_open = threading.Event()

    def slow_stream() -> None:
        body = {"model": SLOW.name, "prompt": "long", "stream": True}
        try:
            with httpx.stream("POST", url + "/api/generate", json=body, timeout=60) as reply:
                stream_open.set()
                for _ in reply.iter_bytes():
                    pass
        except httpx.HTTPError:
            pass

    try:
        wait_until(lambda: _answers(url), timeout=20, message="the emulator answering")
        client = threading.Thread(target=slow_stream, daemon=True)
        client.start()
        assert stream_open.wait(20), "the slow model's stream did not open"
        sent_at = time.monotonic()
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(30)
        stop_seconds = time.monotonic() - sent_at
    finally:
        if emulator.poll() is None:
            emulator.kill()
            emulator.wait()
    print(f"emulator stopped {stop_seconds:.2f} s after SIGTERM with a stream open")
    assert stop_seconds < STOP_BOUND_SECONDS


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/api/version", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
