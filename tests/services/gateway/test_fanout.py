"""The SSE fan-out: numbering, replay, bounded queues, disconnects (pure, no I/O)."""

from __future__ import annotations

import asyncio

from ollamon_gateway.fanout import ClientQueue, Fanout, encode_frame


def make_fanout(buffer_size: int = 100, client_queue_size: int = 10) -> Fanout:
    return Fanout(buffer_size=buffer_size, client_queue_size=client_queue_size)


def test_frames_are_encoded_as_typed_server_sent_events() -> None:
    assert encode_frame(7, "request", b'{"a":1}') == b'id: 7\nevent: request\ndata: {"a":1}\n\n'


def test_multiline_data_becomes_one_data_line_per_line() -> None:
    frame = encode_frame(1, "alert", b"one\ntwo")
    assert frame == b"id: 1\nevent: alert\ndata: one\ndata: two\n\n"


def test_sequence_ids_increase_by_one_from_a_clock_based_start() -> None:
    fanout = make_fanout()
    ids = [fanout.publish("system", b"{}").sequence for _ in range(5)]
    assert ids == list(range(ids[0], ids[0] + 5))
    assert fanout.last_sequence == ids[-1]
    later = make_fanout()
    # A restarted gateway starts above the ids the previous one handed out.
    assert later.publish("system", b"{}").sequence > ids[-1]


async def test_every_client_gets_every_frame_in_order() -> None:
    fanout = make_fanout()
    clients = [fanout.connect(), fanout.connect()]
    frames = [fanout.publish("request", b'{"n":%d}' % n) for n in range(3)]
    for client in clients:
        assert await client.next_batch(1.0) == [frame.payload for frame in frames]


async def test_last_event_id_replays_only_newer_buffered_frames() -> None:
    fanout = make_fanout()
    frames = [fanout.publish("request", b"%d" % n) for n in range(5)]
    client = fanout.connect(last_event_id=frames[1].sequence)
    assert await client.next_batch(1.0) == [frame.payload for frame in frames[2:]]


def test_the_replay_buffer_keeps_only_the_latest_frames() -> None:
    fanout = make_fanout(buffer_size=3)
    frames = [fanout.publish("request", b"%d" % n) for n in range(10)]
    replay = fanout.replay_after(0)
    assert [frame.sequence for frame in replay] == [frame.sequence for frame in frames[-3:]]


async def test_a_slow_client_loses_its_oldest_frames_and_others_lose_nothing() -> None:
    fanout = make_fanout(client_queue_size=3)
    slow = fanout.connect()
    fast = fanout.connect()
    received_by_fast: list[bytes] = []
    frames = []
    for n in range(10):
        frames.append(fanout.publish("request", b"%d" % n))
        received_by_fast.extend(await fast.next_batch(1.0))
    assert received_by_fast == [frame.payload for frame in frames]
    assert await slow.next_batch(1.0) == [frame.payload for frame in frames[-3:]]
    assert slow.dropped == 7
    assert fast.dropped == 0
    assert fanout.frames_dropped == 7


async def test_a_replay_larger_than_the_client_queue_keeps_the_newest() -> None:
    fanout = make_fanout(buffer_size=50, client_queue_size=4)
    frames = [fanout.publish("system", b"%d" % n) for n in range(20)]
    client = fanout.connect(last_event_id=0)
    assert await client.next_batch(1.0) == [frame.payload for frame in frames[-4:]]
    assert fanout.frames_dropped == 16


def test_disconnect_forgets_the_client_at_once() -> None:
    fanout = make_fanout()
    client = fanout.connect()
    assert fanout.client_count == 1
    fanout.disconnect(client)
    assert fanout.client_count == 0
    fanout.publish("request", b"{}")
    assert len(client) == 0
    fanout.disconnect(client)  # twice is harmless


async def test_next_batch_returns_empty_after_the_timeout_when_idle() -> None:
    client = ClientQueue(5)
    assert await client.next_batch(0.01) == []


async def test_a_waiting_client_wakes_on_the_next_frame() -> None:
    fanout = make_fanout()
    client = fanout.connect()
    waiting = asyncio.create_task(client.next_batch(5.0))
    await asyncio.sleep(0)
    frame = fanout.publish("alert", b"{}")
    assert await asyncio.wait_for(waiting, 1.0) == [frame.payload]


async def test_close_wakes_every_client_and_new_clients_start_closed() -> None:
    fanout = make_fanout()
    client = fanout.connect()
    waiting = asyncio.create_task(client.next_batch(5.0))
    await asyncio.sleep(0)
    fanout.close()
    assert await asyncio.wait_for(waiting, 1.0) == []
    assert client.closed
    assert fanout.connect().closed


async def test_with_no_client_listening_a_frame_is_encoded_only_when_a_client_replays_it() -> None:
    fanout = Fanout(buffer_size=10, client_queue_size=10)
    frames = [fanout.publish("request", b'{"n":%d}' % n) for n in range(3)]
    assert not any(frame.encoded for frame in frames)
    client = fanout.connect(last_event_id=frames[0].sequence)
    expected = [
        encode_frame(frame.sequence, "request", b'{"n":%d}' % n)
        for n, frame in enumerate(frames)
        if n > 0
    ]
    assert await client.next_batch(1.0) == expected
    assert [frame.encoded for frame in frames] == [False, True, True]
    listened = fanout.publish("request", b'{"n":3}')
    assert listened.encoded
    assert await client.next_batch(1.0) == [listened.payload]
