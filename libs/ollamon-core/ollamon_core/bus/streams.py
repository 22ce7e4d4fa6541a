"""The JetStream streams every service relies on: events and dead letters."""

from __future__ import annotations

import nats.js.errors
from nats.js import JetStreamContext, api

from ollamon_core import subjects

DEFAULT_MAX_AGE_SECONDS = 30 * 86400
DUPLICATE_WINDOW_SECONDS = 120.0


async def ensure_streams(
    js: JetStreamContext,
    *,
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    update_existing: bool = False,
) -> None:
    """Create the event stream and the dead-letter stream (file storage) if missing.

    Any service may call this at start so early publishes are kept; only storage, which
    owns retention, passes `update_existing=True` to apply its max age to a live stream.
    """
    for name, stream_subjects in (
        (subjects.STREAM_EVENTS, subjects.STREAM_EVENTS_SUBJECTS),
        (subjects.STREAM_DEADLETTER, subjects.STREAM_DEADLETTER_SUBJECTS),
    ):
        config = api.StreamConfig(
            name=name,
            subjects=stream_subjects,
            storage=api.StorageType.FILE,
            max_age=max_age_seconds,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:
            if update_existing:
                await js.update_stream(config)
