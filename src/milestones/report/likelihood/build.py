"""The likelihood report: curves fitted today, the forecast they give, and the backtest.

Read from the state alone (the ledger's dated milestones, the mirror's open deals), with no
API call. ``build_likelihood`` is the one entry point; ``as_dict`` is the JSON the command
and ``report --json`` print.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from milestones.mapping.records import Milestone
from milestones.report.likelihood.backtest import Backtest, run_backtest
from milestones.report.likelihood.episodes import STEPS, is_waiting, split_by_step
from milestones.report.likelihood.estimate import Curve, MissingEstimator, fit_curves
from milestones.report.likelihood.forecast import (
    HORIZON,
    HORIZONS,
    Expected,
    Forecast,
    PersonChance,
    WonAmount,
    forecast,
    person_chance,
    won_amount,
)
from milestones.report.likelihood.stage_backtest import StageBacktest, backtest_stages
from milestones.store.sqlite import Store

CURVE_DAYS, CURVE_STEP = 360, 10
ESTIMATOR = (
    "Aalen-Johansen cumulative incidence (lifelines), disqualified as a competing outcome, "
    "waits still running censored at the day of the fit"
)


def not_enough(sample: int) -> str:
    """What is said instead of a number when a milestone has too little history."""
    return f"not enough history (n = {sample})"


@dataclass(slots=True)
class Likelihood:
    """Everything the likelihood section and command show."""

    as_of: date
    min_sample: int
    curves: dict[Milestone, Curve | int]
    forecast: Forecast
    people: dict[str, PersonChance]
    won: WonAmount
    backtest: Backtest
    stage_backtest: StageBacktest

    def as_dict(self, owner_names: dict[str, str] | None = None) -> dict[str, Any]:
        """The JSON form (owners by name where one is known)."""
        names = owner_names or {}
        return {
            "as_of": self.as_of.isoformat(),
            "estimator": ESTIMATOR,
            "min_sample": self.min_sample,
            "horizon_days": HORIZON,
            "steps": {_step_key(s): _curve_dict(c) for s, c in self.curves.items()},
            "curves": {
                _step_key(s): _curve_points(c)
                for s, c in self.curves.items()
                if isinstance(c, Curve)
            },
            "forecast": {
                "org": _expected(self.forecast.org),
                "owners": {
                    _owner_label(owner, names): _expected(table)
                    for owner, table in sorted(self.forecast.owners.items())
                },
                "cohorts": {k: _expected(t) for k, t in sorted(self.forecast.cohorts.items())},
                "not_estimated": {m.label: n for m, n in self.forecast.not_estimated.items()},
            },
            "won_amount": self.won.as_dict(),
            "backtest": self.backtest.as_dict()
            | {"stage_probabilities": self.stage_backtest.as_dict()},
        }


def _owner_label(owner: str, names: dict[str, str]) -> str:
    """As the report names owners: ``Ann Lee (101)``, the id alone, or ``(no owner)``."""
    if not owner:
        return "(no owner)"
    return f"{names[owner]} ({owner})" if names.get(owner) else owner


def _step_key(step: Milestone) -> str:
    return f"{step.label}->{Milestone(step + 1).label}"


def _curve_dict(curve: Curve | int) -> dict[str, Any]:
    if not isinstance(curve, Curve):
        return {"people": curve, "not_enough_history": not_enough(curve)}
    within = {}
    for days in HORIZONS:
        low, high = curve.interval(days)
        within[str(days)] = {
            "p": round(curve.within(days), 4),
            "low": round(low, 4),
            "high": round(high, 4),
        }
    return {
        "people": curve.sample,
        "converted": curve.conversions,
        "lost": curve.losses,
        "within_days": within,
    }


def _curve_points(curve: Curve) -> list[list[float]]:
    """[day, chance, low, high] every CURVE_STEP days of the first year (for the chart)."""
    points = []
    for day in range(0, CURVE_DAYS + 1, CURVE_STEP):
        low, high = curve.interval(day)
        points.append([day, round(curve.within(day), 4), round(low, 4), round(high, 4)])
    return points


def _expected(table: dict[Milestone, Expected]) -> dict[str, Any]:
    return {m.label: e.as_dict() for m, e in sorted(table.items())}


def build_likelihood(store: Store, as_of: date, min_sample: int, backtest_days: int) -> Likelihood:
    """Fit on the ledger as it stands on ``as_of``, forecast, and backtest ``backtest_days``
    earlier. Raises ``MissingEstimator`` without the ``likelihood`` extra."""
    journeys = list(store.reporting.iter_journeys())
    steps = split_by_step(journeys, as_of)
    curves = fit_curves(steps, min_sample)
    waiting = (e for step in STEPS for e in steps[step])
    result, people = forecast(waiting, curves)
    won = won_amount(store.reporting.iter_open_deals(), people)
    backtest = run_backtest(journeys, as_of - timedelta(days=backtest_days), HORIZON, min_sample)
    stages = backtest_stages(
        store.reporting.iter_deals_with_people(),
        store.reporting.stage_catalogue(),
        backtest.cutoff,
        backtest.until,
        backtest.client_chances,
    )
    return Likelihood(as_of, min_sample, curves, result, people, won, backtest, stages)


def likelihood_section(
    store: Store,
    as_of: date,
    min_sample: int,
    backtest_days: int,
    owner_names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The report's Likelihood section as JSON, or what is missing to compute it."""
    try:
        return build_likelihood(store, as_of, min_sample, backtest_days).as_dict(owner_names)
    except MissingEstimator as exc:
        return {"unavailable": str(exc)}


def band(chance: float) -> str:
    """The written band: the chance in percent, to the nearest 10 ("0" ... "100")."""
    return str(min(int(chance * 10 + 0.5), 10) * 10)


def person_bands(store: Store, as_of: date, min_sample: int) -> dict[str, str]:
    """Each waiting person's band of their chance within 90 days (``[likelihood] writeback``);
    people with no chance to give (advocates, the disqualified, too little history) have none."""
    steps = split_by_step(store.reporting.iter_journeys(), as_of)
    curves = fit_curves(steps, min_sample)
    _, people = forecast((e for step in STEPS for e in steps[step]), curves)
    return {pid: band(chance.next_90) for pid, chance in people.items()}


def person_likelihood(
    store: Store, person_id: str, as_of: date, min_sample: int
) -> dict[str, Any] | None:
    """What ``explain`` shows of one person's likelihood and what it rests on: the step they
    wait at, for how long, their chances, and the curve's sample. None when they wait for
    nothing (an advocate, the disqualified, a person not derived yet)."""
    steps = split_by_step(store.reporting.iter_journeys(), as_of)
    mine = next(
        (e for step in STEPS for e in steps[step] if e.person_id == person_id and is_waiting(e)),
        None,
    )
    if mine is None:
        return None
    found: dict[str, Any] = {
        "step": _step_key(mine.step),
        "waiting_days": mine.waited,
        "since_cohort": mine.cohort,
        "people_at_step": len(steps[mine.step]),
    }
    try:
        curve = fit_curves({mine.step: steps[mine.step]}, min_sample)[mine.step]
    except MissingEstimator as exc:
        return found | {"unavailable": str(exc)}
    if not isinstance(curve, Curve):
        return found | {"not_enough_history": not_enough(curve)}
    chance = person_chance(curve, mine)
    return found | {
        "within_days": {str(h): round(p, 4) for h, p in chance.within.items()},
        "band": band(chance.next_90),
        "curve": _curve_dict(curve),
    }
