"""Periodic work: the stage catalogue is read once a day, on full runs, and for a new stage.

Against the in-memory CRM, with the run's clock injected: the catalogue's calls are counted
by the connector, and what the state keeps is read back through the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sync_fakes import STAGES, T0, FakeCRM

from milestones.mapping.records import Contact, Deal, Stage
from milestones.mapping.rules import MappingRules
from milestones.store.sqlite import Store
from milestones.sync.engine import Engine
from milestones.sync.periodic import Periodic
from milestones.sync.run import RunOptions, RunReport

RULES = MappingRules(stages={"contractsent": "opportunity", "closedwon": "client"})
NOW = datetime.now(UTC)


@pytest.fixture
def crm() -> FakeCRM:
    fake = FakeCRM()
    fake.put(Contact("c1", email="ann@example.com", created_at=T0))
    fake.put(Deal("d1", stage_id="contractsent", created_at=T0, contact_ids=("c1",)))
    return fake


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "state.db") as s:
        yield s


def run(state: Store, crm: FakeCRM, at: datetime, mode: str = "incremental") -> RunReport:
    engine = Engine(state, crm, RULES, crm.names, lag=timedelta(0), clock=lambda: at, chunk_size=3)
    return engine.run(RunOptions(mode=mode))  # type: ignore[arg-type]


def catalogue_reads(crm: FakeCRM) -> int:
    return crm.usage().calls.get("meta", 0)


def test_the_catalogue_is_read_once_a_day_and_kept_in_between(state: Store, crm: FakeCRM) -> None:
    run(state, crm, NOW)
    assert catalogue_reads(crm) == 1 and crm.given_stages is None
    for hours in (1, 12, 23):
        assert run(state, crm, NOW + timedelta(hours=hours)).outcome == "ok"
    assert catalogue_reads(crm) == 1
    assert crm.given_stages == sorted(STAGES, key=lambda s: s.id)  # the kept catalogue
    run(state, crm, NOW + timedelta(hours=24))
    assert catalogue_reads(crm) == 2


def test_a_full_run_reads_the_catalogue_whatever_the_time(state: Store, crm: FakeCRM) -> None:
    run(state, crm, NOW)
    run(state, crm, NOW + timedelta(minutes=15), mode="full")
    assert catalogue_reads(crm) == 2


def test_a_deal_in_a_stage_the_kept_catalogue_lacks_reads_it_again(
    state: Store, crm: FakeCRM
) -> None:
    run(state, crm, NOW)
    crm.catalogue.append(Stage("signed", "Signed", "default", is_closed=True, is_won=True))
    crm.update("deals", "d1", stage_id="signed")
    report = run(state, crm, NOW + timedelta(minutes=15))
    assert report.outcome == "ok"
    assert catalogue_reads(crm) == 2
    assert "signed" in state.people.stages()
    # a closed-won stage nobody mapped proves client from its own metadata, at once
    assert crm.field("c1", "milestone") == "client"
    run(state, crm, NOW + timedelta(minutes=30))  # now known: no further read
    assert catalogue_reads(crm) == 2


def test_a_changed_mapping_rederives_from_the_kept_catalogue(state: Store, crm: FakeCRM) -> None:
    run(state, crm, NOW)
    engine = Engine(
        state,
        crm,
        MappingRules(stages={"contractsent": "client"}),
        crm.names,
        lag=timedelta(0),
        clock=lambda: NOW + timedelta(minutes=15),
    )
    report = engine.run(RunOptions())
    assert catalogue_reads(crm) == 1  # no read: the rules changed, not the CRM
    assert report.figures["changed"] >= 1  # c1 derived again under the new mapping


@pytest.mark.parametrize(
    ("last", "due"),
    [
        (None, True),
        (timedelta(hours=-23, minutes=-59), False),
        (timedelta(hours=-24), True),
        (timedelta(days=-30), True),
        (timedelta(hours=2), True),  # a last time ahead of the clock: read rather than trust
    ],
)
def test_periodic_work_is_due_after_its_period(
    state: Store, last: timedelta | None, due: bool
) -> None:
    periodic = Periodic(state)
    if last is not None:
        periodic.mark_done("owners", NOW + last)
    assert periodic.is_due("owners", NOW) is due
    assert periodic.is_due("deleted", NOW)  # each name keeps its own time


def test_forgotten_work_is_due_again(state: Store) -> None:
    periodic = Periodic(state)
    with state.transaction():
        periodic.mark_done("describe", NOW)
    assert not periodic.is_due("describe", NOW + timedelta(hours=1))
    assert periodic.last_done("describe") == NOW
    periodic.forget("describe")
    assert periodic.is_due("describe", NOW + timedelta(hours=1))


def test_the_kept_catalogue_derives_nobody_again(
    state: Store, crm: FakeCRM, caplog: pytest.LogCaptureFixture
) -> None:
    """The kept catalogue fingerprints as the read one did: no run re-derives everyone."""
    run(state, crm, NOW)
    with caplog.at_level("INFO", logger="milestones.sync"):
        run(state, crm, NOW + timedelta(minutes=15))
    assert crm.given_stages is not None
    assert "everyone is derived again" not in caplog.text
