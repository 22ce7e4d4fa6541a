"""Ollama's /api/ps, /api/tags and /api/show replies become event models."""

from __future__ import annotations

from datetime import UTC, datetime

from ollama_emulator.catalogue import process_list, show, tags
from ollama_emulator.config import fast_config
from ollama_emulator.residency import LoadedModel as EmulatedLoaded
from ollamon_probe.catalog import catalog_models, go_datetime, loaded_models, with_show_details


def test_go_times_with_nanoseconds_and_offsets_are_read() -> None:
    moment = datetime(2024, 6, 4, 21, 38, 31, 837533, tzinfo=UTC)
    assert go_datetime("2024-06-04T14:38:31.837533279-07:00") == moment
    assert go_datetime("2025-01-15T10:20:30Z") == datetime(2025, 1, 15, 10, 20, 30, tzinfo=UTC)
    assert go_datetime("") is None
    assert go_datetime("yesterday") is None


def test_ps_gives_sizes_context_and_the_partial_offload_flag() -> None:
    config = fast_config()
    spec = config.find("qwen2.5:7b")
    assert spec is not None
    body = process_list([EmulatedLoaded(spec, 8192, 0.0, 1_700_000_000.0)])
    [loaded] = loaded_models(body)
    assert (loaded.name, loaded.size_bytes, loaded.size_vram_bytes) == (
        "qwen2.5:7b",
        6_000_000_000,
        4_000_000_000,
    )
    assert loaded.partially_offloaded
    assert loaded.context_length == 8192
    assert loaded.expires_at == datetime.fromtimestamp(1_700_000_000, UTC)


def test_tags_and_show_give_the_catalogue_details() -> None:
    config = fast_config()
    catalogue = catalog_models(tags(config))
    spec = config.find("qwen2.5:7b")
    assert spec is not None
    described = with_show_details(catalogue[1], show(spec))
    assert described.name == "qwen2.5:7b"
    assert described.digest == spec.model_digest
    assert (described.family, described.quantization_level) == ("qwen2", "Q4_K_M")
    assert (described.parameter_count, described.context_length) == (7_615_616_512, 32768)


def test_malformed_replies_give_nothing_rather_than_failing() -> None:
    assert loaded_models({"models": "nope"}) == []
    assert catalog_models(None) == []
