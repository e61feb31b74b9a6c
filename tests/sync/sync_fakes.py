"""An in-memory CRM behind the Connector Protocol, for the engine's unit tests.

It behaves like the real connectors where the engine can tell: pages ordered by (modified,
id) with a resume token, ``>=`` on ``since`` and ``<`` on ``until``, writes that store our
fields in the record's properties and bump its modified time (so the next pull sees it),
per-record failures on request, and a call counter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

from milestones.connectors.base import (
    FieldStatus,
    OnWait,
    Page,
    RecordKind,
    Usage,
    Window,
    WriteResult,
)
from milestones.connectors.hubspot.settings import HUBSPOT_FIELD_NAMES
from milestones.mapping.fields import Change
from milestones.mapping.records import Activity, Contact, Deal, Link, Stage
from milestones.store.sqlite import Store

STAGES = [
    Stage("appointmentscheduled", "Appointment", "default", probability=0.2, display_order=0),
    Stage("qualifiedtobuy", "Qualified", "default", probability=0.4, display_order=1),
    Stage("contractsent", "Contract sent", "default", probability=0.9, display_order=2),
    Stage("closedwon", "Won", "default", is_closed=True, is_won=True, display_order=3),
    Stage("closedlost", "Lost", "default", is_closed=True, display_order=4),
]
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


class FakeCRM:
    """Records by kind, each stored with its own modified time."""

    provider = "hubspot"
    write_batch_size = 3
    writes_by_parent = True
    kinds: tuple[RecordKind, ...] = ("contacts", "deals", "deal_contacts", "activities")

    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        every: tuple[RecordKind, ...] = ("contacts", "deals", "deal_contacts", "activities")
        self.records: dict[RecordKind, dict[str, object]] = {k: {} for k in every}
        self.deleted: dict[RecordKind, set[str]] = {k: set() for k in every}
        self.names = dict(HUBSPOT_FIELD_NAMES)
        self.fail_ids: dict[str, bool] = {}  # record id -> is_retryable
        self.rule_refuses: dict[str, str] = {}  # record id -> field a validation rule names
        self.rules = "rules-1"  # the fingerprint rules_version() answers
        self.write_calls: list[list[Change]] = []
        self.pull_calls = 0
        self._usage = Usage()
        self._tick = 0
        self.catalogue = list(STAGES)  # what stages() answers; a test may add a stage
        self.given_stages: list[Stage] | None = None  # the last catalogue use_stages took

    # --- test helpers -----------------------------------------------------------------

    def now(self) -> datetime:
        """A strictly increasing 'modified' time, always in the past of the real clock."""
        self._tick += 1
        return datetime.now(UTC) - timedelta(seconds=60) + timedelta(microseconds=self._tick)

    def put(self, record: Contact | Deal | Activity | Link) -> None:
        """Create or replace a record, stamping its modified time."""
        kind = _kind_of(record)
        stamped = dataclasses.replace(record, modified_at=self.now())
        self.records[kind][record.id] = stamped
        self.deleted[kind].discard(record.id)

    def update(self, kind: RecordKind, record_id: str, **values: object) -> None:
        """Change fields of a record, the way a user edits it in the CRM."""
        record = self.records[kind][record_id]
        self.put(dataclasses.replace(record, **values))  # type: ignore[type-var]

    def remove(self, kind: RecordKind, record_id: str) -> None:
        """Delete a record (only a full pull notices)."""
        self.records[kind].pop(record_id)
        self.deleted[kind].add(record_id)

    def field(self, record_id: str, key: str, kind: RecordKind = "contacts") -> str | None:
        """The CRM's value of one of our fields."""
        record = self.records[kind][record_id]
        return record.properties.get(self.names[key])  # type: ignore[attr-defined,no-any-return]

    @property
    def written_ids(self) -> list[str]:
        """Every record id sent in a write, in order."""
        return [c.record_id for batch in self.write_calls for c in batch]

    # --- the Protocol -----------------------------------------------------------------

    def stages(self) -> list[Stage]:
        self._usage.count("meta")
        return list(self.catalogue)

    def property_history(
        self, ids: Sequence[str], names: Sequence[str]
    ) -> dict[str, dict[str, list[tuple[datetime, str | None]]]]:
        return {}

    def use_stages(self, stages: Sequence[Stage]) -> None:
        self.given_stages = list(stages)

    def pull(self, kind: RecordKind, window: Window, resume: str | None = None) -> Iterator[Page]:
        selected = sorted(
            (
                r
                for r in self.records[kind].values()
                if (window.since is None or r.modified_at >= window.since)  # type: ignore[attr-defined]
                and r.modified_at < window.until  # type: ignore[attr-defined]
            ),
            key=lambda r: (r.modified_at, r.id),  # type: ignore[attr-defined]
        )
        start = int(resume or 0)
        while True:
            self._usage.count("read")
            self.pull_calls += 1
            chunk = selected[start : start + self.page_size]
            start += self.page_size
            more = start < len(selected)
            yield Page(kind, chunk, resume=str(start) if more else None)  # type: ignore[arg-type]
            if not more:
                return

    def write(self, changes: Sequence[Change]) -> list[WriteResult]:
        assert len(changes) <= self.write_batch_size
        assert len({c.object_kind for c in changes}) == 1
        self._usage.count("write")
        self.write_calls.append(list(changes))
        results = []
        for change in changes:
            if change.record_id in self.fail_ids:
                retry = self.fail_ids[change.record_id]
                results.append(WriteResult(change.record_id, False, "BAD", "refused", retry))
                continue
            if change.record_id in self.rule_refuses:
                field = self.rule_refuses[change.record_id]
                message = f"{field} is required by the portal's rule"
                refusal = WriteResult(
                    change.record_id, False, "VALIDATION_ERROR", message, False, True, field
                )
                results.append(refusal)
                continue
            kind: RecordKind = "deals" if change.object_kind == "deal" else "contacts"
            record = self.records[kind][change.record_id]
            props = dict(record.properties)  # type: ignore[attr-defined]
            props.update({self.names[k]: v for k, v in change.fields.items()})
            self.put(dataclasses.replace(record, properties=props))  # type: ignore[type-var]
            results.append(WriteResult(change.record_id, True))
        return results

    def ensure_fields(self, dry_run: bool) -> list[FieldStatus]:
        return []

    def usage(self) -> Usage:
        return self._usage

    def rules_version(self) -> str | None:
        self._usage.count("meta")
        return self.rules

    def owners(self) -> dict[str, str]:
        """The owners of the fake's people, each named after their id."""
        self._usage.count("meta")
        owners = {getattr(c, "owner_id", None) for c in self.records["contacts"].values()}
        return {o: f"Owner {o}" for o in owners if o}

    def watch_waits(self, on_wait: OnWait | None) -> None:
        self.on_wait = on_wait

    def close(self) -> None:
        pass


def _kind_of(record: object) -> RecordKind:
    if isinstance(record, Contact):
        return "contacts"
    if isinstance(record, Deal):
        return "deals"
    if isinstance(record, Link):
        return "deal_contacts"
    return "activities"


def count(store: Store, table: str, where: str = "1 = 1") -> int:
    """Rows of one of the state's tables (a test's own look into the file)."""
    row = store.db.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()
    return int(row[0])
