"""Host labels of the Ollama servers a probe watches (pure)."""

from __future__ import annotations

from urllib.parse import urlsplit

from ollamon_core.redaction import redact_url


def host_labels(ollama_urls: list[str], host_label: str) -> dict[str, str]:
    """Label each URL: the probe's own label for one server; for several, each URL's host
    name (or `host:port` where two share a host name), so every event names its server.
    A label never holds the URL's userinfo or secret parameters."""
    if len(ollama_urls) == 1:
        return {ollama_urls[0]: host_label}
    shown = {url: redact_url(url) for url in ollama_urls}
    names = {url: urlsplit(shown[url]).hostname or shown[url] for url in ollama_urls}
    labels: dict[str, str] = {}
    for url, name in names.items():
        shared = list(names.values()).count(name) > 1
        labels[url] = (urlsplit(shown[url]).netloc or shown[url]) if shared else name
    return labels
