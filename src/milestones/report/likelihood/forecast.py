"""What the curves say about today: each waiting person's chance, and the sums per group.

A person waiting at a step for ``w`` days converts in the next ``h`` days with the curve's
conditional chance (a prospect silent for a year is worth less than a fresh one). Summed over
a group (the org, an owner, a monthly cohort), the expected number of people reaching each
milestone in the next 90 days, with a 95% interval from the spread of those independent
chances (normal approximation of the Poisson-binomial). Only the next step is counted: a
prospect who becomes a client within the 90 days counts as a new opportunity.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from milestones.mapping.records import Milestone
from milestones.report.likelihood.episodes import Episode, is_waiting
from milestones.report.likelihood.estimate import Curve
from milestones.store.journeys import OpenDeal

HORIZONS = (30, 90, 180)
HORIZON = 90


@dataclass(frozen=True, slots=True)
class PersonChance:
    """One waiting person's chances of reaching the next milestone within 30, 90, 180 days."""

    episode: Episode
    within: dict[int, float]

    @property
    def next_90(self) -> float:
        """The chance within 90 days (the written field's value)."""
        return self.within[HORIZON]


@dataclass(slots=True)
class Expected:
    """Expected arrivals at one milestone in one group: the sum of chances and its interval."""

    waiting: int = 0
    expected: float = 0.0
    variance: float = 0.0

    def add(self, chance: float) -> None:
        """Count one waiting person with their chance."""
        self.waiting += 1
        self.expected += chance
        self.variance += chance * (1 - chance)

    def as_dict(self) -> dict[str, Any]:
        """Rounded for people and JSON."""
        spread = 1.96 * math.sqrt(self.variance)
        return {
            "waiting": self.waiting,
            "expected": round(self.expected, 1),
            "low": round(max(self.expected - spread, 0.0), 1),
            "high": round(min(self.expected + spread, float(self.waiting)), 1),
        }


@dataclass(slots=True)
class Forecast:
    """Expected arrivals per milestone, for the org, each owner and each monthly cohort."""

    org: dict[Milestone, Expected] = field(default_factory=dict)
    owners: dict[str, dict[Milestone, Expected]] = field(default_factory=dict)
    cohorts: dict[str, dict[Milestone, Expected]] = field(default_factory=dict)
    not_estimated: dict[Milestone, int] = field(default_factory=dict)

    def add(self, chance: PersonChance) -> None:
        """Count one person in every group they belong to."""
        milestone = chance.episode.target
        owner = chance.episode.owner_id or ""
        for table in (
            self.org,
            self.owners.setdefault(owner, {}),
            self.cohorts.setdefault(chance.episode.cohort, {}),
        ):
            table.setdefault(milestone, Expected()).add(chance.next_90)


def person_chance(curve: Curve, episode: Episode) -> PersonChance:
    """A waiting person's chances, given how long they have waited."""
    return PersonChance(episode, {h: curve.given_wait(episode.waited, h) for h in HORIZONS})


def forecast(
    waiting: Iterable[Episode], curves: Mapping[Milestone, Curve | int]
) -> tuple[Forecast, dict[str, PersonChance]]:
    """The groups' expected arrivals, and each waiting person's chances by person id."""
    result = Forecast()
    people: dict[str, PersonChance] = {}
    for episode in waiting:
        if not is_waiting(episode):
            continue
        curve = curves.get(episode.step)
        if not isinstance(curve, Curve):
            result.not_estimated[episode.target] = result.not_estimated.get(episode.target, 0) + 1
            continue
        chance = person_chance(curve, episode)
        people[episode.person_id] = chance
        result.add(chance)
    return result, people


@dataclass(slots=True)
class WonAmount:
    """Expected won amount of the open deals: ours (within 90 days) and the CRM's stages'."""

    deals: int = 0
    without_amount: int = 0
    ours: float = 0.0
    by_stage_probability: float = 0.0
    without_stage_probability: int = 0
    without_likelihood: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Rounded for people and JSON."""
        return {
            "open_deals": self.deals,
            "without_amount": self.without_amount,
            "expected_within_90_days": round(self.ours, 2),
            "by_stage_probability": round(self.by_stage_probability, 2),
            "without_stage_probability": self.without_stage_probability,
            "without_likelihood": self.without_likelihood,
        }


def won_amount(deals: Iterable[OpenDeal], people: Mapping[str, PersonChance]) -> WonAmount:
    """Each open deal's amount times its likeliest person's chance of becoming a client in
    90 days, beside the amount times the CRM's stage probability, over the same deals."""
    total = WonAmount()
    for deal in deals:
        total.deals += 1
        if deal.amount is None:
            total.without_amount += 1
            continue
        chances = [
            people[c].next_90
            for c in deal.contact_ids
            if c in people and people[c].episode.target is Milestone.CLIENT
        ]
        if not chances:  # no one on it waits at opportunity with a curve to read
            total.without_likelihood += 1
            continue
        total.ours += deal.amount * max(chances)
        if deal.stage_probability is None:
            total.without_stage_probability += 1
        else:
            total.by_stage_probability += deal.amount * deal.stage_probability
    return total
