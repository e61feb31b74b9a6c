"""The backtest: fit on the ledger as it stood on a past day, predict, compare with what happened.

On the cutoff day (by default 180 days before today) the curves are fitted on what the ledger
held then, every person waiting then gets their chance of reaching the next milestone within
the horizon (90 days), and the ledger says whether they did. Reported per step: predicted
(sum of chances) vs actual, the Brier score (mean squared gap between chance and outcome; 0
is perfect), the Brier score of the step's plain rate (one chance for everyone, ignoring how
long each has waited) as the bar to beat, and calibration by band of chance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from milestones.mapping.records import Milestone
from milestones.report.likelihood.episodes import STEPS, episodes_of, is_waiting, split_by_step
from milestones.report.likelihood.estimate import Curve, fit_curves
from milestones.store.journeys import Journey

BANDS = 10


@dataclass(slots=True)
class Tally:
    """Predictions and outcomes of one group: their count, sums and squared errors."""

    count: int = 0
    predicted: float = 0.0
    actual: int = 0
    squared_error: float = 0.0
    plain_squared_error: float = 0.0

    def add(self, chance: float, happened: bool, plain: float) -> None:
        """Count one prediction."""
        self.count += 1
        self.predicted += chance
        self.actual += int(happened)
        self.squared_error += (chance - happened) ** 2
        self.plain_squared_error += (plain - happened) ** 2

    def as_dict(self) -> dict[str, Any]:
        """Rounded for people and JSON."""
        n = self.count or 1
        return {
            "people": self.count,
            "predicted": round(self.predicted, 1),
            "actual": self.actual,
            "brier": round(self.squared_error / n, 4) if self.count else None,
            "brier_plain_rate": round(self.plain_squared_error / n, 4) if self.count else None,
        }


@dataclass(slots=True)
class Backtest:
    """The backtest's figures: per step, overall, and by band of predicted chance."""

    cutoff: date
    until: date
    steps: dict[Milestone, Tally | int] = field(default_factory=dict)
    overall: Tally = field(default_factory=Tally)
    bands: list[Tally] = field(default_factory=lambda: [Tally() for _ in range(BANDS)])
    # person id -> chance of becoming a client by ``until``, for those waiting at opportunity
    # on the cutoff day (what the stage backtest sets beside the CRM's stage probabilities)
    client_chances: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """For JSON: steps keyed by the milestone waited at; too little history says n."""
        return {
            "cutoff": self.cutoff.isoformat(),
            "until": self.until.isoformat(),
            "steps": {
                step.label: (
                    tally.as_dict() if isinstance(tally, Tally) else {"not_enough_history": tally}
                )
                for step, tally in self.steps.items()
            },
            "overall": self.overall.as_dict(),
            "calibration": [
                {"band": f"{i * 10}-{i * 10 + 10}%", **band.as_dict()}
                for i, band in enumerate(self.bands)
                if band.count
            ],
        }


def run_backtest(
    journeys: Iterable[Journey], cutoff: date, horizon: int, min_sample: int
) -> Backtest:
    """Fit on the ledger as of ``cutoff``, predict ``horizon`` days, score with what happened."""
    journeys = list(journeys)
    curves = fit_curves(split_by_step(journeys, cutoff), min_sample)
    until = cutoff + timedelta(days=horizon)
    result = Backtest(cutoff, until)
    for step in STEPS:
        curve = curves[step]
        result.steps[step] = Tally() if isinstance(curve, Curve) else curve
    for journey in journeys:
        found = episodes_of(journey, cutoff)
        if not found or not is_waiting(found[-1]):
            continue
        episode = found[-1]
        curve = curves[episode.step]
        tally = result.steps[episode.step]
        if not isinstance(curve, Curve) or not isinstance(tally, Tally):
            continue
        chance = curve.given_wait(episode.waited, horizon)
        reached = journey.reached.get(episode.target)
        happened = reached is not None and reached <= until
        plain = curve.within(horizon)
        if episode.step is Milestone.OPPORTUNITY:
            result.client_chances[journey.person_id] = chance
        tally.add(chance, happened, plain)
        result.overall.add(chance, happened, plain)
        result.bands[min(int(chance * BANDS), BANDS - 1)].add(chance, happened, plain)
    return result
