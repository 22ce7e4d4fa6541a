"""What storage knows per host: the hosts table, latest samples and health, latest scores.

Per-host reads are one statement each, driven by `hosts` or by a list of (host, model)
pairs, with one index search per host or pair.
"""

from __future__ import annotations

from collections.abc import Sequence

from ollamon_core.bus import QueryFailedError
from ollamon_core.events import ModelScore, OllamaHealth, OllamaSystemMetrics
from ollamon_core.events import queries as q
from ollamon_core.redaction import redact_text
from ollamon_storage import fleet
from ollamon_storage.reader import Reader, where_equal

MAX_PAIRS_PER_SELECT = 400
_HOSTS_SQL = "SELECT host, first_seen_ms, last_seen_ms FROM hosts"
# Per host, driven by `hosts` (one index search each): the newest system sample, the newest
# health events (each URL's latest is among them).
_LATEST_SYSTEM_SQL = (
    "SELECT h.host, (SELECT data FROM system_samples s WHERE s.host = h.host "
    "ORDER BY s.ts_ms DESC LIMIT 1) FROM hosts h"
)
_RECENT_HEALTH_SQL = (
    "SELECT x.host, json_extract(x.data, '$.ollama_url'), x.data FROM hosts h "  # noqa: S608
    "JOIN health x ON x.id IN (SELECT id FROM health "
    f"WHERE host = h.host ORDER BY ts_ms DESC LIMIT {fleet.HEALTH_ROWS_PER_HOST})"
)


def unknown_host(host: str) -> QueryFailedError:
    """A 404 answer naming a host storage has stored no event of."""
    return QueryFailedError(
        q.QueryError(
            error=f"unknown host {host!r}: no event of this host is stored", status_code=404
        )
    )


class HostReads(Reader):
    """Host-level reads."""

    async def hosts(self, host: str | None = None) -> list[fleet.HostRecord]:
        """Every host storage knows, by name; only `host`, which must be known, when given.

        Raises:
            QueryFailedError: a 404 when `host` is given and unknown.
        """
        sql, parameters = where_equal(f"{_HOSTS_SQL} WHERE 1", (("host", host),))
        rows = await self._rows(f"{sql} ORDER BY host", parameters)
        if host is not None and not rows:
            raise unknown_host(host)
        return [fleet.HostRecord(str(row[0]), int(row[1]), int(row[2])) for row in rows]

    async def host_states(self, host: str | None) -> dict[str, fleet.HostState]:
        """Each host's newest system sample and each of its Ollama servers' latest health."""
        suffix, parameters = where_equal(" WHERE 1", (("h.host", host),))
        systems = {
            str(row[0]): OllamaSystemMetrics.model_validate_json(redact_text(row[1]))
            for row in await self._rows(_LATEST_SYSTEM_SQL + suffix, parameters)
            if row[1] is not None
        }
        healths: dict[str, dict[str, OllamaHealth]] = {}
        sql = f"{_RECENT_HEALTH_SQL}{suffix} ORDER BY x.ts_ms DESC"
        for name, url, data in await self._rows(sql, parameters):
            by_url = healths.setdefault(str(name), {})
            if url not in by_url:  # newest first: only each URL's newest is parsed
                by_url[url] = OllamaHealth.model_validate_json(redact_text(data))
        return {
            name: fleet.HostState(
                systems.get(name), fleet.latest_per_url(healths.get(name, {}).values())
            )
            for name in systems.keys() | healths.keys()
        }

    async def latest_scores(
        self, pairs: Sequence[fleet.HostModel]
    ) -> dict[fleet.HostModel, ModelScore]:
        """The newest score of each (host, model): one index search each, never another host's."""
        found: dict[fleet.HostModel, ModelScore] = {}
        for start in range(0, len(pairs), MAX_PAIRS_PER_SELECT):
            chunk = pairs[start : start + MAX_PAIRS_PER_SELECT]
            values = ", ".join("(?, ?)" for _ in chunk)
            sql = (
                "SELECT p.column1, p.column2, (SELECT data FROM scores s "  # noqa: S608
                "WHERE s.host = p.column1 AND s.model_name = p.column2 "
                f"ORDER BY s.ts_ms DESC LIMIT 1) FROM (VALUES {values}) p"
            )
            for row in await self._rows(sql, [part for pair in chunk for part in pair]):
                if row[2] is not None:
                    found[(str(row[0]), str(row[1]))] = ModelScore.model_validate_json(
                        redact_text(row[2])
                    )
        return found
