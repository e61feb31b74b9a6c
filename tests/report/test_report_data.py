"""The report's figures on a hand-checked world (see report_world.py for the dates)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from report_world import NOW, RULES, sync_world

from milestones.report.build import report_from_state
from milestones.report.model import Report, View
from milestones.report.tally import DayHistogram


@pytest.fixture(scope="module")
def state_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sync_world(tmp_path_factory.mktemp("report") / "state.db")


@pytest.fixture(scope="module")
def report(state_path: Path) -> Report:
    return report_from_state(state_path, RULES, NOW)


def _owner(report: Report, owner: str) -> View:
    return next(o.view for o in report.owners if o.owner == owner)


def test_funnel_counts_people_now_and_conversions(report: Report) -> None:
    funnel = {s.milestone: s for s in report.overall.funnel}
    assert {m: s.now for m, s in funnel.items()} == {
        "target": 3,
        "prospect": 2,
        "opportunity": 1,
        "client": 2,
        "advocate": 2,
    }
    assert [s.reached for s in report.overall.funnel] == [10, 7, 5, 4, 2]
    assert [s.conversion for s in report.overall.funnel] == [0.7, 0.7143, 0.8, 0.5, None]
    assert report.overall.people == 10  # the deleted contact is gone
    assert report.not_derived == 0


def test_time_between_milestones_median_and_p90(report: Report) -> None:
    times = {(t.from_milestone, t.to_milestone): t for t in report.overall.times}
    # target->prospect days: 4, 9, 10, 20, 31, 31, 31
    assert times[("target", "prospect")].count == 7
    assert times[("target", "prospect")].median_days == 20
    assert times[("target", "prospect")].p90_days == 31
    # prospect->opportunity: 14, 27, 28, 30, 36
    assert (
        times[("prospect", "opportunity")].median_days,
        times[("prospect", "opportunity")].p90_days,
    ) == (28, 36)
    # opportunity->client: 0, 0, 0, 16 (a won deal proves the opportunity the same day)
    assert (
        times[("opportunity", "client")].median_days,
        times[("opportunity", "client")].p90_days,
    ) == (0, 16)
    # client->advocate: a1 111 days (deal d6 referred on 2025-06-20), a2 0 (undated score)
    assert (times[("client", "advocate")].median_days, times[("client", "advocate")].p90_days) == (
        55.5,
        111,
    )


def test_disqualified_by_milestone_and_reason(report: Report) -> None:
    dq = report.overall.disqualified
    assert dq.total == 2
    assert dq.by_milestone["target"] == 1 and dq.by_milestone["prospect"] == 1
    assert [(r.reason, r.count) for r in dq.reasons] == [("lead status UNQUALIFIED", 2)]


def test_advocacy_referrals_and_what_they_brought(report: Report) -> None:
    adv = report.overall.advocacy
    assert (adv.advocates, adv.current_advocates) == (2, 2)
    assert (adv.referrers, adv.referrals, adv.advocate_referrals) == (2, 3, 2)
    # a1 referred r1 (by email, who won d5 for 5000) and deal d6 (open, 2000)
    assert (adv.won_deals, adv.won_amount, adv.open_deals, adv.open_amount) == (1, 5000, 1, 2000)
    top = adv.top_referrers[0]
    assert (top.id, top.referrals, top.referred_people, top.milestone) == ("a1", 2, 1, "advocate")
    assert adv.top_referrers[1].id == "p1"


def test_clients_at_risk_and_lapsing_advocates(report: Report) -> None:
    risk = report.overall.at_risk
    assert risk.silent_clients == 3
    assert [(s.id, s.days_silent, s.last_contact) for s in risk.silent] == [
        ("r1", 318, "2025-08-01"),
        ("c1", 196, "2025-12-01"),
        ("a2", 151, "2026-01-15"),
    ]
    # a1's latest referral (r1, 2025-07-01) counts for 365 days: until 2026-07-01 included
    assert risk.lapsing_advocates == 1
    assert (risk.lapsing[0].id, risk.lapsing[0].lapses_on, risk.lapsing[0].days_left) == (
        "a1",
        "2026-07-02",
        17,
    )


def test_monthly_cohorts(report: Report) -> None:
    cohorts = {
        c.month: (c.prospects, c.opportunity, c.client, c.advocate) for c in report.overall.cohorts
    }
    assert cohorts == {
        "2025-02": (1, 1, 1, 1),
        "2025-07": (1, 1, 1, 0),
        "2025-11": (1, 1, 1, 0),
        "2025-12": (1, 1, 1, 1),
        "2026-01": (1, 1, 0, 0),
        "2026-02": (2, 0, 0, 0),
    }


def test_idle_targets(report: Report) -> None:
    idle = report.overall.idle_targets
    assert (idle.targets, idle.untouched, idle.outbound_only) == (3, 1, 1)  # t3 is disqualified
    waiting = {
        t.id: (t.touches, t.waiting_since, t.waiting_days, t.last_touch)
        for t in idle.longest_waiting
    }
    assert waiting == {
        "t1": (0, "2026-01-01", 165, None),
        "t2": (3, "2026-03-15", 92, "2026-05-01"),  # its converted lead's touch counts
    }
    assert idle.median_untouched_days == 165
    assert [b.count for b in idle.outbound_only_ages] == [0, 0, 1, 0, 0]


def test_every_view_by_owner(report: Report) -> None:
    assert [o.owner for o in report.owners] == ["u1", "u2", "unassigned"]
    u1, u2, none = (_owner(report, o) for o in ("u1", "u2", "unassigned"))
    assert [s.now for s in u1.funnel] == [2, 1, 1, 0, 1]
    assert [s.now for s in u2.funnel] == [1, 1, 0, 2, 0]
    assert [s.now for s in none.funnel] == [0, 0, 0, 0, 1]
    assert u1.advocacy.won_amount == 5000 and u2.advocacy.won_amount == 0
    assert [s.id for s in u2.at_risk.silent] == ["r1", "c1"]
    assert u1.idle_targets.untouched == 1 and u2.idle_targets.targets == 1
    # the owners' views add up to the whole
    for step, total in zip(report.overall.funnel, [3, 2, 1, 2, 2], strict=True):
        assert (
            sum(o.view.funnel[[*"tpoca"].index(step.milestone[0])].now for o in report.owners)
            == total
        )


def test_since_limits_flows_to_the_period(state_path: Path) -> None:
    report = report_from_state(state_path, RULES, NOW, since=date(2026, 1, 1))
    funnel = report.overall.funnel
    # created since 2026-01-01: t1, t2, p1, p2, o1; of them p1, p2, o1 became prospects
    assert (funnel[0].reached, funnel[0].to_next) == (5, 3)
    assert funnel[1].reached == 3  # prospects since: p1, p2, o1
    assert funnel[3].reached == 1  # a2 became a client on 2026-01-15
    assert [s.now for s in funnel] == [3, 2, 1, 2, 2]  # "now" is always the whole picture
    assert [c.month for c in report.overall.cohorts] == ["2026-01", "2026-02"]
    adv = report.overall.advocacy
    assert (adv.referrals, adv.won_deals, adv.open_deals) == (
        1,
        0,
        1,
    )  # t1; d5 won in 2025, d6 is open


def test_report_needs_a_state_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run `milestones sync` first"):
        report_from_state(tmp_path / "missing.db", RULES, NOW)


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [([], None, None), ([5], 5, 5), ([1, 2], 1.5, 2), ([3, 1, 2], 2, 3), ([0] * 9 + [100], 0, 0)],
)
def test_day_histogram(values: list[int], median: float | None, p90: float | None) -> None:
    histogram = DayHistogram()
    for value in values:
        histogram.add(value)
    assert (histogram.median(), histogram.percentile(0.9)) == (median, p90)
