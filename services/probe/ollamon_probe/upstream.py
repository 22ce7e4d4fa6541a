"""The probe's clients to Ollama: the proxy's connection pool and the watcher's httpx client.

The proxy forwards through `http1_pool.UpstreamPool` (why: see that module), passing the
client's path, query and end-to-end headers exactly as they came; the watcher's polls are
few and use httpx.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import httpx

from ollamon_probe.http1_pool import UpstreamPool
from ollamon_probe.settings import ProbeSettings

# A connect that hangs means Ollama is down; a slow read is a long generation.
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_CONNECTIONS = 256
# Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, not to the message; `host`
# is the upstream's own.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
    }
)


# Ollamon's own request header: it marks a benchmark's requests and ends at the proxy.
BENCHMARK_HEADER = b"x-ollamon-benchmark"
NOT_FORWARDED = HOP_BY_HOP | {BENCHMARK_HEADER}


def request_target(scope: Mapping[str, object]) -> bytes:
    """The path and query of an ASGI request exactly as the client sent them."""
    raw_path = scope.get("raw_path")
    target = raw_path if isinstance(raw_path, bytes) else str(scope["path"]).encode()
    query = scope.get("query_string")
    if isinstance(query, bytes) and query:
        target += b"?" + query
    return target


def forwarded_headers(
    raw: Iterable[tuple[bytes, bytes]],
) -> tuple[list[tuple[bytes, bytes]], bool]:
    """The end-to-end request headers to send on, and whether the request has a body."""
    has_body = False
    headers: list[tuple[bytes, bytes]] = []
    for name, value in raw:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            has_body = True
        if name not in NOT_FORWARDED:
            headers.append((name, value))
    return headers, has_body


def reply_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Ollama's end-to-end reply headers, names lower-cased as ASGI wants them."""
    return [(name.lower(), value) for name, value in raw if name.lower() not in HOP_BY_HOP]


def create_proxy_pool(settings: ProbeSettings) -> UpstreamPool:
    """The proxy's connections to the first Ollama URL of `settings`.

    Opening a connection gets `CONNECT_TIMEOUT_SECONDS`; each read may wait
    `upstream_timeout_seconds` (a long generation).
    """
    return UpstreamPool(
        settings.ollama_urls[0], CONNECT_TIMEOUT_SECONDS, settings.upstream_timeout_seconds
    )


def create_watcher_client(settings: ProbeSettings) -> httpx.AsyncClient:
    """The watcher's pooled client: short connect, `upstream_timeout_seconds` reads."""
    timeout = httpx.Timeout(settings.upstream_timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS)
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=64)
    return httpx.AsyncClient(
        timeout=timeout, limits=limits, follow_redirects=False, trust_env=False
    )
