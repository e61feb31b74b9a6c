"""A state whose people move through the milestones at known rates, for the likelihood tests.

Each step (target -> prospect ... client -> advocate) converts a known share of the people who
reach it, after an exponential delay of known mean; of the rest a known share is disqualified
after its own delay, and the others wait for ever. People are created evenly over the three
years before ``TODAY``; nothing after ``TODAY`` has happened. The state is written through
the Store API the way a sync leaves it: contacts in the mirror, derived results, the ledger.
Everyone who reached opportunity has a deal that entered "Proposal" that day and "Won" the
day they became a client (or "Lost" the day they were disqualified); the Proposal stage's
probability is set too high on purpose.

The true chance of converting within ``d`` whole days of reaching a step is
``conversion * (1 - exp(-(d + 1) / delay))`` (delays are counted in whole days).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from milestones.mapping.derive import Derived, Evidence
from milestones.mapping.records import Contact, Deal, Milestone, Stage
from milestones.store.rows import LedgerEntry
from milestones.store.sqlite import Store

TODAY = date(2026, 6, 15)
STEPS = (Milestone.TARGET, Milestone.PROSPECT, Milestone.OPPORTUNITY, Milestone.CLIENT)
STAGES = [
    Stage("proposal", "Proposal", "default", probability=0.8, display_order=0),
    Stage("closedwon", "Won", "default", is_closed=True, is_won=True, display_order=1),
    Stage("closedlost", "Lost", "default", is_closed=True, probability=0.0, display_order=2),
]


@dataclass(frozen=True)
class StepRates:
    """One step's truth: who converts, after how long; who is lost, after how long."""

    conversion: float
    delay: float  # mean days to convert
    loss: float  # share of the non-converting who are disqualified
    loss_delay: float

    def within(self, days: int) -> float:
        """The true chance of converting within ``days`` whole days."""
        return self.conversion * (1 - math.exp(-(days + 1) / self.delay))


RATES: dict[Milestone, StepRates] = {
    Milestone.TARGET: StepRates(0.6, 60, 0.3, 120),
    Milestone.PROSPECT: StepRates(0.5, 45, 0.4, 90),
    Milestone.OPPORTUNITY: StepRates(0.4, 30, 0.5, 60),
    Milestone.CLIENT: StepRates(0.3, 120, 0.0, 1),
}


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def write_world(
    path: Path, people: int, rates: dict[Milestone, StepRates] = RATES, seed: int = 7
) -> Store:
    """A state at ``path`` with ``people`` people drawn from ``rates`` (returned open)."""
    draw = random.Random(seed)
    store = Store(path)
    contacts: list[Contact] = []
    results: list[Derived] = []
    ledger: list[LedgerEntry] = []
    deals: list[Deal] = []
    for n in range(people):
        pid = f"p{n:06d}"
        created = TODAY - timedelta(days=draw.randrange(0, 3 * 365))
        owner = f"u{n % 3 + 1}"
        reached: dict[Milestone, Evidence] = {}
        start, lost_on = created, None
        for step in STEPS:
            truth = rates[step]
            if draw.random() < truth.conversion:
                end = start + timedelta(days=int(draw.expovariate(1 / truth.delay)))
                if end > TODAY:
                    break
                reached[Milestone(step + 1)] = Evidence(end, "world", "contact", pid)
                ledger.append(
                    LedgerEntry(
                        "contact",
                        pid,
                        step.label,
                        Milestone(step + 1).label,
                        end.isoformat(),
                        "world",
                        1,
                        TODAY.isoformat(),
                    )
                )
                start = end
                continue
            if draw.random() < truth.loss:
                lost = start + timedelta(days=int(draw.expovariate(1 / truth.loss_delay)))
                lost_on = lost if lost <= TODAY else None
            break
        milestone = max(reached, default=Milestone.TARGET)
        contacts.append(
            Contact(
                pid,
                email=f"{pid}@example.com",
                owner_id=owner,
                created_at=_noon(created),
                modified_at=_noon(lost_on or created),
            )
        )
        results.append(Derived(pid, milestone, reached, is_disqualified=lost_on is not None))
        if Milestone.OPPORTUNITY in reached:
            deals.append(_deal(n, pid, reached, lost_on))
    with store.transaction():
        store.mirror.replace_stages(STAGES)
        store.mirror.apply_page("contacts", contacts, [], 1, {})
        store.mirror.apply_page("deals", deals, [], 1, {})
        store.people.save_people(results, [c.id for c in contacts])
        store.ledger.add(ledger)
    return store


def _deal(n: int, pid: str, reached: dict[Milestone, Evidence], lost_on: date | None) -> Deal:
    """The person's deal: opened in Proposal on the opportunity day, then won or lost."""
    entered = {"proposal": _noon(reached[Milestone.OPPORTUNITY].on)}
    if Milestone.CLIENT in reached:
        entered["closedwon"] = _noon(reached[Milestone.CLIENT].on)
    elif lost_on is not None:
        entered["closedlost"] = _noon(lost_on)
    stage = list(entered)[-1]  # the last entered, even on the day it opened
    return Deal(
        f"d{n:06d}",
        stage_id=stage,
        pipeline_id="default",
        is_closed=stage != "proposal",
        is_won=stage == "closedwon",
        amount=1000.0,
        created_at=entered["proposal"],
        stage_changed_at=entered[stage],
        stage_entered=entered,
        contact_ids=(pid,),
    )
