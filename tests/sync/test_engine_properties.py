"""Invariants of the engine over random small CRMs (hypothesis)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_fakes import STAGES, T0, FakeCRM

from milestones.mapping.records import Activity, Contact, Deal, Milestone
from milestones.mapping.rules import MappingRules
from milestones.store.sqlite import Store
from milestones.sync.engine import Engine
from milestones.sync.run import RunOptions

RULES = MappingRules(stages={"contractsent": "opportunity"})
PEOPLE = [f"p{i}" for i in range(6)]
stage_ids = st.sampled_from([s.id for s in STAGES])
person = st.sampled_from(PEOPLE)
activity = st.tuples(
    st.sampled_from(["email", "call", "meeting", "note"]),
    st.sampled_from(["inbound", "outbound", None]),
    st.sampled_from(["completed", "no_answer", None]),
    st.lists(person, min_size=1, max_size=2, unique=True),
)
deal = st.tuples(stage_ids, st.lists(person, max_size=3, unique=True))
edit = st.one_of(
    st.tuples(st.just("move"), st.integers(0, 3), stage_ids),
    st.tuples(st.just("activity"), activity),
    st.tuples(st.just("refer"), person, person),
    st.tuples(st.just("delete_deal"), st.integers(0, 3)),
)


def build(crm: FakeCRM, deals: list, activities: list) -> None:  # type: ignore[type-arg]
    for pid in PEOPLE:
        crm.put(Contact(pid, email=f"{pid}@example.com", created_at=T0))
    for i, (stage, people) in enumerate(deals):
        crm.put(Deal(f"d{i}", stage_id=stage, created_at=T0, contact_ids=tuple(people)))
    for i, spec in enumerate(activities):
        add_activity(crm, f"a{i}", spec)


def add_activity(crm: FakeCRM, aid: str, spec: tuple) -> None:  # type: ignore[type-arg]
    kind, direction, status, people = spec
    crm.put(
        Activity(
            aid,
            kind,
            direction=direction,
            status=status,
            occurred_at=T0,
            ends_at=T0 + timedelta(hours=1),
            contact_ids=tuple(people),
        )
    )


def apply(crm: FakeCRM, change: tuple, n: int) -> None:  # type: ignore[type-arg]
    if change[0] == "move" and f"d{change[1]}" in crm.records["deals"]:
        crm.update("deals", f"d{change[1]}", stage_id=change[2])
    elif change[0] == "activity":
        add_activity(crm, f"x{n}", change[1])
    elif change[0] == "refer":
        crm.update(
            "contacts",
            change[1],
            referred_by=f"{change[2]}@EXAMPLE.com",
            created_at=datetime.now(UTC),
        )
    elif change[0] == "delete_deal" and f"d{change[1]}" in crm.records["deals"]:
        crm.remove("deals", f"d{change[1]}")


def levels(crm: FakeCRM) -> dict[str, int]:
    return {pid: int(Milestone.parse(crm.field(pid, "milestone") or "target")) for pid in PEOPLE}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    deals=st.lists(deal, max_size=4),
    activities=st.lists(activity, max_size=6),
    edits=st.lists(st.lists(edit, max_size=3), min_size=1, max_size=3),
)
def test_reruns_write_nothing_and_milestones_never_go_back(
    deals: list,
    activities: list,
    edits: list,  # type: ignore[type-arg]
) -> None:
    crm = FakeCRM(page_size=4)
    build(crm, deals, activities)
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "s.db") as state:

        def sync(mode: str = "incremental") -> None:
            engine = Engine(state, crm, RULES, crm.names, lag=timedelta(0), chunk_size=2)
            assert engine.run(RunOptions(mode=mode)).exit_code == 0  # type: ignore[arg-type]

        sync()
        before = levels(crm)
        for n, batch in enumerate(edits):
            for change in batch:
                apply(crm, change, n * 10 + len(crm.records["activities"]))
            sync("full" if n % 2 else "incremental")
            after = levels(crm)
            assert all(after[p] >= before[p] for p in PEOPLE), (before, after)
            before = after
            written = len(crm.written_ids)
            sync()
            assert len(crm.written_ids) == written  # nothing changed: nothing written
