"""Keep only the last lines of a streamed body, whatever its chunking (pure, no I/O).

The proxy needs Ollama's final NDJSON line (statistics or `{"error"}`) and, for SSE, the
usage event and the finish reason before `data: [DONE]`. Holding the whole reply would cost
memory and time on the hot path, so this keeps the last few non-empty lines and the
unfinished one.
"""

from __future__ import annotations

MAX_PARTIAL_BYTES = 4 * 1024 * 1024
KEPT_TAIL_BYTES = 64 * 1024
KEPT_LINES = 3


class LineTail:
    """The last complete non-empty lines seen, plus the line still being received."""

    __slots__ = ("lines", "partial", "truncated")

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.partial = bytearray()
        self.truncated = False

    def feed(self, chunk: bytes) -> None:
        """Take the next piece of the body."""
        newline = chunk.rfind(b"\n")
        if newline == -1:
            self.partial += chunk
            if len(self.partial) > MAX_PARTIAL_BYTES:
                # A huge single line (a non-streamed reply): its statistics are at the end.
                del self.partial[:-KEPT_TAIL_BYTES]
                self.truncated = True
            return
        segment = bytes(self.partial) + chunk[:newline] if self.partial else chunk[:newline]
        parts = segment.rsplit(b"\n", 2 * KEPT_LINES)
        if len(parts) > 2 * KEPT_LINES:  # the first part still holds several lines
            parts[0] = parts[0].rsplit(b"\n", 1)[-1]
        fresh = [line for line in parts if line.strip()]
        self.lines = (self.lines + fresh)[-KEPT_LINES:]
        self.partial = bytearray(chunk[newline + 1 :])

    def final_lines(self) -> list[bytes]:
        """The last non-empty lines, oldest first, counting an unterminated last line."""
        lines = self.lines
        if bytes(self.partial).strip():
            lines = [*lines, bytes(self.partial)]
        return [line.strip() for line in lines[-KEPT_LINES:]]
