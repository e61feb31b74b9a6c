"""Conversion curves: the Aalen-Johansen cumulative incidence of each step, with its interval.

For each step the estimator reads every episode (converted, lost, still waiting) and gives
F(t), the probability of reaching the next milestone within t days of the first, with loss
(disqualification) as a competing outcome and waits still running censored at the day of
the fit. Treating the lost as censored (Kaplan-Meier of conversion alone) would count them as
people who might still convert, and overstate conversion; Aalen-Johansen does not.

The estimator is lifelines' ``AalenJohansenFitter`` (with its delta-method 95% interval) and
``KaplanMeierFitter`` for the chance of still waiting. lifelines brings numpy, scipy and
pandas (about a second to import, 280 MB installed), so it is the ``likelihood`` extra and
is imported here only, when a likelihood is computed: ``sync`` and ``--help`` never load it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from milestones.mapping.records import Milestone
from milestones.report.likelihood.episodes import CONVERTED, LOST, Episode

EXTRA_HINT = "the likelihood needs lifelines: pip install 'crm-milestones[likelihood]'"


class MissingEstimator(RuntimeError):
    """lifelines is not installed (the ``likelihood`` extra)."""


def _lifelines() -> Any:
    try:
        import lifelines
    except ImportError:
        raise MissingEstimator(EXTRA_HINT) from None
    return lifelines


def require_estimator() -> None:
    """Raise ``MissingEstimator`` now, before a run that will need it starts."""
    _lifelines()


@dataclass(frozen=True, slots=True)
class Curve:
    """One step's estimate on a grid of whole days 0..len-1.

    ``converted[d]``: probability of reaching the next milestone within d days;
    ``lower``/``upper``: its 95% interval; ``waiting[d]``: probability of neither
    converting nor being lost within d days. Past the grid every value stays as it ends.
    """

    step: Milestone
    sample: int  # people who reached ``step``
    conversions: int
    losses: int
    converted: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    waiting: tuple[float, ...]

    def _at(self, values: tuple[float, ...], day: int) -> float:
        return values[min(max(day, 0), len(values) - 1)]

    def within(self, days: int) -> float:
        """F(days): the chance of converting within ``days`` of reaching the step."""
        return self._at(self.converted, days)

    def interval(self, days: int) -> tuple[float, float]:
        """The 95% interval of ``within(days)``."""
        return self._at(self.lower, days), self._at(self.upper, days)

    def given_wait(self, waited: int, days: int) -> float:
        """The chance of converting in the next ``days``, for someone who has waited
        ``waited`` days and is neither converted nor lost:
        (F(waited + days) - F(waited)) / S(waited)."""
        still = self._at(self.waiting, waited)
        if still <= 0.0:
            return 0.0
        gained = self._at(self.converted, waited + days) - self._at(self.converted, waited)
        return min(max(gained / still, 0.0), 1.0)


def _on_grid(frame: Any, column: str, grid: int, default: float) -> tuple[float, ...]:
    """A step function read at whole days (+0.5, past any tie-breaking jitter)."""
    series = frame[column].ffill()
    times = series.index.to_numpy()
    values = series.to_numpy()
    import numpy as np

    positions = np.searchsorted(times, np.arange(grid) + 0.5, side="right") - 1
    return tuple(
        float(values[p]) if p >= 0 and values[p] == values[p] else default for p in positions
    )


def fit_curve(step: Milestone, episodes: Sequence[Episode]) -> Curve:
    """The step's curve from its episodes (at least one)."""
    lifelines = _lifelines()
    durations = [e.waited for e in episodes]
    outcomes = [e.outcome for e in episodes]
    grid = max(durations) + 2
    with warnings.catch_warnings():  # lifelines warns that it breaks tied times by jitter
        warnings.simplefilter("ignore")
        aj = lifelines.AalenJohansenFitter(calculate_variance=True, seed=0)
        aj.fit(durations, outcomes, event_of_interest=CONVERTED)
        km = lifelines.KaplanMeierFitter().fit(durations, [o != 0 for o in outcomes])
    converted = _on_grid(aj.cumulative_density_, aj.cumulative_density_.columns[0], grid, 0.0)
    bounds = aj.confidence_interval_
    first = _on_grid(bounds, bounds.columns[0], grid, 0.0)
    second = _on_grid(bounds, bounds.columns[1], grid, 0.0)
    lower = tuple(min(a, b, c) for a, b, c in zip(first, second, converted, strict=True))
    upper = tuple(max(a, b, c) for a, b, c in zip(first, second, converted, strict=True))
    waiting = _on_grid(km.survival_function_, km.survival_function_.columns[0], grid, 1.0)
    return Curve(
        step=step,
        sample=len(episodes),
        conversions=outcomes.count(CONVERTED),
        losses=outcomes.count(LOST),
        converted=converted,
        lower=lower,
        upper=upper,
        waiting=waiting,
    )


def fit_curves(
    steps: dict[Milestone, list[Episode]], min_sample: int
) -> dict[Milestone, Curve | int]:
    """Each step's curve, or its sample size where it is below ``min_sample``."""
    return {
        step: fit_curve(step, episodes) if len(episodes) >= max(min_sample, 1) else len(episodes)
        for step, episodes in steps.items()
    }
