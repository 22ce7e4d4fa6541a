"""Alert state kept across restarts in the JetStream key-value bucket `ALERT_STATE_BUCKET`.

Keys: `alert.<fingerprint>` (an `AlertRecord`), `silence.<hash of id>` (a `Silence`),
`threshold.<rule>` (a runtime threshold with who set it and when; a bare number from an
older version is read too), `window.<hash of host, model>` (the newest requests of a window)
and `baseline.<hash of host, model>` (a model's tokens/s baselines on a host) and
`anomaly.<hash of host, model>` (its anomaly baselines by digest, `anomalies.py`) and
`forecast.<hash of host>` (a host's forecast series, `forecast_state.py`). A resolved
alert, a lifted silence or an emptied window is purged, so what the bucket holds is exactly
the state to restore.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

import nats.js.errors
from nats.js import JetStreamContext, api
from nats.js.kv import KeyValue
from pydantic import ValidationError

from ollamon_alerting.lifecycle import AlertRecord
from ollamon_alerting.management import ThresholdChange
from ollamon_alerting.rules import RuleName
from ollamon_core import subjects
from ollamon_core.events import Silence

log = logging.getLogger(__name__)

ALERT_PREFIX = "alert."
SILENCE_PREFIX = "silence."
THRESHOLD_PREFIX = "threshold."
WINDOW_PREFIX = "window."
BASELINE_PREFIX = "baseline."
ANOMALY_PREFIX = "anomaly."
FORECAST_PREFIX = "forecast."


@dataclass
class StoredState:
    """What the bucket held at start."""

    records: list[AlertRecord] = field(default_factory=list)
    silences: list[Silence] = field(default_factory=list)
    thresholds: dict[RuleName, ThresholdChange] = field(default_factory=dict)
    windows: dict[str, bytes] = field(default_factory=dict)  # key -> kept window
    baselines: dict[str, bytes] = field(default_factory=dict)  # key -> kept baselines
    anomalies: dict[str, bytes] = field(default_factory=dict)  # key -> anomaly baselines
    forecasts: dict[str, bytes] = field(default_factory=dict)  # key -> a host's series
    unreadable: list[str] = field(default_factory=list)  # keys whose entry did not parse


def silence_key(silence_id: str) -> str:
    """The key of a silence (ids may hold characters keys cannot)."""
    return SILENCE_PREFIX + hashlib.sha256(silence_id.encode()).hexdigest()[:32]


def threshold_key(rule: RuleName) -> str:
    """The key of a runtime threshold."""
    return THRESHOLD_PREFIX + rule.value


class AlertStateStore:
    """Reads and writes alerting's state in the key-value bucket."""

    def __init__(self, kv: KeyValue, js: JetStreamContext, bucket: str) -> None:
        self.kv = kv
        self.js = js
        self.bucket = bucket

    @classmethod
    async def open(
        cls, js: JetStreamContext, bucket: str = subjects.ALERT_STATE_BUCKET
    ) -> AlertStateStore:
        """Create the bucket (file storage, latest value only) or bind to the existing one."""
        try:
            kv = await js.create_key_value(bucket=bucket, history=1, storage=api.StorageType.FILE)
        except nats.js.errors.BadRequestError:
            kv = await js.key_value(bucket)
        return cls(kv, js, bucket)

    async def _keys(self) -> list[str]:
        """Every key the bucket's stream holds a message for.

        Read from the stream's subject list, a single request: `KeyValue.keys()` uses a
        watcher that can report the end before it has delivered every key.
        """
        prefix = f"$KV.{self.bucket}."
        info = await self.js.stream_info(f"KV_{self.bucket}", subjects_filter=f"{prefix}>")
        return [subject.removeprefix(prefix) for subject in info.state.subjects or {}]

    async def load(self) -> StoredState:
        """Everything the bucket holds; entries that no longer parse are logged and listed."""
        state = StoredState()
        for key in await self._keys():
            try:
                entry = await self.kv.get(key)
            except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
                continue  # purged: a resolved alert or an expired silence
            raw = entry.value or b""
            try:
                if key.startswith(ALERT_PREFIX):
                    state.records.append(AlertRecord.model_validate_json(raw))
                elif key.startswith(SILENCE_PREFIX):
                    state.silences.append(Silence.model_validate_json(raw))
                elif key.startswith(THRESHOLD_PREFIX):
                    rule = RuleName(key.removeprefix(THRESHOLD_PREFIX))
                    state.thresholds[rule] = _threshold_change(raw)
                elif key.startswith(WINDOW_PREFIX):
                    state.windows[key] = raw  # parsed by the engine, which knows the time
                elif key.startswith(BASELINE_PREFIX):
                    state.baselines[key] = raw
                elif key.startswith(ANOMALY_PREFIX):
                    state.anomalies[key] = raw
                elif key.startswith(FORECAST_PREFIX):
                    state.forecasts[key] = raw
            except (ValidationError, ValueError) as error:
                log.warning("skipping unreadable alert state %s: %s", key, error)
                state.unreadable.append(key)
        return state

    async def save_records(self, changed: list[tuple[str, bytes]], removed: list[str]) -> None:
        """Write changed records (fingerprint, JSON) and purge resolved ones."""
        for key, payload in changed:
            await self.kv.put(ALERT_PREFIX + key, payload)
        for key in removed:
            await self.kv.purge(ALERT_PREFIX + key)

    async def save_silence(self, silence: Silence, in_force: bool) -> None:
        """Keep a silence in force, or purge one lifted or expired."""
        if in_force:
            await self.kv.put(silence_key(silence.silence_id), silence.model_dump_json().encode())
        else:
            await self.kv.purge(silence_key(silence.silence_id))

    async def save_threshold(self, rule: RuleName, change: ThresholdChange) -> None:
        """Keep a runtime threshold."""
        await self.kv.put(threshold_key(rule), change.model_dump_json().encode())

    async def save_learned(self, changed: list[tuple[str, bytes]], removed: list[str]) -> None:
        """Write windows and baselines (key, bytes) and purge emptied windows."""
        for key, payload in changed:
            await self.kv.put(key, payload)
        for key in removed:
            await self.kv.purge(key)

    async def forget(self, keys: list[str]) -> None:
        """Purge entries that must not be restored again (unreadable or refused)."""
        for key in keys:
            await self.kv.purge(key)


def _threshold_change(raw: bytes) -> ThresholdChange:
    """A kept threshold: JSON with who set it, or the bare number older versions wrote."""
    try:
        return ThresholdChange(threshold=float(raw))
    except ValueError:
        return ThresholdChange.model_validate_json(raw)
