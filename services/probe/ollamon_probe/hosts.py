"""Host labels of the Ollama servers a probe watches (pure)."""

from __future__ import annotations

from urllib.parse import urlsplit


def host_labels(ollama_urls: list[str], host_label: str) -> dict[str, str]:
    """Label each URL: the probe's own label for one server; for several, each URL's host
    name (or `host:port` where two share a host name), so every event names its server."""
    if len(ollama_urls) == 1:
        return {ollama_urls[0]: host_label}
    names = {url: urlsplit(url).hostname or url for url in ollama_urls}
    labels: dict[str, str] = {}
    for url, name in names.items():
        shared = list(names.values()).count(name) > 1
        labels[url] = (urlsplit(url).netloc or url) if shared else name
    return labels
