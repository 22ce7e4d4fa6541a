"""Which message a committed batch acks under AckPolicy.ALL (pure code)."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg

from ollamon_storage.acking import AckCursor, NotJetStreamReplyError, sequences


def _delivery(stream_seq: int, consumer_seq: int, delivered: int = 1) -> Msg:
    reply = f"$JS.ACK.OLLAMON.ollamon-storage.{delivered}.{stream_seq}.{consumer_seq}.1700000000.0"
    return Msg(_client=None, subject="ollamon.requests.m", reply=reply)  # type: ignore[arg-type]


def test_sequences_are_read_from_both_ack_subject_formats() -> None:
    v1 = "$JS.ACK.OLLAMON.ollamon-storage.1.42.7.1700000000.3"
    v2 = "$JS.ACK.hub.ACCOUNT.OLLAMON.ollamon-storage.1.42.7.1700000000.3.token"
    assert sequences(v1).stream_seq == 42
    assert sequences(v1).consumer_seq == 7
    assert sequences(v2) == sequences(v1)


@pytest.mark.parametrize("reply", ["", "_INBOX.abc", "$JS.NAK.a.b.1.2.3.4.5", "a.b.c.d.e.f.g.h.i"])
def test_a_reply_that_is_not_a_jetstream_ack_subject_is_refused(reply: str) -> None:
    with pytest.raises(NotJetStreamReplyError):
        sequences(reply)


def test_an_unbroken_run_of_deliveries_acks_its_highest_stream_sequence() -> None:
    cursor = AckCursor()
    batch = [
        _delivery(stream_seq, consumer_seq)
        for consumer_seq, stream_seq in enumerate((10, 11, 14), 1)
    ]
    step = cursor.advance(batch)
    assert step.ack is batch[-1]
    assert not step.gap
    following = [_delivery(15, 4), _delivery(16, 5)]
    assert cursor.advance(following).ack is following[-1]


def test_a_redelivery_at_the_end_of_a_batch_does_not_lower_the_ack() -> None:
    cursor = AckCursor()
    batch = [_delivery(100, 1), _delivery(101, 2), _delivery(3, 3, delivered=2)]
    step = cursor.advance(batch)
    assert step.ack is batch[1]
    assert cursor.acked_stream_seq == 101


def test_a_batch_of_old_redeliveries_only_acks_nothing() -> None:
    cursor = AckCursor()
    cursor.advance([_delivery(100, 1)])
    step = cursor.advance([_delivery(50, 2, delivered=2)])
    assert step.ack is None
    assert not step.gap


def test_a_missing_delivery_stops_acks_at_the_message_before_it_for_good() -> None:
    cursor = AckCursor()
    batch = [_delivery(1, 1), _delivery(2, 2), _delivery(4, 4), _delivery(5, 5)]
    step = cursor.advance(batch)
    assert step.ack is batch[1]  # never 4 or 5: the delivery of 3 is missing
    assert step.gap
    later = cursor.advance([_delivery(6, 6)])
    assert later.ack is None
    assert later.gap


def test_a_first_delivery_must_be_the_consumers_first() -> None:
    step = AckCursor().advance([_delivery(9, 2)])
    assert step.ack is None
    assert step.gap
