"""The Salesforce sandbox's sObject Get Deleted resource (``sobjects/{Type}/deleted``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from milestones.sandbox.salesforce.org import Org
from milestones.sandbox.salesforce.soql.parser import SoqlError, format_datetime
from milestones.sandbox.server.http import Request, Response, json_response

DAY_MS = 86_400_000


def deleted_handler(server: Org) -> Any:
    """``sobjects/{Type}/deleted/?start=&end=``: the ids deleted in the window, as the delete
    log keeps them: rows in the recycle bin and rows deleted for good (an emptied recycle
    bin, a hard delete) alike.

    Source: https://developer.salesforce.com/docs/platform/api-rest/guide/resources-getdeleted.md
    (and getDeleted() in the SOAP API guide): results "for no more than 15 days previous to
    the day the call is executed"; a ``start`` before ``earliestDateAvailable`` is refused
    with ``INVALID_REPLICATION_DATE``, as is an ``end`` before ``start``; the seconds of both
    are ignored (whole minutes), and ``latestDateCovered`` is the end of the window, never
    later than now.
    """

    def handle(req: Request, version: str, sobject: str) -> Response:
        try:
            obj = server.catalog.object_named(sobject)
            start, end = (_epoch_ms(req.param(k) or "") for k in ("start", "end"))
        except (SoqlError, ValueError):
            return _refused("start and end must be ISO datetimes")
        now = server.world.clock()
        earliest = _minute(now - 15 * DAY_MS)
        start, end = _minute(start), min(_minute(end), _minute(now))
        if start < earliest:
            return _refused(f"startDate cannot be earlier than {format_datetime(earliest)}")
        if end < start:
            return _refused("endDate must be after startDate")
        stamp = obj.fields["SystemModstamp"].get
        gone = {
            obj.row_id(row): stamp(row)
            for row in obj.rows(True)
            if obj.is_deleted is not None and obj.is_deleted(row) and start <= stamp(row) < end
        }
        for rid, ts in obj.purged() if obj.purged is not None else ():
            if start <= ts < end:
                gone[rid] = ts - ts % 1000  # whole seconds, as every Salesforce datetime
        return json_response(200, {
            "deletedRecords": [
                {"id": rid, "deletedDate": format_datetime(ts)} for rid, ts in gone.items()
            ],
            "earliestDateAvailable": format_datetime(earliest),
            "latestDateCovered": format_datetime(end),
        })  # fmt: skip

    return handle


def _minute(ms: int) -> int:
    return ms - ms % 60_000


def _epoch_ms(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _refused(message: str) -> Response:
    return json_response(400, [{"message": message, "errorCode": "INVALID_REPLICATION_DATE"}])
