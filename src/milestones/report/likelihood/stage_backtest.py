"""The CRM's stage probabilities, backtested beside ours on the same deals and the same question.

The question: was a deal open on the cutoff day won within the horizon (90 days) after it?
The CRM's answer is the probability of the stage the deal was in on that day (the last stage
it had entered by then, from its stage-entry dates: HubSpot ``hs_v2_date_entered_<stage>``,
Salesforce OpportunityHistory), as the stage catalogue gives it (HubSpot's pipeline stage
``metadata.probability``, Salesforce's ``OpportunityStage.DefaultProbability``). Ours is the
chance, fitted on the ledger as it stood on the cutoff day, that the deal's person waiting at
opportunity then became a client within the horizon (the likeliest person where the deal has
several), given how long they had waited.

Both are scored on the deals where both have an answer: open on the cutoff day, in a stage the
catalogue gives a probability, and with a person waiting at opportunity on that day. The other
open deals are counted by why they were left out. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from milestones.mapping.records import Deal, Stage

BANDS = 10
LEFT_OUT = ("stage_unknown", "no_stage_probability", "no_person_waiting_at_opportunity")


@dataclass(slots=True)
class Score:
    """One forecaster's predictions of the scored deals: sums, squared error, bands."""

    predicted: float = 0.0
    squared_error: float = 0.0
    bands: list[list[float]] = field(default_factory=lambda: [[0, 0.0, 0] for _ in range(BANDS)])

    def add(self, chance: float, is_won: bool) -> None:
        """Count one deal."""
        self.predicted += chance
        self.squared_error += (chance - is_won) ** 2
        band = self.bands[min(int(chance * BANDS), BANDS - 1)]
        band[0] += 1
        band[1] += chance
        band[2] += int(is_won)

    def as_dict(self, deals: int) -> dict[str, Any]:
        """Rounded for people and JSON."""
        return {
            "predicted": round(self.predicted, 1),
            "brier": round(self.squared_error / deals, 4) if deals else None,
            "calibration": [
                {
                    "band": f"{i * 10}-{i * 10 + 10}%",
                    "deals": int(n),
                    "predicted": round(p, 1),
                    "actual": int(a),
                }
                for i, (n, p, a) in enumerate(self.bands)
                if n
            ],
        }


@dataclass(slots=True)
class StageRow:
    """The scored deals that stood in one stage on the cutoff day."""

    label: str
    probability: float
    deals: int = 0
    won: int = 0
    ours: float = 0.0


@dataclass(slots=True)
class StageBacktest:
    """The stage probabilities' backtest beside ours, over the same open deals."""

    deals: int = 0
    won: int = 0
    ours: Score = field(default_factory=Score)
    stages: Score = field(default_factory=Score)
    by_stage: dict[str, StageRow] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEFT_OUT, 0))

    def as_dict(self) -> dict[str, Any]:
        """For JSON: both scores, the stages one by one, and what was left out."""
        return {
            "question": "open deals on the cutoff day: won within the horizon?",
            "deals": self.deals,
            "won": self.won,
            "ours": self.ours.as_dict(self.deals),
            "stage_probabilities": self.stages.as_dict(self.deals),
            "by_stage": [
                {
                    "stage": row.label,
                    "probability": row.probability,
                    "deals": row.deals,
                    "won": row.won,
                    "ours_predicted": round(row.ours, 1),
                }
                for row in self.by_stage.values()
            ],
            "left_out": dict(self.left_out),
        }


def _entries(deal: Deal, stages: Mapping[str, Stage]) -> list[tuple[datetime, int, str]]:
    """The deal's stage entries in order (time, then the stage's place in its pipeline)."""
    return sorted(
        (at, stages[sid].display_order if sid in stages else 0, sid)
        for sid, at in deal.stage_entered.items()
    )


def stage_on(deal: Deal, day: date, stages: Mapping[str, Stage]) -> str | None:
    """The stage ``deal`` stood in at the end of ``day``: the last one it had entered by then.
    Without stage history, its current stage if it entered it by then; else None."""
    if deal.created_at is not None and deal.created_at.date() > day:
        return None
    entered = [sid for at, _, sid in _entries(deal, stages) if at.date() <= day]
    if entered:
        return entered[-1]
    if deal.stage_entered:
        return None
    changed = deal.stage_changed_at or deal.created_at
    return deal.stage_id if changed is not None and changed.date() <= day else None


def is_won_between(deal: Deal, after: date, until: date, stages: Mapping[str, Stage]) -> bool:
    """Whether ``deal`` entered a won stage after ``after`` and by ``until`` (without stage
    history: whether it is won now with a close date in that span)."""
    if deal.stage_entered:
        return any(
            after < at.date() <= until
            for sid, at in deal.stage_entered.items()
            if sid in stages and stages[sid].is_won
        )
    return bool(deal.is_won) and deal.close_date is not None and after < deal.close_date <= until


def backtest_stages(
    deals: Iterable[Deal],
    stages: Mapping[str, Stage],
    cutoff: date,
    until: date,
    chances: Mapping[str, float],
) -> StageBacktest:
    """Score the stage probabilities and ``chances`` (person id -> our chance of becoming a
    client by ``until``, for the people waiting at opportunity on ``cutoff``) on the deals
    open on ``cutoff``, against whether each was won by ``until``."""
    result = StageBacktest()
    for deal in deals:
        sid = stage_on(deal, cutoff, stages)
        if sid is None:
            continue  # not opened yet on the cutoff day
        stage = stages.get(sid)
        if stage is None:
            result.left_out["stage_unknown"] += 1
            continue
        if stage.is_closed:
            continue
        if stage.probability is None:
            result.left_out["no_stage_probability"] += 1
            continue
        ours = [chances[c] for c in deal.contact_ids if c in chances]
        if not ours:
            result.left_out["no_person_waiting_at_opportunity"] += 1
            continue
        is_won = is_won_between(deal, cutoff, until, stages)
        result.deals += 1
        result.won += int(is_won)
        result.ours.add(max(ours), is_won)
        result.stages.add(stage.probability, is_won)
        row = result.by_stage.setdefault(sid, StageRow(stage.label, stage.probability))
        row.deals += 1
        row.won += int(is_won)
        row.ours += max(ours)
    result.by_stage = dict(
        sorted(result.by_stage.items(), key=lambda kv: (stages[kv[0]].display_order, kv[0]))
    )
    return result
