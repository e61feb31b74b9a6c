"""The stage probabilities' backtest: which stage a deal stood in on the cutoff day, whether it
was won in the span after, and how both forecasts are scored on the same deals."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from milestones.mapping.records import Deal, Stage
from milestones.report.likelihood.backtest import Backtest
from milestones.report.likelihood.html import likelihood_html
from milestones.report.likelihood.stage_backtest import backtest_stages, is_won_between, stage_on
from milestones.report.likelihood.text import likelihood_lines

STAGES = {
    s.id: s
    for s in (
        Stage("intro", "Intro", probability=0.2, display_order=0),
        Stage("proposal", "Proposal", probability=0.6, display_order=1),
        Stage("won", "Won", is_closed=True, is_won=True, probability=1.0, display_order=2),
        Stage("lost", "Lost", is_closed=True, probability=0.0, display_order=3),
        Stage("unrated", "Unrated", display_order=4),
    )
}
CUTOFF, UNTIL = date(2026, 1, 10), date(2026, 4, 10)


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def _deal(stage: str, entered: dict[str, str], people: tuple[str, ...] = ("p1",)) -> Deal:
    return Deal(
        f"d-{stage}-{len(entered)}",
        stage_id=stage,
        created_at=_at(min(entered.values())) if entered else _at("2025-12-01"),
        stage_entered={s: _at(d) for s, d in entered.items()},
        contact_ids=people,
    )


@pytest.mark.parametrize(
    ("entered", "expected"),
    [
        ({"intro": "2025-12-01", "proposal": "2026-01-10"}, "proposal"),  # entered that day
        ({"intro": "2025-12-01", "proposal": "2026-01-11"}, "intro"),  # the day after
        ({"proposal": "2025-12-01", "won": "2025-12-01"}, "won"),  # same day: pipeline order
        ({"intro": "2026-02-01"}, None),  # not opened yet
    ],
)
def test_the_stage_on_the_cutoff_day_is_the_last_one_entered_by_then(
    entered: dict[str, str], expected: str | None
) -> None:
    assert stage_on(_deal(list(entered)[-1], entered), CUTOFF, STAGES) == expected


def test_without_stage_history_the_current_stage_counts_once_entered() -> None:
    deal = Deal("d", stage_id="proposal", stage_changed_at=_at("2026-01-02"))
    assert stage_on(deal, CUTOFF, STAGES) == "proposal"
    assert stage_on(deal, date(2026, 1, 1), STAGES) is None


@pytest.mark.parametrize(
    ("won_on", "expected"),
    [("2026-01-10", False), ("2026-01-11", True), ("2026-04-10", True), ("2026-04-11", False)],
)
def test_won_means_a_won_stage_entered_after_the_cutoff_and_by_the_end(
    won_on: str, expected: bool
) -> None:
    deal = _deal("won", {"proposal": "2025-12-01", "won": won_on})
    assert is_won_between(deal, CUTOFF, UNTIL, STAGES) is expected


def test_both_forecasts_are_scored_on_the_same_deals_and_the_rest_is_counted() -> None:
    deals = [
        _deal("won", {"proposal": "2025-12-01", "won": "2026-02-01"}, ("p1",)),
        _deal("lost", {"intro": "2025-12-01", "lost": "2026-02-01"}, ("p2", "p3")),
        _deal("unrated", {"unrated": "2025-12-01"}, ("p1",)),
        _deal("gone", {"gone": "2025-12-01"}, ("p1",)),
        _deal("proposal", {"proposal": "2025-12-01"}, ("p9",)),
        _deal("lost", {"proposal": "2025-11-01", "lost": "2025-12-01"}, ("p1",)),  # closed
    ]
    chances = {"p1": 0.5, "p2": 0.1, "p3": 0.3}
    test = backtest_stages(deals, STAGES, CUTOFF, UNTIL, chances)
    assert (test.deals, test.won) == (2, 1)
    assert test.left_out == {
        "stage_unknown": 1,
        "no_stage_probability": 1,
        "no_person_waiting_at_opportunity": 1,
    }
    # ours: 0.5 (won) and the likelier person's 0.3 (lost); stages: 0.6 (won), 0.2 (lost)
    assert test.ours.predicted == pytest.approx(0.8)
    assert test.ours.squared_error == pytest.approx(0.5**2 + 0.3**2)
    assert test.stages.squared_error == pytest.approx(0.4**2 + 0.2**2)
    assert [(r.label, r.deals, r.won) for r in test.by_stage.values()] == [
        ("Intro", 1, 0),
        ("Proposal", 1, 1),
    ]
    view = test.as_dict()
    assert view["ours"]["brier"] == pytest.approx(0.17)
    assert view["stage_probabilities"]["brier"] == pytest.approx(0.1)
    assert [b["band"] for b in view["stage_probabilities"]["calibration"]] == [
        "20-30%",
        "60-70%",
    ]


def test_terminal_and_html_show_both_scores() -> None:
    stages = backtest_stages(
        [_deal("won", {"proposal": "2025-12-01", "won": "2026-02-01"})],
        STAGES,
        CUTOFF,
        UNTIL,
        {"p1": 0.25},
    ).as_dict()
    view = {
        "as_of": "2026-07-09",
        "estimator": "e",
        "min_sample": 1,
        "steps": {},
        "curves": {},
        "forecast": {"org": {}, "owners": {}, "cohorts": {}, "not_estimated": {}},
        "won_amount": {
            "open_deals": 0,
            "without_amount": 0,
            "expected_within_90_days": 0.0,
            "by_stage_probability": 0.0,
            "without_stage_probability": 0,
            "without_likelihood": 0,
        },
        "backtest": Backtest(CUTOFF, UNTIL).as_dict() | {"stage_probabilities": stages},
    }
    text = "\n".join(likelihood_lines(view))
    assert "won within 90 days: 1 of 1" in text
    assert "ours                 predicted 0.2; Brier 0.5625" in text
    assert "stage probabilities  predicted 0.6; Brier 0.16" in text
    assert "stage Proposal at 60%: 1 deals" in text
    html = likelihood_html(view)
    key = "likelihood.backtest.stage_probabilities"
    assert f'<span data-key="{key}.ours.brier">0.5625</span>' in html
    assert f'<span data-key="{key}.stage_probabilities.brier">0.16</span>' in html
