"""A small ASGI upstream for proxy tests: it records what reached it and answers by path.

- `/echo...`: 200 with JSON of the method, raw path, query, headers and body size it got.
- `/gzip`: a gzip-encoded body with `content-encoding: gzip` (must pass undecoded).
- `/cookie`: sets a cookie.
- `/hang`: never answers (for read timeouts); returns when the proxy hangs up.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field

from tests.support.asgi import Receive, Scope, Send, read_body_size

GZIPPED_TEXT = b"the same bytes, compressed" * 20


@dataclass
class Seen:
    """One request as it reached the upstream."""

    method: str
    raw_path: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]
    client_port: int
    body_size: int = 0
    body_complete: bool = False


@dataclass
class EchoUpstream:
    """The ASGI app; `seen` lists every request as it arrived."""

    seen: list[Seen] = field(default_factory=list)

    def header(self, index: int, name: bytes) -> list[bytes]:
        """Every value of header `name` in the `index`th request seen."""
        return [value for key, value in self.seen[index].headers if key == name]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        seen = Seen(
            scope["method"],
            scope["raw_path"],
            scope["query_string"],
            list(scope["headers"]),
            scope["client"][1],
        )
        self.seen.append(seen)
        seen.body_size, seen.body_complete = await read_body_size(receive)
        if not seen.body_complete:
            return
        path = scope["path"]
        if path == "/hang":  # until the proxy gives up and drops the connection
            while (await receive())["type"] != "http.disconnect":
                pass
            return
        headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
        if path == "/gzip":
            body = gzip.compress(GZIPPED_TEXT)
            headers = [(b"content-type", b"text/plain"), (b"content-encoding", b"gzip")]
        else:
            body = json.dumps({"method": seen.method, "body_size": seen.body_size}).encode()
        if path == "/cookie":
            headers.append((b"set-cookie", b"session=secret; Path=/"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
