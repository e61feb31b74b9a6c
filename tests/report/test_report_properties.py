"""Invariants of the report on random worlds: the owners' views add up to the whole.

Each example syncs a random small world through the real engine, then checks what must
hold whatever the data: counts per owner sum to the overall counts, the funnel narrows,
conversions are shares, and every person sits at exactly one milestone.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_world import NOW, RULES, at, sync_world

from milestones.mapping.records import Activity, Contact, Deal
from milestones.report.build import report_from_state
from milestones.report.model import Report

STAGES = ["appointmentscheduled", "contractsent", "closedwon"]


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, list[object]]:
    size = draw(st.integers(1, 12))
    ids = [f"p{i}" for i in range(size)]
    day = st.integers(0, 700).map(lambda n: (date(2024, 7, 1) + timedelta(days=n)).isoformat())
    contacts, deals, activities = [], [], []
    for pid in ids:
        contacts.append(
            Contact(
                pid,
                email=f"{pid}@example.com",
                owner_id=draw(st.sampled_from(["u1", "u2", None])),
                created_at=at(draw(day)),
                referred_by=draw(st.none() | st.sampled_from(ids)),
                lead_status=draw(st.sampled_from([None, None, "UNQUALIFIED"])),
                properties={"hs_feedback_last_nps_rating": draw(st.sampled_from(["", "10", "3"]))},
            )
        )
        for n in range(draw(st.integers(0, 3))):
            direction = draw(st.sampled_from(["inbound", "outbound"]))
            activities.append(
                Activity(
                    f"{pid}-a{n}",
                    "email",
                    direction=direction,  # type: ignore[arg-type]
                    occurred_at=at(draw(day)),
                    contact_ids=(pid,),
                )
            )
        if draw(st.booleans()):
            won = draw(day)
            deals.append(
                Deal(
                    f"{pid}-d",
                    stage_id=draw(st.sampled_from(STAGES)),
                    close_date=date.fromisoformat(won),
                    stage_changed_at=at(won),
                    amount=draw(st.sampled_from([None, 1000.0])),
                    contact_ids=(pid,),
                    referred_by=draw(st.none() | st.sampled_from(ids)),
                )
            )
    return {"contacts": contacts, "deals": deals, "deal_contacts": [], "activities": activities}


def _check(report: Report) -> None:
    overall = report.overall
    assert sum(s.now for s in overall.funnel) == overall.people
    assert sum(o.view.people for o in report.owners) == overall.people
    for index, step in enumerate(overall.funnel):
        assert sum(o.view.funnel[index].now for o in report.owners) == step.now
        assert sum(o.view.funnel[index].reached for o in report.owners) == step.reached
        if step.conversion is not None:
            assert 0 <= step.conversion <= 1
        if index and report.since is None:
            assert step.reached <= overall.funnel[index - 1].reached  # the funnel narrows
            assert overall.funnel[index - 1].to_next == step.reached
    for name in ("referrals", "advocate_referrals", "won_deals", "open_deals", "advocates"):
        parts = sum(getattr(o.view.advocacy, name) for o in report.owners)
        assert parts == getattr(overall.advocacy, name), name
    assert sum(o.view.disqualified.total for o in report.owners) == overall.disqualified.total
    assert (
        sum(o.view.at_risk.silent_clients for o in report.owners) == overall.at_risk.silent_clients
    )
    idle = overall.idle_targets
    assert idle.untouched + idle.outbound_only <= idle.targets == overall.funnel[0].now
    for t in overall.times:
        if t.count:
            assert t.median_days is not None and t.p90_days is not None
            assert 0 <= t.median_days <= t.p90_days
    for cohort in overall.cohorts:
        assert cohort.prospects >= cohort.opportunity >= cohort.client >= cohort.advocate


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.sampled_from([None, date(2025, 6, 1)]))
def test_owner_views_add_up_to_the_whole(
    world: dict[str, list[object]], since: date | None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = sync_world(Path(tmp) / "state.db", world)  # type: ignore[arg-type]
        report = report_from_state(state, RULES, NOW, since=since)
    _check(report)
