"""The delivery log: what became of each notification attempt (`NotificationDelivery`).

One row per settled attempt, written by ingest like every event (`INSERT OR IGNORE` on
`event_id`), capped and aged out with the other raw tables, and read newest first into the
`/alerts` answer (`deliveries`). The notifier redacts errors before publishing; the row's
JSON goes through `redact_text` all the same, as every stored row does.
"""

from __future__ import annotations

from ollamon_core.events import NotificationDelivery

TABLE = "notification_deliveries"

# Schema version 5 (schema.py).
SCHEMA = """
CREATE TABLE notification_deliveries (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    ts_ms INTEGER NOT NULL,
    host TEXT NOT NULL,
    receiver TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    alert_state TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX notification_deliveries_by_time ON notification_deliveries (ts_ms);
CREATE INDEX notification_deliveries_by_host_time ON notification_deliveries (host, ts_ms);
"""

INSERT_SQL = (
    "INSERT OR IGNORE INTO notification_deliveries (event_id, ts_ms, host, receiver, "
    "fingerprint, alert_state, attempt, outcome, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def row(event: NotificationDelivery, ts_ms: int, data: str) -> tuple[object, ...]:
    """The row of one delivery event (its JSON already redacted)."""
    return (
        event.event_id,
        ts_ms,
        event.host,
        event.receiver,
        event.fingerprint,
        event.alert_state.value,
        event.attempt,
        event.outcome.value,
        data,
    )


def newest_sql(host: str | None) -> tuple[str, tuple[object, ...]]:
    """The query of the newest deliveries (of one alert host when given); the limit last."""
    if host is None:
        return "SELECT data FROM notification_deliveries ORDER BY ts_ms DESC, id DESC LIMIT ?", ()
    return (
        "SELECT data FROM notification_deliveries WHERE host = ? "
        "ORDER BY ts_ms DESC, id DESC LIMIT ?",
        (host,),
    )
