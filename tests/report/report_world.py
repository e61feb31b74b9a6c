"""A small, hand-checked world for the report tests, synced into a real state file.

The records go through the real engine (mirror, dirty sets, derive, ledger) via a connector
that hands each kind over in one page, so the report reads exactly what a sync leaves. The
expected figures in the tests are worked out by hand from the dates below.

Owners: u1 (t1, t2 and its converted lead l1, p1, o1, a1), u2 (t3, p2, c1, r1), none (a2).
``NOW`` is 2026-06-15.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from milestones.connectors.base import FieldStatus, Page, RecordKind, Usage, Window, WriteResult
from milestones.connectors.hubspot.settings import HUBSPOT_FIELD_NAMES
from milestones.mapping.fields import Change
from milestones.mapping.records import Activity, Contact, Deal, Stage
from milestones.mapping.rules import MappingRules
from milestones.store.sqlite import Store
from milestones.sync.engine import Engine
from milestones.sync.run import RunOptions

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
RULES = MappingRules(stages={"contractsent": "opportunity", "closedwon": "client"})
STAGES = [
    Stage("appointmentscheduled", "Appointment", "default", probability=0.2, display_order=0),
    Stage("contractsent", "Contract sent", "default", probability=0.9, display_order=1),
    Stage("closedwon", "Won", "default", is_closed=True, is_won=True, display_order=2),
]


def at(day: str) -> datetime:
    """Noon UTC on an ISO day."""
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def _email(aid: str, who: str, day: str, direction: str = "inbound") -> Activity:
    return Activity(aid, "email", direction=direction, occurred_at=at(day), contact_ids=(who,))  # type: ignore[arg-type]


def _person(pid: str, owner: str | None, created: str, **kw: object) -> Contact:
    return Contact(
        pid,
        email=f"{pid}@example.com",
        first_name=pid.upper(),
        last_name="Person",
        owner_id=owner,
        created_at=at(created),
        **kw,  # type: ignore[arg-type]
    )


def world() -> dict[RecordKind, list[object]]:
    """The records, by kind."""
    contacts = [
        _person("t1", "u1", "2026-01-01", referred_by="p1"),
        _person("t2", "u1", "2026-03-01"),
        _person("t3", "u2", "2025-05-01", lead_status="UNQUALIFIED"),
        _person("p1", "u1", "2026-01-10"),
        _person("p2", "u2", "2026-02-01", lead_status="UNQUALIFIED"),
        _person("o1", "u1", "2026-01-01"),
        _person("c1", "u2", "2025-10-01"),
        _person("a1", "u1", "2025-01-01"),
        _person("r1", "u2", "2025-07-01", referred_by="A1@Example.com"),
        _person("a2", None, "2025-12-01", properties={"hs_feedback_last_nps_rating": "10"}),
        _person("x1", "u1", "2025-01-01", is_deleted=True),
        Contact("l1", kind="lead", email="t2@old.example", converted_to="t2", owner_id="u1"),
    ]
    deals = [
        Deal("d1", stage_id="contractsent", stage_changed_at=at("2026-02-10"), contact_ids=("o1",)),
        Deal("d3", stage_id="contractsent", stage_changed_at=at("2025-11-15"), contact_ids=("c1",)),
        Deal("d2", stage_id="closedwon", close_date=date(2025, 12, 1), contact_ids=("c1",)),
        Deal(
            "d4",
            stage_id="closedwon",
            close_date=date(2025, 3, 1),
            amount=1000.0,
            contact_ids=("a1",),
        ),
        Deal(
            "d5",
            stage_id="closedwon",
            close_date=date(2025, 8, 1),
            amount=5000.0,
            contact_ids=("r1",),
        ),
        Deal(
            "d6",
            stage_id="appointmentscheduled",
            created_at=at("2025-06-20"),
            amount=2000.0,
            referred_by="a1",
        ),
        Deal(
            "d7",
            stage_id="closedwon",
            close_date=date(2026, 1, 15),
            amount=3000.0,
            contact_ids=("a2",),
        ),
    ]
    activities = [
        _email("e-t2a", "t2", "2026-04-01", "outbound"),
        _email("e-t2b", "t2", "2026-05-01", "outbound"),
        _email("e-l1", "l1", "2026-03-15", "outbound"),  # on t2's converted lead
        Activity("n-t1", "note", occurred_at=at("2026-02-01"), contact_ids=("t1",)),  # no touch
        _email("e-p1", "p1", "2026-02-10"),
        _email("e-p2", "p2", "2026-02-21"),
        _email("e-o1", "o1", "2026-01-11"),
        _email("e-c1", "c1", "2025-11-01"),
        _email("e-a1", "a1", "2025-02-01"),
        _email("e-a1-late", "a1", "2026-06-01"),
        _email("e-r1", "r1", "2025-07-05"),
        _email("e-a2", "a2", "2025-12-10"),
    ]
    return {"contacts": contacts, "deals": deals, "deal_contacts": [], "activities": activities}


class StaticCRM:
    """A connector over fixed records: each kind comes in one page, whatever the window."""

    provider = "hubspot"
    write_batch_size = 100
    writes_by_parent = False
    kinds: tuple[RecordKind, ...] = ("contacts", "deals", "deal_contacts", "activities")

    def __init__(self, records: dict[RecordKind, list[object]], provider: str = "hubspot") -> None:
        self.provider = provider
        self.records = records
        self._usage = Usage()

    def stages(self) -> list[Stage]:
        self._usage.count("meta")
        return list(STAGES)

    def property_history(
        self, ids: Sequence[str], names: Sequence[str]
    ) -> dict[str, dict[str, list[tuple[datetime, str | None]]]]:
        return {}

    def use_stages(self, stages: Sequence[Stage]) -> None:
        pass

    def pull(self, kind: RecordKind, window: Window, resume: str | None = None) -> Iterator[Page]:
        self._usage.count("read")
        yield Page(kind, self.records.get(kind, []))  # type: ignore[arg-type]

    def write(self, changes: Sequence[Change]) -> list[WriteResult]:
        return [WriteResult(c.record_id, True) for c in changes]

    def ensure_fields(self, dry_run: bool) -> list[FieldStatus]:
        return []

    def usage(self) -> Usage:
        return self._usage

    def close(self) -> None:
        pass


def sync_world(
    path: Path,
    records: dict[RecordKind, list[object]] | None = None,
    rules: MappingRules = RULES,
    provider: str = "hubspot",
) -> Path:
    """Sync ``records`` (default: ``world()``) into a new state file at ``path``."""
    with Store(path) as state:
        crm = StaticCRM(records or world(), provider)
        engine = Engine(state, crm, rules, HUBSPOT_FIELD_NAMES, clock=lambda: NOW)
        engine.run(RunOptions(writeback=False))
    return path
