"""Count the generated tokens of a stream from its content deltas (pure, no I/O).

Some servers never say how many tokens they streamed: llama-cpp-python sends no `usage`
in a stream, even when `stream_options.include_usage` asks for it. Such a server writes one
content delta per token (llama.cpp does), so counting the deltas that carry text counts the
tokens; where a server batches several tokens into one delta the count is low, an estimate.

A delta with text is a non-empty JSON string under `content`, `text`, `reasoning_content`
or `arguments` (OpenAI chat, completions, reasoning, tool calls) or Ollama's native
`response` / `thinking`. An escaped quote cannot end a key, so text that merely contains
such a key never matches. The scan runs on each chunk as it passes, with the last bytes of
the previous chunk kept so that a key split across two chunks is counted once.
"""

from __future__ import annotations

import re

# A key, up to two spaces around the colon (Python's json.dumps writes one), an opening
# quote and a first character that is not the closing one (read, not looked ahead at: a
# match cut short at the end of a chunk is found whole with the next one).
_TEXT_DELTA = re.compile(
    rb'"(?:content|text|reasoning_content|arguments|response|thinking)" {0,2}: {0,2}"[^"]'
)
_CARRY_BYTES = 32  # longer than any match, so a split one is seen whole in carry + chunk


class DeltaCounter:
    """Text deltas counted so far, and when each chunk holding some arrived."""

    __slots__ = ("_carry", "gaps_seconds", "last_at", "tokens")

    def __init__(self) -> None:
        self.tokens = 0
        self.last_at: float | None = None
        self.gaps_seconds: list[float] = []
        self._carry = b""

    def feed(self, chunk: bytes, now: float) -> None:
        """Count the text deltas of `chunk`, which arrived at `now`."""
        carry = self._carry
        window = carry + chunk
        self._carry = window[-_CARRY_BYTES:]
        found = sum(1 for match in _TEXT_DELTA.finditer(window) if match.end() > len(carry))
        if not found:
            return
        if self.last_at is not None:
            # A chunk holding several deltas shares the time since the previous one evenly.
            self.gaps_seconds.extend([(now - self.last_at) / found] * found)
        self.last_at = now
        self.tokens += found
