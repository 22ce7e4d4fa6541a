"""The streams every service relies on, and what storage's update of a live one keeps."""

from __future__ import annotations

import nats
from nats.js import api

from ollamon_core import subjects
from ollamon_core.bus.streams import ensure_streams

EDGE_DOMAIN = "edge-somewhere"


async def test_storage_keeps_a_hub_streams_sources_and_never_captures_edge_subjects(
    clean_nats_url: str,
) -> None:
    nc = await nats.connect(clean_nats_url)
    try:
        js = nc.jetstream()
        hub_subjects = [
            s for s in subjects.STREAM_EVENTS_SUBJECTS if s not in subjects.EDGE_STREAM_SUBJECTS
        ]
        source = api.StreamSource(
            name=subjects.STREAM_EVENTS,
            external=api.ExternalStream(api=f"$JS.{EDGE_DOMAIN}.API"),
        )
        await js.add_stream(
            api.StreamConfig(
                name=subjects.STREAM_EVENTS,
                subjects=hub_subjects,
                sources=[source],
                storage=api.StorageType.FILE,
            )
        )
        await ensure_streams(js, max_age_seconds=3600, update_existing=True)
        config = (await js.stream_info(subjects.STREAM_EVENTS)).config
    finally:
        await nc.close()
    assert config.max_age == 3600
    assert sorted(config.subjects or []) == sorted(hub_subjects)
    assert [s.external.api for s in config.sources or [] if s.external] == [
        f"$JS.{EDGE_DOMAIN}.API"
    ]


async def test_storage_adds_new_subjects_to_a_single_box_stream(clean_nats_url: str) -> None:
    nc = await nats.connect(clean_nats_url)
    try:
        js = nc.jetstream()
        await js.add_stream(
            api.StreamConfig(
                name=subjects.STREAM_EVENTS,
                subjects=[subjects.SYSTEM],
                storage=api.StorageType.FILE,
            )
        )
        await ensure_streams(js, max_age_seconds=7200, update_existing=True)
        config = (await js.stream_info(subjects.STREAM_EVENTS)).config
    finally:
        await nc.close()
    assert config.max_age == 7200
    assert sorted(config.subjects or []) == sorted(subjects.STREAM_EVENTS_SUBJECTS)
