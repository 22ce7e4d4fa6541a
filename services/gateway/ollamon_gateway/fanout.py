"""Fan one NATS subscription out to many SSE clients, each with a bounded queue.

Every event is numbered by a monotonically increasing sequence and encoded once as an SSE
frame (`id`, `event`, `data`) when the first client needs it: with no client listening
(most of the time) an event costs a numbered entry in the ring buffer that keeps the
latest frames for `Last-Event-ID` replay, and no encoding. A slow client loses its oldest
frames (counted) instead of slowing the others, and everything here is synchronous except
waiting for the next frame, so a disconnecting client can be discarded in a `finally`
without awaiting (Litestar #3772).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class StreamFrame:
    """One SSE event, encoded the first time its `payload` is read."""

    __slots__ = ("_payload", "data", "event_type", "sequence")

    def __init__(self, sequence: int, event_type: str, data: bytes | Callable[[], bytes]) -> None:
        self.sequence = sequence
        self.event_type = event_type
        self.data = data  # or what makes it, called once when a client needs the frame
        self._payload: bytes | None = None

    @property
    def encoded(self) -> bool:
        """True once the frame was encoded (a client needed it)."""
        return self._payload is not None

    @property
    def payload(self) -> bytes:
        """The encoded frame (`encode_frame`)."""
        if self._payload is None:
            data = self.data if isinstance(self.data, bytes) else self.data()
            self._payload = encode_frame(self.sequence, self.event_type, data)
        return self._payload


def encode_frame(sequence: int, event_type: str, data: bytes) -> bytes:
    """Encode one SSE event; `data` is one line of JSON (no newlines, as models dump)."""
    data_lines = b"".join(b"data: " + line + b"\n" for line in data.splitlines() or [b""])
    return b"id: %d\nevent: %s\n%s\n" % (sequence, event_type.encode(), data_lines)


def first_sequence() -> int:
    """Where numbering starts: the clock in microseconds, so a restarted gateway never
    hands out ids below the ones its clients last saw."""
    return time.time_ns() // 1000


class ClientQueue:
    """A bounded queue of frames for one client; full means the oldest frame is dropped."""

    def __init__(self, max_frames: int) -> None:
        self._frames: deque[bytes] = deque(maxlen=max_frames)
        self._ready = asyncio.Event()
        self.dropped = 0
        self.closed = False

    def put(self, frame: bytes) -> bool:
        """Queue a frame; False when an older one had to be dropped to make room."""
        full = len(self._frames) == self._frames.maxlen
        if full:
            self.dropped += 1
        self._frames.append(frame)
        self._ready.set()
        return not full

    def close(self) -> None:
        """Wake the client so its stream ends."""
        self.closed = True
        self._ready.set()

    def __len__(self) -> int:
        return len(self._frames)

    async def next_batch(self, timeout_seconds: float) -> list[bytes]:
        """Every queued frame, waiting up to `timeout_seconds` for one; [] on timeout."""
        if not self._frames and not self.closed:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout_seconds)
            except TimeoutError:
                return []
        batch = list(self._frames)
        self._frames.clear()
        return batch


class Fanout:
    """Numbered SSE frames, a replay buffer, and the set of connected clients."""

    def __init__(self, *, buffer_size: int, client_queue_size: int) -> None:
        self._buffer: deque[StreamFrame] = deque(maxlen=buffer_size)
        self._clients: set[ClientQueue] = set()
        self._client_queue_size = client_queue_size
        self._next_sequence = first_sequence()
        self.frames_published = 0
        self.frames_dropped = 0
        self.clients_connected_total = 0
        self.closed = False

    @property
    def client_count(self) -> int:
        """Clients connected now."""
        return len(self._clients)

    @property
    def last_sequence(self) -> int:
        """The id of the latest frame (one below the first id when none yet)."""
        return self._next_sequence - 1

    def publish(self, event_type: str, data: bytes | Callable[[], bytes]) -> StreamFrame:
        """Number, buffer and queue one event for every client (encoded if there is one)."""
        sequence = self._next_sequence
        self._next_sequence += 1
        frame = StreamFrame(sequence, event_type, data)
        self._buffer.append(frame)
        self.frames_published += 1
        if self._clients:
            payload = frame.payload
            for client in self._clients:
                if not client.put(payload):
                    self.frames_dropped += 1
        return frame

    def replay_after(self, last_event_id: int) -> list[StreamFrame]:
        """Buffered frames newer than `last_event_id`, oldest first."""
        return [frame for frame in self._buffer if frame.sequence > last_event_id]

    def connect(self, last_event_id: int | None = None) -> ClientQueue:
        """Register a client, first queueing what it missed when it names its last id."""
        client = ClientQueue(self._client_queue_size)
        if last_event_id is not None:
            for frame in self.replay_after(last_event_id):
                if not client.put(frame.payload):
                    self.frames_dropped += 1
        if self.closed:
            client.close()
        self._clients.add(client)
        self.clients_connected_total += 1
        return client

    def disconnect(self, client: ClientQueue) -> None:
        """Forget a client at once (synchronous: safe in a cancelled stream's finally)."""
        self._clients.discard(client)

    def close(self) -> None:
        """End every client's stream (shutdown) and refuse to keep new ones open."""
        self.closed = True
        for client in self._clients:
            client.close()
