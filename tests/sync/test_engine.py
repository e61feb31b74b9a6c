"""The engine against an in-memory CRM: what it writes, what it leaves alone, how it resumes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sync_fakes import T0, FakeCRM, count

from milestones.connectors.base import (
    Page,
    QuotaExhausted,
    RecordKind,
    StreamError,
    Window,
    WriteResult,
)
from milestones.mapping.fields import Change
from milestones.mapping.records import Activity, Contact, Deal, Link
from milestones.mapping.rules import MappingRules
from milestones.store.location import open_state
from milestones.store.sqlite import Store
from milestones.sync.engine import Engine
from milestones.sync.run import RunOptions, RunReport
from pg_support import Orgs, has_index

RULES = MappingRules(stages={"contractsent": "opportunity", "closedwon": "client"})


def make_world(crm: FakeCRM) -> None:
    """Six people, one converted lead, three deals, a few activities."""
    crm.put(Contact("c1", email="ann@example.com", created_at=T0))
    crm.put(Contact("c2", email="bob@example.com", created_at=T0, company_id="acme"))
    crm.put(Contact("c3", email="Cy@Example.com", created_at=T0, company_id="acme"))
    recent = datetime.now(UTC) - timedelta(days=1)  # advocacy lapses after a year
    crm.put(Contact("c4", email="dee@example.com", created_at=recent, referred_by="cy@example.com"))
    crm.put(Contact("c5", email="eve@example.com", created_at=T0))
    crm.put(Contact("c6", email="fay@example.com", created_at=T0, is_opted_out=True))
    crm.put(Contact("l1", kind="lead", email="eve@old.example", converted_to="c5"))
    crm.put(Contact("l2", kind="lead", email="gus@example.com", lead_status="UNQUALIFIED"))
    crm.put(Deal("d2", stage_id="contractsent", created_at=T0, stage_changed_at=T0))
    crm.put(Deal("d3", stage_id="closedwon", close_date=T0.date(), contact_ids=("c3",)))
    crm.put(Link("ocr2", deal_id="d2", contact_id="c2"))
    at = T0 + timedelta(days=1)
    crm.put(Activity("a1", "email", direction="inbound", occurred_at=at, contact_ids=("c1",)))
    crm.put(
        Activity(
            "a5",
            "call",
            direction="inbound",
            status="completed",
            occurred_at=at,
            contact_ids=("l1",),
        )
    )
    crm.put(Activity("a6", "email", direction="inbound", occurred_at=at, contact_ids=("c6",)))
    crm.put(Activity("a7", "email", direction="outbound", occurred_at=at, contact_ids=("c5",)))


@pytest.fixture
def crm() -> FakeCRM:
    fake = FakeCRM()
    make_world(fake)
    return fake


def run(
    state: Store,
    crm: FakeCRM,
    clock: datetime | None = None,
    lookback: timedelta = timedelta(minutes=5),
    **options: object,
) -> RunReport:
    engine = Engine(
        state,
        crm,
        RULES,
        crm.names,
        lag=timedelta(0),
        chunk_size=3,
        lookback=lookback,
        clock=(lambda: clock) if clock else lambda: datetime.now(UTC),
    )
    return engine.run(RunOptions(**options))  # type: ignore[arg-type]


def test_first_sync_writes_every_person_and_deal(state: Store, crm: FakeCRM) -> None:
    report = run(state, crm)
    assert report.exit_code == 0, report
    assert crm.field("c1", "milestone") == "prospect"
    assert crm.field("c1", "milestone_date") == "2025-01-07"
    assert crm.field("c2", "milestone") == "opportunity"
    assert crm.field("c3", "milestone") == "advocate"
    assert crm.field("c3", "is_advocate") == "true"
    assert crm.field("c4", "milestone") == "target"
    assert crm.field("c4", "next_milestone") == "prospect"
    assert crm.field("c5", "milestone") == "prospect"  # through the lead it came from
    assert crm.field("c6", "milestone") == "target"
    assert crm.field("c6", "disqualified") == "true"
    assert crm.field("l2", "disqualified") == "true"
    assert crm.field("d2", "deal_milestone", "deals") == "opportunity"
    assert crm.field("d3", "deal_milestone", "deals") == "client"
    assert "l1" not in crm.written_ids  # converted leads are never written
    assert report.figures["written"] == len(crm.written_ids) == 9
    assert all(len(batch) <= crm.write_batch_size for batch in crm.write_calls)
    acme = [c for batch in crm.write_calls for c in batch if c.group == "acme"]
    assert {c.record_id for c in acme} == {"c2", "c3"}


def test_a_crm_without_parent_locks_gets_its_writes_in_id_order(state: Store, crm: FakeCRM) -> None:
    crm.writes_by_parent = False
    assert run(state, crm).exit_code == 0
    contacts = [c for batch in crm.write_calls for c in batch if c.object_kind == "contact"]
    assert [c.record_id for c in contacts] == sorted(c.record_id for c in contacts)
    assert {"c2", "c3"} <= {c.record_id for c in contacts}
    assert not any(c.group for c in contacts)


def test_second_sync_writes_nothing(state: Store, crm: FakeCRM) -> None:
    run(state, crm)
    crm.write_calls.clear()
    report = run(state, crm)
    assert crm.write_calls == []
    assert report.figures["written"] == 0
    assert report.figures["records_read"] > 0  # our own writes came back and planned nothing


def test_changes_in_the_crm_write_only_the_affected_people(state: Store, crm: FakeCRM) -> None:
    run(state, crm)
    run(state, crm)
    crm.write_calls.clear()
    crm.update("deals", "d2", stage_id="closedwon", close_date=T0.date() + timedelta(days=3))
    crm.put(Activity("a9", "email", direction="inbound", occurred_at=T0, contact_ids=("c4",)))
    crm.put(Contact("c7", email="hal@example.com", referred_by="c2", created_at=datetime.now(UTC)))
    report = run(state, crm)
    assert report.exit_code == 0
    assert sorted(crm.written_ids) == ["c2", "c4", "c7", "d2"]
    assert crm.field("c2", "milestone") == "advocate"
    assert crm.field("c4", "milestone") == "prospect"
    rows = state.ledger.of("c2")
    assert [r.to_milestone for r in rows] == ["prospect", "opportunity", "client", "advocate"]


def test_dry_run_plans_without_writing_or_forgetting(state: Store, crm: FakeCRM) -> None:
    report = run(state, crm, dry_run=True)
    assert crm.write_calls == []
    assert report.outcome == "dry-run" and report.exit_code == 0
    assert {c.record_id for c in report.plan} >= {"c1", "c2", "d3"}
    assert count(state, "writes") == 0
    real = run(state, crm)
    assert real.figures["written"] == len(report.plan)


def test_failed_writes_are_kept_and_retried(state: Store, crm: FakeCRM) -> None:
    crm.fail_ids = {"c1": True, "c2": False}
    first = run(state, crm)
    assert first.exit_code == 1 and first.figures["failed"] == 2
    failed = {r.record_id: r for r in state.outbox.rows("failed")}
    assert failed["c1"].message == "refused" and failed["c2"].is_retryable == 0
    crm.fail_ids = {}
    crm.write_calls.clear()
    second = run(state, crm, lookback=timedelta(0))  # c2 is not pulled again
    assert crm.written_ids == ["c1"]  # c2's refusal cannot be helped by a retry
    assert second.exit_code == 0
    crm.update("contacts", "c2", first_name="Bob")  # a change plans c2 again
    run(state, crm)
    assert crm.field("c2", "milestone") == "opportunity"
    assert count(state, "writes") == 0


def test_a_rule_refusal_waits_for_its_record_or_the_rules_to_change(
    state: Store, crm: FakeCRM
) -> None:
    crm.rule_refuses = {"c2": "sales_milestone_date"}
    first = run(state, crm)
    assert first.exit_code == 1 and first.figures["failed"] == 1
    assert crm.field("c1", "milestone") is not None  # the rest of c2's batch is written
    [refused] = state.outbox.rows("refused")
    assert (refused.record_id, refused.field, refused.code) == (
        "c2",
        "sales_milestone_date",
        "VALIDATION_ERROR",
    )
    assert state.counts().writes_refused == 1
    crm.write_calls.clear()
    second = run(state, crm, lookback=timedelta(0))  # nothing changed: c2 is not sent blindly
    assert crm.written_ids == [] and second.exit_code == 0
    again = run(state, crm)  # re-read by the lookback, unchanged: still not sent
    assert crm.written_ids == [] and again.exit_code == 0
    crm.rules = "rules-2"  # an admin edits the portal's rules: c2 is tried again
    third = run(state, crm, lookback=timedelta(0))
    assert crm.written_ids == ["c2"]  # sent once more, and refused again
    assert third.exit_code == 1 and state.counts().writes_refused == 1
    crm.write_calls.clear()
    run(state, crm, lookback=timedelta(0))
    assert crm.write_calls == []  # judged by rules-2 now: waits again
    crm.rule_refuses = {}
    crm.update("contacts", "c2", first_name="Bob")  # the record changes: planned and sent
    run(state, crm)
    assert crm.field("c2", "milestone") == "opportunity"
    assert count(state, "writes") == 0


def test_full_sync_reconciles_deletions(state: Store, crm: FakeCRM) -> None:
    run(state, crm)
    crm.remove("contacts", "c4")  # the referral behind c3's advocacy
    run(state, crm)
    assert crm.field("c3", "is_advocate") == "true"  # an incremental pull cannot see it
    run(state, crm, mode="full")
    assert crm.field("c3", "is_advocate") == "false"
    assert crm.field("c3", "milestone") == "advocate"  # the milestone itself is kept
    assert count(state, "contacts", "is_deleted = 1") == 1


def test_meeting_that_ends_later_counts_without_a_change(state: Store, crm: FakeCRM) -> None:
    now = datetime.now(UTC)
    crm.put(
        Activity(
            "m1", "meeting", occurred_at=now, ends_at=now + timedelta(hours=1), contact_ids=("c4",)
        )
    )
    run(state, crm, clock=now + timedelta(seconds=1))
    assert crm.field("c4", "milestone") == "target"
    crm.write_calls.clear()
    run(state, crm, clock=now + timedelta(hours=2))
    assert crm.written_ids == ["c4"]
    assert crm.field("c4", "milestone") == "prospect"


class CrashingCRM(FakeCRM):
    """Raises after a number of pages, like a process dying mid-pull."""

    crash_after: int | None = None

    def pull(self, kind: RecordKind, window: Window, resume: str | None = None) -> Iterator[Page]:
        for page in super().pull(kind, window, resume):
            if self.crash_after is not None:
                if self.crash_after == 0:
                    raise RuntimeError("crash")
                self.crash_after -= 1
            yield page


@pytest.mark.parametrize("crash_after", [0, 1, 3, 6])
def test_a_crashed_pull_resumes_and_ends_the_same(orgs: Orgs, crash_after: int) -> None:
    reference = FakeCRM()
    make_world(reference)
    with open_state(orgs.location("ref")) as ref_state:
        run(ref_state, reference)
    crm = CrashingCRM()
    make_world(crm)
    crm.crash_after = crash_after
    with open_state(orgs.location("crash")) as state:
        with pytest.raises(RuntimeError):
            run(state, crm)
        assert state.runs.recent(1)[0].outcome == "error"
        crm.crash_after = None
        crm.pull_calls = 0
        assert run(state, crm).exit_code == 0
        run(state, crm)
        ledger = state.db.execute(
            "SELECT count(*), count(DISTINCT record_id || to_milestone) FROM ledger"
        ).fetchone()
    assert ledger[0] == ledger[1]
    for kind in ("contacts", "deals"):
        for rid, record in reference.records[kind].items():
            assert crm.records[kind][rid].properties == record.properties  # type: ignore[attr-defined]


class SlowCRM(FakeCRM):
    """Each page takes a second to read; notes how many contact pages the state held then."""

    def __init__(self, state: Store) -> None:
        super().__init__(page_size=1)
        self.state, self.seconds = state, 0.0
        self.stored_before: list[int] = []

    def pull(self, kind: RecordKind, window: Window, resume: str | None = None) -> Iterator[Page]:
        for page in super().pull(kind, window, resume):
            self.seconds += 1.0
            if kind == "contacts":
                self.stored_before.append(self.state.cursors.get("hubspot", kind, "sync").pages)
            yield page


def test_pages_are_stored_together_once_the_first_is_two_seconds_old(state: Store) -> None:
    crm = SlowCRM(state)
    make_world(crm)  # eight people: eight contact pages of one
    engine = Engine(state, crm, RULES, crm.names, lag=timedelta(0))
    engine.puller._clock = lambda: crm.seconds
    assert engine.run(RunOptions()).exit_code == 0
    # Read at 1, 2, 3 s: stored with the third; the last page is stored as it comes.
    assert crm.stored_before == [0, 0, 0, 3, 3, 3, 6, 6]
    assert state.cursors.get("hubspot", "contacts", "sync").committed is not None


def test_a_failed_read_keeps_the_pages_read_before_it(state: Store) -> None:
    crm = CrashingCRM()
    make_world(crm)
    crm.crash_after = 3  # three pages of two contacts, then the read fails
    with pytest.raises(RuntimeError):
        run(state, crm)
    cursor = state.cursors.get("hubspot", "contacts", "sync")
    assert cursor.is_running and cursor.pages == 3 and cursor.resume == "6"
    held = state.db.execute("SELECT count(*) FROM contacts").fetchone()[0]
    assert held == 6


@pytest.mark.parametrize("crash_after", [0, 3, None])
def test_a_first_pull_builds_the_link_index_after_it_ends_or_fails(
    orgs: Orgs, crash_after: int | None
) -> None:
    crm = CrashingCRM()
    make_world(crm)
    crm.crash_after = crash_after
    with open_state(orgs.location()) as state:
        if crash_after is None:
            assert run(state, crm).exit_code == 0
        else:
            with pytest.raises(RuntimeError):
                run(state, crm)
        assert has_index(state, "activity_contacts_contact")


def test_a_stop_request_checkpoints_after_the_current_page(state: Store, crm: FakeCRM) -> None:
    engine = Engine(
        state,
        crm,
        RULES,
        crm.names,
        lag=timedelta(0),
        progress=lambda kind, report, calls: engine.request_stop(),
    )
    report = engine.run(RunOptions())
    assert report.outcome == "interrupted" and report.exit_code == 1
    assert report.figures["records_read"] == crm.page_size
    cursor = state.cursors.get("hubspot", "contacts", "sync")
    assert cursor.is_running and cursor.resume == str(crm.page_size)
    assert run(state, crm).exit_code == 0
    assert crm.field("c1", "milestone") == "prospect"


def test_backfill_leaves_the_incremental_cursors_alone(state: Store, crm: FakeCRM) -> None:
    run(state, crm)
    before = state.cursors.get("hubspot", "contacts", "sync")
    crm.write_calls.clear()
    report = run(state, crm, mode="backfill", since=T0, until=None)
    assert report.exit_code == 0 and crm.write_calls == []
    assert state.cursors.get("hubspot", "contacts", "sync") == before
    assert state.cursors.get("hubspot", "contacts", "backfill").is_running is False


def test_changed_rules_derive_everyone_again(state: Store, crm: FakeCRM) -> None:
    run(state, crm)
    engine = Engine(
        state, crm, MappingRules(stages={"contractsent": "prospect"}), crm.names, lag=timedelta(0)
    )
    crm.write_calls.clear()
    engine.run(RunOptions())
    assert crm.field("d2", "deal_milestone", "deals") == "opportunity"  # a high-water mark
    assert count(state, "dirty") == 0


def test_advocacy_lapses_with_time_alone(state: Store, crm: FakeCRM) -> None:
    now = datetime.now(UTC)
    run(state, crm, clock=now)
    assert crm.field("c3", "is_advocate") == "true"
    crm.write_calls.clear()
    run(state, crm, clock=now + timedelta(days=400))  # the referral is over a year old
    assert crm.written_ids == ["c3"]
    assert crm.field("c3", "is_advocate") == "false"
    assert crm.field("c3", "milestone") == "advocate"


class QuotaCRM(FakeCRM):
    """Refuses writes once its daily quota is spent."""

    quota_left = 1

    def write(self, changes: Sequence[Change]) -> list[WriteResult]:
        if self.quota_left <= 0:
            raise QuotaExhausted("daily quota spent", connector="fake")
        self.quota_left -= 1
        return super().write(changes)


def test_a_spent_quota_stops_the_run_and_the_next_one_goes_on(state: Store) -> None:
    crm = QuotaCRM()
    make_world(crm)
    first = run(state, crm)
    assert first.outcome == "quota" and first.exit_code == 1
    assert first.figures["written"] == crm.write_batch_size
    assert count(state, "writes", "status = 'pending'") == 9 - crm.write_batch_size
    crm.quota_left = 10
    second = run(state, crm)
    assert second.exit_code == 0
    assert crm.field("d3", "deal_milestone", "deals") == "client"
    assert count(state, "writes") == 0


class BrokenDealsCRM(FakeCRM):
    """The deals stream fails (after the connector's own retries) until ``is_fixed``."""

    is_fixed = False

    def pull(self, kind: RecordKind, window: Window, resume: str | None = None) -> Iterator[Page]:
        if kind == "deals" and not self.is_fixed:
            raise StreamError("deals answered garbage", connector="fake")
        yield from super().pull(kind, window, resume)


def test_a_broken_stream_holds_writes_until_every_kind_reads(state: Store) -> None:
    crm = BrokenDealsCRM()
    make_world(crm)
    report = run(state, crm)
    assert report.outcome == "failures" and report.exit_code == 1
    assert "deals: fake: deals answered garbage" in report.detail
    assert "derive and write held" in report.detail
    assert state.cursors.get("hubspot", "contacts", "sync").committed is not None  # others read
    assert state.cursors.get("hubspot", "deals", "sync").committed is None
    assert crm.written_ids == []  # no milestone from a mirror without its deals
    crm.is_fixed = True
    assert run(state, crm).exit_code == 0
    assert crm.field("c1", "milestone") == "prospect"


def test_leads_are_not_written_when_the_config_says_so(state: Store, crm: FakeCRM) -> None:
    engine = Engine(state, crm, RULES, crm.names, lag=timedelta(0), objects=("contact", "deal"))
    engine.run(RunOptions())
    assert "l2" not in crm.written_ids and "c1" in crm.written_ids


class RollupCRM(FakeCRM):
    """Like HubSpot in rollups mode: contact pages carry synthesized reply activities."""

    kinds: tuple[RecordKind, ...] = ("contacts", "deals", "deal_contacts")

    def pull(self, kind: RecordKind, window: Window, resume: str | None = None) -> Iterator[Page]:
        for page in super().pull(kind, window, resume):
            if kind == "contacts":
                extra = [
                    Activity(
                        f"r-{c.id}",
                        "email",
                        direction="inbound",
                        occurred_at=T0,
                        contact_ids=(c.id,),
                    )
                    for c in page.records
                    if c.id == "c4"
                ]
                page = Page(kind, [*page.records, *extra], page.resume)
            yield page


def test_activities_inside_contact_pages_count(state: Store) -> None:
    crm = RollupCRM()
    make_world(crm)
    run(state, crm)
    assert crm.field("c4", "milestone") == "prospect"


def test_an_interrupted_backfill_resumes_its_own_window(state: Store, crm: FakeCRM) -> None:
    since = datetime.now(UTC) - timedelta(days=1)
    engine = Engine(
        state,
        crm,
        RULES,
        crm.names,
        lag=timedelta(0),
        progress=lambda kind, report, calls: engine.request_stop(),
    )
    first = engine.run(RunOptions(mode="backfill", since=since))
    assert first.outcome == "interrupted"
    cursor = state.cursors.get("hubspot", "contacts", "backfill")
    assert cursor.is_running and cursor.window_since == since and cursor.pages == 1
    assert state.cursors.get("hubspot", "contacts", "sync").committed is None
    crm.pull_calls = 0
    second = run(state, crm, mode="backfill", since=since)
    assert second.exit_code == 0
    assert second.figures["records_read"] == first_total(crm) - crm.page_size
    assert crm.field("c1", "milestone") == "prospect"


def first_total(crm: FakeCRM) -> int:
    return sum(len(records) for records in crm.records.values())
