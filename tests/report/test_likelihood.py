"""The likelihood on a world whose conversion rates and delays are known.

The world (``likelihood_world``) draws 6,000 people through the four steps at known rates; the
estimator must find each step's 90-day chance within its 95% interval, and the backtest must
predict what the ledger then shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from likelihood_world import RATES, TODAY, write_world

from milestones.mapping.records import Milestone
from milestones.report.likelihood.build import Likelihood, build_likelihood
from milestones.report.likelihood.episodes import LOST, WAITING, split_by_step
from milestones.report.likelihood.estimate import Curve, fit_curve, fit_curves
from milestones.report.likelihood.text import likelihood_lines
from milestones.store.sqlite import Store

PEOPLE = 6_000


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("likelihood") / "state.db"
    with write_world(path, PEOPLE) as opened:
        yield opened


@pytest.fixture(scope="module")
def likelihood(store: Store) -> Likelihood:
    return build_likelihood(store, TODAY, min_sample=30, backtest_days=180)


@pytest.mark.parametrize("step", list(RATES))
def test_each_steps_90_day_chance_holds_the_truth_in_its_interval(
    likelihood: Likelihood, step: Milestone
) -> None:
    curve = likelihood.curves[step]
    assert isinstance(curve, Curve)
    low, high = curve.interval(90)
    truth = RATES[step].within(90)
    assert low <= truth <= high, (step.label, low, truth, high)
    assert high - low < 0.08  # an interval that says something


def test_counting_the_lost_as_censored_would_overstate_conversion(store: Store) -> None:
    # The opportunity step loses half of those who do not convert: Kaplan-Meier of conversion
    # alone (loss read as "still waiting") lands above the truth and above the interval.
    episodes = split_by_step(store.reporting.iter_journeys(), TODAY)[Milestone.OPPORTUNITY]
    assert sum(e.outcome == LOST for e in episodes) > 300
    naive = fit_curve(
        Milestone.OPPORTUNITY,
        [replace(e, outcome=WAITING) if e.outcome == LOST else e for e in episodes],
    )
    competing = fit_curve(Milestone.OPPORTUNITY, episodes)
    truth = RATES[Milestone.OPPORTUNITY].within(180)
    assert naive.within(180) > competing.interval(180)[1] > truth
    assert naive.within(180) - truth > 0.02


def test_a_long_wait_is_worth_less_than_a_fresh_start(likelihood: Likelihood) -> None:
    curve = likelihood.curves[Milestone.PROSPECT]
    assert isinstance(curve, Curve)
    fresh, stale = curve.given_wait(0, 90), curve.given_wait(365, 90)
    # Someone who has not converted on their first day: (F(90) - F(0)) / S(0).
    assert fresh == pytest.approx((curve.within(90) - curve.within(0)) / curve.waiting[0])
    assert fresh > 0.3
    assert stale < fresh / 5
    # Each waiting person's chances grow with the horizon and stay probabilities.
    for chance in list(likelihood.people.values())[:500]:
        assert 0.0 <= chance.within[30] <= chance.within[90] <= chance.within[180] <= 1.0


def test_the_forecast_adds_up_over_owners_and_cohorts(likelihood: Likelihood) -> None:
    org = likelihood.forecast.org
    for milestone, expected in org.items():
        by_owner = sum(t[milestone].expected for t in likelihood.forecast.owners.values())
        by_cohort = sum(
            t[milestone].expected for t in likelihood.forecast.cohorts.values() if milestone in t
        )
        assert by_owner == pytest.approx(expected.expected)
        assert by_cohort == pytest.approx(expected.expected)
        shown = expected.as_dict()
        assert shown["low"] <= shown["expected"] <= shown["high"] <= shown["waiting"]
    assert set(org) == {
        Milestone.PROSPECT,
        Milestone.OPPORTUNITY,
        Milestone.CLIENT,
        Milestone.ADVOCATE,
    }


def test_open_deals_weigh_amounts_by_the_persons_chance_beside_the_stages(
    likelihood: Likelihood,
) -> None:
    won = likelihood.won
    assert won.deals > 400 and won.without_amount == 0 and won.without_likelihood == 0
    # Every open deal sits in a stage the admin put at 80%: the world's opportunities win
    # 40% of the time, so the stage forecast is far above ours.
    assert won.by_stage_probability == pytest.approx(0.8 * 1000.0 * won.deals)
    assert 0 < won.ours < won.by_stage_probability / 4


def test_the_backtest_predicts_what_the_ledger_then_shows(likelihood: Likelihood) -> None:
    test = likelihood.backtest
    assert test.cutoff.isoformat() == "2025-12-17" and test.until.isoformat() == "2026-03-17"
    for step, tally in test.steps.items():
        assert not isinstance(tally, int), step
        assert tally.count > 300
        spread = 3 * (tally.predicted * (1 - tally.predicted / tally.count)) ** 0.5
        assert abs(tally.predicted - tally.actual) <= spread, (step.label, tally)
        # Knowing how long each person waited beats one rate for everyone.
        assert tally.squared_error < tally.plain_squared_error
    for band in test.bands:
        if band.count >= 100:
            assert abs(band.predicted - band.actual) / band.count < 0.05


def test_the_stage_probabilities_are_backtested_beside_ours_on_the_same_deals(
    likelihood: Likelihood,
) -> None:
    test = likelihood.stage_backtest
    # Every deal open on the cutoff day stood in Proposal (80%) with its person waiting at
    # opportunity; the world's opportunities win about a third of the time within 90 days.
    assert test.deals > 100 and set(test.by_stage) == {"proposal"}
    assert not any(test.left_out.values())
    assert test.stages.predicted == pytest.approx(0.8 * test.deals)
    spread = 3 * (test.ours.predicted * (1 - test.ours.predicted / test.deals)) ** 0.5
    assert abs(test.ours.predicted - test.won) <= spread
    assert test.won < test.stages.predicted / 1.5
    assert test.ours.squared_error < test.stages.squared_error
    row = test.by_stage["proposal"]
    assert (row.deals, row.won) == (test.deals, test.won)
    view = likelihood.as_dict()["backtest"]["stage_probabilities"]
    assert view["ours"]["brier"] < view["stage_probabilities"]["brier"]
    assert view["by_stage"][0]["stage"] == "Proposal"


def test_too_little_history_is_said_instead_of_a_number(tmp_path: Path) -> None:
    with write_world(tmp_path / "small.db", 120) as small:
        found = build_likelihood(small, TODAY, min_sample=40, backtest_days=180)
    sizes = {step: c for step, c in found.curves.items() if isinstance(c, int)}
    assert Milestone.CLIENT in sizes and Milestone.TARGET not in sizes
    lines = likelihood_lines(found.as_dict())
    client_line = next(line for line in lines if "client->advocate" in line)
    assert f"not enough history (n = {sizes[Milestone.CLIENT]})" in client_line
    data = found.as_dict()
    assert data["steps"]["client->advocate"] == {
        "people": sizes[Milestone.CLIENT],
        "not_enough_history": f"not enough history (n = {sizes[Milestone.CLIENT]})",
    }
    assert data["forecast"]["not_estimated"]["advocate"] > 0


def test_an_empty_state_gives_no_numbers_and_no_error(tmp_path: Path) -> None:
    with Store(tmp_path / "empty.db") as empty:
        found = build_likelihood(empty, TODAY, min_sample=1, backtest_days=180)
    assert found.curves == dict.fromkeys(RATES, 0)
    assert found.forecast.org == {} and found.won.deals == 0
    assert fit_curves({}, 1) == {}
