"""Which message to ack after a committed batch, under JetStream's AckPolicy.ALL.

With AckPolicy.ALL one ack of stream sequence S acks every pending message with a stream
sequence up to S. Storage sends one such ack per committed batch instead of one per
message; it must still never ack a message that is not stored. Why this is safe:

1. Storage creates its consumer itself, at start and at every resync, starting right
   after the server's ack floor F; everything up to F was stored before (induction).
   No other subscriber is bound to it.
2. The server sends first deliveries in stream order, and every delivery (redeliveries
   too) takes the next consumer sequence (dseq) 1, 2, 3, ... of this consumer. nats-py
   hands them to the callback one at a time, in that order.
3. Batches are committed strictly in delivery order; invalid messages are dead-lettered
   and take their place in that order as settled.
4. `AckCursor` walks each committed batch checking that dseqs follow on without a hole.
   If they do, every delivery up to the batch's end is stored, so every message whose
   first delivery came earlier is stored; and a message with a stream sequence below that
   of some stored first delivery had its own first delivery earlier (point 2). So acking
   the highest stream sequence seen so far acks only stored messages.
5. A hole in the dseqs means a delivery never reached us (a reconnect mid-flight): the
   cursor acks at most up to the last message before the hole and reports it; the
   ingestor then stops acking and storage recreates the consumer from the server's ack
   floor (`consumer.py`). A failed commit does the same: nothing after it is acked, the
   uncommitted messages are dropped and delivered again by the recreated consumer.
   Redeliveries are harmless: rows are inserted with `INSERT OR IGNORE` on `event_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nats.aio.msg import Msg

# $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>
_V1_TOKENS = 9
# $JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>...
_V2_MIN_TOKENS = 11


class NotJetStreamReplyError(ValueError):
    """A message's reply subject is not a JetStream ack subject."""


@dataclass(frozen=True)
class Sequences:
    """Where a delivered message sits: in the stream and in the consumer's deliveries."""

    stream_seq: int
    consumer_seq: int


def sequences(reply: str) -> Sequences:
    """Read the stream and consumer sequences from a JetStream ack subject."""
    tokens = reply.split(".")
    if len(tokens) == _V1_TOKENS:
        offset = 5
    elif len(tokens) >= _V2_MIN_TOKENS:
        offset = 7
    else:
        raise NotJetStreamReplyError(f"not a JetStream ack subject: {reply!r}")
    if tokens[0] != "$JS" or tokens[1] != "ACK":
        raise NotJetStreamReplyError(f"not a JetStream ack subject: {reply!r}")
    return Sequences(stream_seq=int(tokens[offset]), consumer_seq=int(tokens[offset + 1]))


@dataclass(frozen=True)
class AckStep:
    """What to do after a committed batch: the message to ack (if any), and whether a
    delivery is missing (then nothing may be acked past it until a resync)."""

    ack: Msg | None
    gap: bool


class AckCursor:
    """Follows one consumer's deliveries through committed batches (see module docstring)."""

    def __init__(self) -> None:
        self.last_consumer_seq = 0
        self.acked_stream_seq = 0
        self.broken = False

    def advance(self, committed: Sequence[Msg]) -> AckStep:
        """Take the next committed messages, in delivery order; say what to ack."""
        if self.broken:
            return AckStep(ack=None, gap=True)
        best: Msg | None = None
        best_stream_seq = self.acked_stream_seq
        for msg in committed:
            seqs = sequences(msg.reply)
            if seqs.consumer_seq != self.last_consumer_seq + 1:
                self.broken = True
                break
            self.last_consumer_seq = seqs.consumer_seq
            if seqs.stream_seq > best_stream_seq:
                best, best_stream_seq = msg, seqs.stream_seq
        self.acked_stream_seq = best_stream_seq
        return AckStep(ack=best, gap=self.broken)
