"""The JetStream streams every service relies on: events and dead letters."""

from __future__ import annotations

import logging
from dataclasses import replace

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext, api

from ollamon_core import subjects

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE_SECONDS = 30 * 86400
DUPLICATE_WINDOW_SECONDS = 120.0


async def ensure_streams(
    js: JetStreamContext,
    *,
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    update_existing: bool = False,
) -> None:
    """Make sure the event stream and the dead-letter stream (file storage) exist.

    Only storage, which owns retention, passes `update_existing=True`: it creates a missing
    stream and applies its max age to a live one. Any other service reads each stream's
    info and creates it only when it is missing, so that early publishes are kept. Under
    NATS authorization only storage (and the admin, which `ollamon up` uses to create the
    streams before the services start) may create them: another service's attempt is
    refused, and after JetStream's timeout it logs a warning and goes on, its outbox
    retrying until storage has created the stream.
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
        if update_existing:
            await _create_or_update(js, config)
        else:
            await _create_if_missing(js, config)


async def _create_or_update(js: JetStreamContext, config: api.StreamConfig) -> None:
    """Create the stream, or update a live one's subjects and max age while keeping what
    an operator or `ollamon up --role hub` set on it: its replicas, and the edges' streams it
    sources, whose subjects it must then not capture itself (each event would be stored
    twice: docs/decisions/0011-fleet-topology.md)."""
    try:
        current = (await js.stream_info(config.name or "")).config
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(config)
            return
        except nats.js.errors.BadRequestError:  # created meanwhile
            current = (await js.stream_info(config.name or "")).config
    wanted = list(config.subjects or [])
    if current.sources:
        wanted = [s for s in wanted if s not in subjects.EDGE_STREAM_SUBJECTS]
    if current.max_age == config.max_age and sorted(current.subjects or []) == sorted(wanted):
        return
    await js.update_stream(replace(current, subjects=wanted, max_age=config.max_age))


async def _create_if_missing(js: JetStreamContext, config: api.StreamConfig) -> None:
    try:
        await js.stream_info(config.name or "")
        return
    except nats.js.errors.NotFoundError:
        pass
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError:
        pass  # created meanwhile, by another service
    except nats.errors.TimeoutError as error:
        log.warning(
            "stream %s is missing and this service could not create it (%r); "
            "storage creates it, and events wait in the outbox until then",
            config.name,
            error,
        )
