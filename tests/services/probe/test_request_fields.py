"""Request bodies give the model and sampling options, from a bounded sample."""

from __future__ import annotations

import json

from ollamon_probe.request_fields import BodySample, RequestFacts, request_facts


def sample_of(body: bytes, piece: int = 1000) -> BodySample:
    sample = BodySample()
    for start in range(0, len(body), piece):
        sample.feed(body[start : start + piece])
    return sample


def test_native_options_are_read() -> None:
    body = {
        "model": "llama3.2",
        "prompt": "x",
        "options": {"temperature": 0.2, "top_p": 0.9, "num_ctx": 8192},
    }
    facts = request_facts(sample_of(json.dumps(body).encode()))
    assert facts == RequestFacts("llama3.2", 0.2, 0.9, 8192)


def test_openai_top_level_parameters_are_read() -> None:
    body = {"model": "qwen2.5:7b", "messages": [], "temperature": 1, "top_p": 0.5}
    assert request_facts(sample_of(json.dumps(body).encode())) == RequestFacts(
        "qwen2.5:7b", 1.0, 0.5, None
    )


def test_a_huge_body_keeps_head_and_tail_and_is_scanned() -> None:
    image = "A" * (3 * 1024 * 1024)
    body = {
        "model": "llava:7b",
        "messages": [{"role": "user", "content": "what is this", "images": [image]}],
        "options": {"temperature": 0.7, "num_ctx": 4096},
    }
    raw = json.dumps(body).encode()
    sample = sample_of(raw, 65536)
    assert not sample.complete
    assert sample.size == len(raw)
    assert len(sample.head) + len(sample.tail) < 2 * 1024 * 1024
    assert request_facts(sample) == RequestFacts("llava:7b", 0.7, None, 4096)


def test_a_body_that_is_not_json_gives_empty_facts() -> None:
    assert request_facts(sample_of(b"{not json")) == RequestFacts()


def test_a_body_that_never_completed_still_names_its_model_when_that_arrived() -> None:
    facts = request_facts(sample_of(b'{"model": "llama3.2:1b", "prompt": "half a pro'))
    assert facts.model_name == "llama3.2:1b"
