"""Every Ollama URL gets a host label."""

from __future__ import annotations

from ollamon_probe.hosts import host_labels


def test_one_server_takes_the_probes_own_label() -> None:
    assert host_labels(["http://127.0.0.1:11434"], "gpu-1") == {"http://127.0.0.1:11434": "gpu-1"}


def test_several_servers_are_labelled_by_host_name() -> None:
    assert host_labels(["http://gpu-a:11434", "http://gpu-b:11434"], "me") == {
        "http://gpu-a:11434": "gpu-a",
        "http://gpu-b:11434": "gpu-b",
    }


def test_servers_sharing_a_host_name_are_labelled_with_their_port() -> None:
    labels = host_labels(["http://127.0.0.1:11434", "http://127.0.0.1:11435", "http://x:1"], "me")
    assert labels == {
        "http://127.0.0.1:11434": "127.0.0.1:11434",
        "http://127.0.0.1:11435": "127.0.0.1:11435",
        "http://x:1": "x",
    }
