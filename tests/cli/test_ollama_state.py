"""`ollamon up`'s banner names the server at the Ollama URL as the probe finds it: a live
llama.cpp server is reachable, not an Ollama to start."""

from __future__ import annotations

import asyncio

from ollama_emulator.app import create_app
from ollama_emulator.config import fast_config, llama_cpp_config
from ollama_emulator.server import serve_app
from ollamon_cli.nats_server import free_port
from ollamon_cli.preflight import ollama_state


async def test_ollama_is_reachable_with_its_version() -> None:
    async with serve_app(create_app(fast_config())) as url:
        line = await asyncio.to_thread(ollama_state, url)
    assert line == f"reachable at {url}, version 0.12.6"


async def test_a_llama_cpp_server_is_reachable_and_named() -> None:
    async with serve_app(create_app(llama_cpp_config())) as url:
        line = await asyncio.to_thread(ollama_state, f"{url}/")
    assert line == f"reachable at {url}/: a llama.cpp server, version b6500-emulated"


async def test_nothing_listening_says_how_to_reach_ollama() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = await asyncio.to_thread(ollama_state, url)
    assert line.startswith(f"not reachable at {url} — start `ollama serve`")
