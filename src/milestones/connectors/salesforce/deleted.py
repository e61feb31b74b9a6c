"""Salesforce's delete log: ``GET /sobjects/{Type}/deleted/?start=&end=`` through
simple-salesforce's ``sf.Contact.deleted(start, end)``.

The log lists records deleted in a window, those deleted for good included (an emptied
recycle bin, a GDPR hard delete), which ``queryAll`` no longer returns. It answers for at most
15 days back, in whole minutes; ``latestDateCovered`` says where its answer ends, and the next
read starts there (REST API guide, resources-getdeleted; SOAP API guide, getDeleted()).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from milestones.connectors.base import DeletedRecords, RecordKind
from milestones.connectors.salesforce.soql import parse_datetime

LOG_DAYS = 15
# The sObjects whose deletions matter to the state: the ones holding people and deals.
LOGGED: dict[RecordKind, tuple[str, ...]] = {
    "contacts": ("Contact", "Lead"),
    "deals": ("Opportunity",),
}


def read_deleted(
    call: Callable[[str], dict[str, Any]], kind: RecordKind, start: datetime, end: datetime
) -> DeletedRecords:
    """The ids of ``kind`` the log lists in [start, end); ``call(sobject)`` sends one read."""
    ids: list[str] = []
    covered: datetime | None = None
    earliest: datetime | None = None
    for sobject in LOGGED[kind]:
        answer = call(sobject)
        ids.extend(str(r["id"]) for r in answer.get("deletedRecords") or [] if r.get("id"))
        until = _moment(answer.get("latestDateCovered"))
        if until is not None:
            covered = until if covered is None else min(covered, until)
        first = _moment(answer.get("earliestDateAvailable"))
        if first is not None:
            earliest = first if earliest is None else max(earliest, first)
    return DeletedRecords(ids, covered or start, earliest)


def _moment(text: Any) -> datetime | None:
    return parse_datetime(str(text)) if text else None
