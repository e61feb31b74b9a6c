"""The Salesforce connector: pulls people, deals, contact roles and activities, writes the
milestone fields back, and keeps the run inside its share of the daily API allocation.

Pulls are one SOQL query per object through ``queryAll`` (so deleted and merged rows come
with ``IsDeleted``; reference section 1.4), bounded by ``SystemModstamp`` in the window when
incremental, ordered by ``(SystemModstamp, Id)``, paged through ``nextRecordsUrl``. Each
API page becomes one ``Page`` whose resume token is the last ``(SystemModstamp, Id)`` read,
so a pull restarts from a keyset position, not an expiring cursor (reference section 1.3).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from simple_salesforce.format import format_soql

from milestones.connectors.base import (
    ConfigurationError,
    DeletedRecords,
    FieldStatus,
    OnWait,
    Page,
    Record,
    RecordKind,
    StreamError,
    Usage,
    Window,
    WriteResult,
)
from milestones.connectors.fields import WriteSpec
from milestones.connectors.salesforce import deleted
from milestones.connectors.salesforce import records as convert
from milestones.connectors.salesforce.client import LocatorExpired, SalesforceClient
from milestones.connectors.salesforce.fields import FieldManager
from milestones.connectors.salesforce.schema import Schema
from milestones.connectors.salesforce.settings import AnySalesforceSettings
from milestones.connectors.salesforce.soql import (
    OWNER_QUERY,
    STAGE_QUERY,
    Position,
    id_chunks,
    parse_datetime,
    selectable,
    window_query,
)
from milestones.connectors.salesforce.write import BATCH_SIZE, CollectionWriter
from milestones.connectors.transport import Clock, Sleep
from milestones.mapping.fields import Change
from milestones.mapping.records import Stage

if TYPE_CHECKING:  # the plays' tasks are loaded by the runs that create them only
    from milestones.connectors.salesforce.tasks import SalesforceTasks

log = logging.getLogger(__name__)
OBJECTS: dict[RecordKind, tuple[str, ...]] = {
    "contacts": ("Contact", "Lead"),
    "deals": ("Opportunity",),
    "deal_contacts": ("OpportunityContactRole",),
    "activities": ("Task", "Event", "EmailMessage"),
}
WRITTEN_OBJECTS = ("Contact", "Lead", "Opportunity")
# Objects an org may lack (EmailMessage needs Enhanced Email or Email-to-Case).
OPTIONAL_OBJECTS = frozenset({"EmailMessage"})
# Who sent a received email: its EmailMessageRelation of type FromAddress. Read as a
# subquery of each EmailMessage page (no extra call) where describe lists the relationship,
# else looked up by id per page, in chunks that keep each URL under 16 KB.
SENDERS_RELATIONSHIP = "EmailMessageRelations"
SENDERS_SUBQUERY = (
    "(SELECT RelationId FROM EmailMessageRelations WHERE RelationType = 'FromAddress')"
)
# When each Opportunity entered each stage: its OpportunityHistory rows (one per change of
# stage, amount, probability or close date; read-only, created by Salesforce), read as a
# subquery of each Opportunity page where describe lists the relationship: no extra call.
# https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_opportunityhistory.htm
HISTORY_RELATIONSHIP = "OpportunityHistories"
HISTORY_SUBQUERY = "(SELECT StageName, CreatedDate FROM OpportunityHistories ORDER BY CreatedDate)"
# When a person's advocacy flags were set: their ContactHistory / LeadHistory rows (one per
# change of a field whose history the org tracks, kept 18 months, 24 through the API), read
# as a subquery of each Contact and Lead page where describe lists the relationship: no extra
# call. A field the org does not track has no rows, and its date stays inferred.
# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contacthistory.htm
# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_leadhistory.htm
FIELD_HISTORY_RELATIONSHIP = "Histories"
FIELD_HISTORY_SUBQUERY = (
    "(SELECT Field, NewValue, CreatedDate FROM Histories WHERE Field IN {names} "
    "ORDER BY CreatedDate)"
)
EMAIL_SENDERS = (
    "SELECT EmailMessageId, RelationId FROM EmailMessageRelation "
    "WHERE RelationType = 'FromAddress' AND EmailMessageId IN {ids}"
)


class SalesforceConnector:
    """The ``Connector`` for Salesforce, built on simple-salesforce over one request path."""

    provider = "salesforce"
    write_batch_size = BATCH_SIZE
    writes_by_parent = True  # an account's contacts in one batch: fewer row-lock conflicts
    kinds: tuple[RecordKind, ...] = ("contacts", "deals", "deal_contacts", "activities")
    log_days = deleted.LOG_DAYS
    log_kinds: tuple[RecordKind, ...] = tuple(deleted.LOGGED)

    def __init__(
        self,
        settings: AnySalesforceSettings,
        spec: WriteSpec,
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        session: requests.Session | None = None,
        referrer_property: str | None = None,
        page_size: int | None = None,
        describe_cache: Path | None = None,
    ) -> None:
        self.settings = settings
        # Salesforce pages at up to 2,000 rows; smaller pages only for tests and slow links
        # (Sforce-Query-Options, reference section 1.2).
        self._query_headers = (
            {"Sforce-Query-Options": f"batchSize={page_size}"} if page_size else {}
        )
        self.spec = spec
        self.referrer_property = referrer_property or spec.referrer
        # ``clock`` is taken so both connectors are built alike (sync.factory); Salesforce has
        # no rolling-window pacer to give it to.
        self.client = SalesforceClient(settings, sleep=sleep, session=session)
        pulled = [o for kind in self.kinds for o in OBJECTS[kind]]
        self.schema = Schema(self.client, describe_cache, together=pulled)
        self.writer = CollectionWriter(self.client, spec, sleep)
        self.fields = FieldManager(self.client, self.schema, spec)
        self.forecast: dict[str, int] = {}  # query pages each object's pull still needs

    # -- catalogue ------------------------------------------------------------------------
    def stages(self) -> list[Stage]:
        """Every Opportunity stage, keyed on its API name, in the org's sort order."""
        return [convert.stage(row) for rows in self._pages(STAGE_QUERY) for row in rows[0]]

    def owners(self) -> dict[str, str]:
        """User Id -> Name: every user who can own a record (inactive ones too)."""
        return {
            str(row["Id"]): str(row["Name"])
            for rows, _ in self._pages(OWNER_QUERY)
            for row in rows
            if row.get("Id") and row.get("Name")
        }

    def use_stages(self, stages: Sequence[Stage]) -> None:
        """Nothing to take: Salesforce pulls need no stage catalogue."""

    # -- pulls ----------------------------------------------------------------------------
    def pull(self, kind: RecordKind, window: Window, resume: str | None = None) -> Iterator[Page]:
        """Pages of ``kind`` changed in ``window``; ``resume`` continues an earlier pull."""
        objects = [o for o in OBJECTS[kind] if self._has(o)]
        start = Position.parse(resume, objects) if resume else None
        if start is not None:
            objects = objects[objects.index(start.sobject) :]
        for number, sobject in enumerate(objects):
            after = start if start is not None and start.sobject == sobject else None
            following = objects[number + 1] if number + 1 < len(objects) else None
            yield from self._pull_object(kind, sobject, window, after, following)

    def property_history(
        self, ids: Sequence[str], names: Sequence[str]
    ) -> dict[str, dict[str, list[tuple[datetime, str | None]]]]:
        """Nothing apart from the pull: field history comes with the people it dates."""
        return {}

    def deleted(self, kind: RecordKind, start: datetime, end: datetime) -> DeletedRecords:
        """The ids of ``kind`` deleted in [start, end), from the org's delete log
        (``deleted.read_deleted``); one request per sObject."""

        def call(sobject: str) -> dict[str, Any]:
            api = getattr(self.client.sf, sobject)
            return self.client.call("deleted", api.deleted, start, end)  # type: ignore[no-any-return]

        return deleted.read_deleted(call, kind, start, end)

    def _has(self, sobject: str) -> bool:
        return sobject not in OPTIONAL_OBJECTS or self.schema.exists(sobject)

    def _pull_object(
        self,
        kind: RecordKind,
        sobject: str,
        window: Window,
        after: Position | None,
        following: str | None,
    ) -> Iterator[Page]:
        fields, where = self._selection(sobject)
        position = after
        restarts = 0
        while True:
            soql = window_query(sobject, fields, window.until, window.since, position, where)
            is_cached = self.schema.is_cached(sobject)
            try:
                for rows, is_last in self._pages(soql, include_deleted=True, sobject=sobject):
                    position = advance(position, sobject, rows, window.until)
                    resume: str | None = (position or Position(sobject)).token()
                    if is_last:
                        resume = Position(following).token() if following else None
                    yield self._page(kind, sobject, rows, resume)
                return
            except LocatorExpired:
                # The cursor died (idle, or opened by a session we replaced): the keyset
                # position is exact, so the query restarts right after the last row read.
                restarts += 1
                if restarts >= self.settings.pacing.max_attempts:
                    raise
                log.warning("salesforce: %s cursor expired; restarting from %s", sobject, position)
            except StreamError as error:
                # Field names from an earlier run's describe, and the org no longer shows
                # one of them (deleted, or its field-level security revoked), or a child
                # relationship it no longer lets us read (OpportunityHistories): describe again.
                if error.code not in ("INVALID_FIELD", "INVALID_TYPE") or not is_cached:
                    raise
                log.warning("salesforce: %s changed since it was described; describing", sobject)
                self.schema.forget(sobject)
                fields, where = self._selection(sobject)

    def _selection(self, sobject: str) -> tuple[list[str], str | None]:
        """The fields a pull of ``sobject`` reads, and its fixed WHERE condition."""
        fields = selectable(sobject, self.schema.names(sobject), self._extra(sobject))
        where = None
        if sobject == "EmailMessage":
            where = "Incoming = true"
            if SENDERS_RELATIONSHIP in self.schema.children(sobject):
                fields.append(SENDERS_SUBQUERY)
        elif sobject == "Opportunity" and HISTORY_RELATIONSHIP in self.schema.children(sobject):
            fields.append(HISTORY_SUBQUERY)
        elif sobject in ("Contact", "Lead"):
            tracked = [n for n in self.spec.history_properties if n in fields]
            if tracked and FIELD_HISTORY_RELATIONSHIP in self.schema.children(sobject):
                fields.append(format_soql(FIELD_HISTORY_SUBQUERY, names=tracked))
        return fields, where

    def _pages(
        self, soql: str, *, include_deleted: bool = False, sobject: str | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        """The API pages of one query, streamed: (rows, is_last)."""
        sf = self.client.sf
        headers = self._query_headers
        result = self.client.call(
            "query", lambda: sf.query(soql, include_deleted=include_deleted, headers=headers)
        )
        if sobject is not None:
            self._forecast(sobject, result)
        followed: set[str] = set()
        while True:
            if not isinstance(result, dict) or not isinstance(result.get("records"), list):
                # Read as "no rows, done", it would complete the pull and move the cursor
                # past every record not yet read.
                raise StreamError(
                    "malformed query answer: no records list",
                    connector="salesforce",
                    object_name=sobject,
                )
            done = bool(result.get("done", True))
            yield list(result["records"]), done
            if done:
                return
            url = result.get("nextRecordsUrl")
            if not isinstance(url, str) or not url.startswith("/services/data/"):
                # query_more prefixes the instance host, so "@other-host/..." would send the
                # session to another host: only a path on the configured host is followed.
                raise StreamError(
                    "malformed query answer: nextRecordsUrl is not a path on this instance",
                    connector="salesforce",
                    object_name=sobject,
                )
            if url in followed:  # a vendor that repeats itself would page forever
                raise StreamError(
                    f"malformed query answer: nextRecordsUrl {url} came twice",
                    connector="salesforce",
                    object_name=sobject,
                )
            followed.add(url)
            result = self.client.call(
                "query",
                lambda url=url: sf.query_more(url, identifier_is_url=True, headers=headers),
            )
            if sobject is not None:
                self.forecast[sobject] = max(0, self.forecast.get(sobject, 1) - 1)

    def _forecast(self, sobject: str, first: dict[str, Any]) -> None:
        """Pages still to read for ``sobject``, from the first page's ``totalSize``."""
        size = max(len(first.get("records") or []), 1)
        left = max(0, int(first.get("totalSize") or 0) - size)
        self.forecast[sobject] = 0 if first.get("done", True) else math.ceil(left / size)
        budget_left = self.client.budget.left(self.client.usage.daily_remaining)
        if budget_left is not None and self.forecast[sobject] > budget_left:
            log.warning(
                "salesforce: %s needs %d more query pages, the budget leaves %d; the run "
                "will stop at the guard and resume next time",
                sobject,
                self.forecast[sobject],
                budget_left,
            )

    def _extra(self, sobject: str) -> list[str]:
        """Fields read besides the base ones: our written fields and the configured extras."""
        if sobject in ("Contact", "Lead"):
            keys = self.fields.person_keys()
        elif sobject == "Opportunity":
            keys = self.fields.deal_keys()
        else:
            return []
        return [*self.spec.extra_properties, *(self.spec.name(k) for k in keys)]

    def _page(
        self, kind: RecordKind, sobject: str, rows: list[dict[str, Any]], resume: str | None
    ) -> Page:
        deleted = [r["Id"] for r in rows if r.get("IsDeleted")]
        # A page without deleted rows (an incremental run's usual page) is live as a whole.
        live = [r for r in rows if not r.get("IsDeleted")] if deleted else rows
        records: list[Record]
        props = self._extra(sobject)
        if sobject in ("Contact", "Lead"):
            records = [convert.person(r, sobject, props, self.referrer_property) for r in live]
        elif sobject == "Opportunity":
            records = [convert.deal(r, props, self.referrer_property) for r in live]
        elif sobject == "OpportunityContactRole":
            return Page(kind, [convert.link(r) for r in rows], resume, deleted)
        elif sobject == "Task":
            records = [convert.task(r) for r in live]
        elif sobject == "Event":
            records = [convert.event(r) for r in live]
        else:
            if live and all(SENDERS_RELATIONSHIP in r for r in live):
                senders = {r["Id"]: _nested_senders(r) for r in live}
            else:
                senders = self._email_senders([r["Id"] for r in live])
            records = [convert.email_message(r, senders.get(r["Id"], ())) for r in live]
        return Page(kind, records, resume, deleted)

    def _email_senders(self, message_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Who sent each received email: EmailMessageRelation rows of type FromAddress."""
        found: dict[str, tuple[str, ...]] = {}
        if not message_ids:
            return found
        base = self.client.sf.base_url + "query/"
        for soql, _chunk in id_chunks(EMAIL_SENDERS, message_ids, base):
            for rows, _last in self._pages(soql):
                for row in rows:
                    if row.get("RelationId"):
                        found[row["EmailMessageId"]] = (
                            *found.get(row["EmailMessageId"], ()),
                            row["RelationId"],
                        )
        return found

    # -- writes, fields, usage ------------------------------------------------------------
    def write(self, changes: Sequence[Change]) -> list[WriteResult]:
        """One sObject Collections call per batch (plus retries of locked rows).

        A write refused for naming a field the user cannot see drops the written objects'
        kept describes, so the next run sees the org's fields as they are now.
        """
        try:
            return self.writer.write(changes)
        except ConfigurationError as error:
            if error.code in ("INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE"):
                for sobject in WRITTEN_OBJECTS:
                    self.schema.forget(sobject)
            raise

    def ensure_fields(self, dry_run: bool) -> list[FieldStatus]:
        """Check, and unless ``dry_run`` create and grant, every written field."""
        return self.fields.ensure(dry_run)

    def tasks(self) -> SalesforceTasks:
        """Create, check and complete the plays' tasks (``connectors.tasks.TaskApi``)."""
        from milestones.connectors.salesforce.tasks import SalesforceTasks

        return SalesforceTasks(self.client, self._pages)

    def usage(self) -> Usage:
        """Calls by category (query, write, meta, auth) and the org's daily quota."""
        return self.client.usage

    def rules_version(self) -> str | None:
        """Not read: the org's validation rules live in the Metadata/Tooling APIs; a refused
        write is tried again when its record changes."""
        return None

    def watch_waits(self, on_wait: OnWait | None) -> None:
        """Tell ``on_wait`` of every pacing and retry wait on the request path."""
        self.client.transport.on_wait = on_wait

    def close(self) -> None:
        """Release pooled connections."""
        self.client.close()


def advance(
    position: Position | None, sobject: str, rows: list[dict[str, Any]], until: datetime
) -> Position | None:
    """The keyset position after ``rows``: the greatest (SystemModstamp, Id) inside the
    window. A row edited while the pull runs can show a stamp past ``until`` (its values
    are read when its page is); it is still yielded, but must not move the position, or a
    restart would skip the rows after it."""
    # Runs over every row pulled: the best key is kept as plain locals and made a Position
    # once at the end, and each stamp is read by fromisoformat in place (parse_datetime only
    # to raise its error on a value it cannot read).
    best_moment: datetime | None = None
    best_stamp: str | None = None
    best_id: str | None = None
    if position is not None and position.stamp is not None:
        best_moment, best_id = parse_datetime(position.stamp), position.record_id
    fromisoformat = datetime.fromisoformat
    for row in rows:
        stamp = row.get("SystemModstamp")
        if not stamp:
            continue
        try:
            moment = fromisoformat(stamp)
        except ValueError:
            moment = parse_datetime(stamp)  # raises the StreamError that names the value
        if moment.tzinfo is not UTC:
            moment = moment.astimezone(UTC)
        if moment >= until:
            continue
        if (
            best_moment is None
            or moment > best_moment
            or (moment == best_moment and row["Id"] > best_id)
        ):
            best_moment, best_stamp, best_id = moment, stamp, row["Id"]
    return position if best_stamp is None else Position(sobject, best_stamp, best_id)


def _nested_senders(row: dict[str, Any]) -> tuple[str, ...]:
    """RelationIds from an EmailMessage's nested EmailMessageRelations (null: none)."""
    nested = row.get(SENDERS_RELATIONSHIP) or {}
    return tuple(r["RelationId"] for r in nested.get("records") or [] if r.get("RelationId"))
