"""Property history of contacts: HubSpot's batch read with ``propertiesWithHistory``.

Each record read this way comes with ``propertiesWithHistory: {name: [{value, timestamp,
sourceType, sourceId...}]}``, every value the property held and when it was set. With history
asked, a batch read takes at most 50 inputs, not 100 ("The maximum number of inputs supported
in a batch request for property histories is 50"; reference/hubspot-api.md section 1.3;
https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/post-crm-v3-objects-contacts-batch-read).
Search cannot return history (hubspot-api-python#244), so this is a call of its own, made
only for the few people whose flag has no date yet (``sync.flag_dates``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from milestones.connectors.hubspot.http import HubSpotHttp
from milestones.connectors.hubspot.records import parse_time

HISTORY_BATCH = 50  # batch read inputs with propertiesWithHistory

History = dict[str, dict[str, list[tuple[datetime, str | None]]]]


def read_history(
    http: HubSpotHttp, object_type: str, ids: Sequence[str], names: Sequence[str]
) -> History:
    """Record id -> property -> its (moment, value) changes; records not found are left out."""
    found: History = {}
    for start in range(0, len(ids), HISTORY_BATCH):
        chunk = ids[start : start + HISTORY_BATCH]
        response = http.call(
            "read",
            "POST",
            http.paths.batch_read(object_type),
            query={"archived": False},
            body={
                "inputs": [{"id": i} for i in chunk],
                "properties": ["hs_object_id"],
                "propertiesWithHistory": list(names),
            },
        )
        for record in response.data.get("results") or []:
            found[str(record["id"])] = _changes(record.get("propertiesWithHistory") or {})
    return found


def _changes(raw: dict[str, Any]) -> dict[str, list[tuple[datetime, str | None]]]:
    out: dict[str, list[tuple[datetime, str | None]]] = {}
    for name, entries in raw.items():
        changes = []
        for entry in entries or []:
            at = parse_time(entry.get("timestamp"))
            if at is not None:
                value = entry.get("value")
                changes.append((at, None if value is None else str(value)))
        out[str(name)] = changes
    return out
