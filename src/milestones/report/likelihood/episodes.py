"""Episodes: each person's wait at a milestone, as a survival estimator reads it.

For every step (target -> prospect, prospect -> opportunity, opportunity -> client,
client -> advocate) everyone who reached the first milestone by the day ``as_of`` has one
episode: how many days they waited, and how it ended by then. It ended in *conversion*
(the next milestone reached), in *loss* (disqualified: a competing outcome, not a censored
wait, since a lost person will not convert), or it still runs (*waiting*: censored at
``as_of``). Nothing reached after ``as_of`` is seen, so a backtest can replay the past.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from milestones.mapping.records import Milestone
from milestones.store.journeys import Journey

STEPS: tuple[Milestone, ...] = (
    Milestone.TARGET,
    Milestone.PROSPECT,
    Milestone.OPPORTUNITY,
    Milestone.CLIENT,
)
WAITING, CONVERTED, LOST = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Episode:
    """One person's wait at ``step`` as it stood on a day."""

    person_id: str
    owner_id: str | None
    cohort: str  # the month the wait began, YYYY-MM
    step: Milestone
    waited: int  # days from reaching ``step`` to the outcome (or to the day, while waiting)
    outcome: int  # WAITING, CONVERTED or LOST

    @property
    def target(self) -> Milestone:
        """The milestone this wait leads to."""
        return Milestone(self.step + 1)


def _start(journey: Journey, step: Milestone) -> date | None:
    if step is Milestone.TARGET:
        return journey.created_on or journey.reached.get(Milestone.PROSPECT)
    return journey.reached.get(step)


def episodes_of(journey: Journey, as_of: date) -> list[Episode]:
    """The journey's episodes as they stood on ``as_of`` (one per step it had begun)."""
    found: list[Episode] = []
    for step in STEPS:
        start = _start(journey, step)
        if start is None or start > as_of:
            break
        reached = journey.reached.get(Milestone(step + 1))
        lost = journey.disqualified_on
        if reached is not None and reached <= as_of:
            end, outcome = reached, CONVERTED
        elif lost is not None and lost <= as_of:
            end, outcome = lost, LOST
        else:
            end, outcome = as_of, WAITING
        waited = max((end - start).days, 0)
        cohort = start.strftime("%Y-%m")
        found.append(Episode(journey.person_id, journey.owner_id, cohort, step, waited, outcome))
        if outcome != CONVERTED:
            break
    return found


def split_by_step(journeys: Iterable[Journey], as_of: date) -> dict[Milestone, list[Episode]]:
    """Every journey's episodes on ``as_of``, grouped by step."""
    steps: dict[Milestone, list[Episode]] = {step: [] for step in STEPS}
    for journey in journeys:
        for episode in episodes_of(journey, as_of):
            steps[episode.step].append(episode)
    return steps


def is_waiting(episode: Episode) -> bool:
    """Whether the episode still runs (the person may yet reach the next milestone)."""
    return episode.outcome == WAITING
