"""A world whose people move through the milestones at known rates (``generate_world(...,
known_rates=KnownRates())``), so that an estimate read from a sync can be checked against the
truth.

Each person belongs to a cohort (their lead source) and meets, at each step, the cohort's
``StepRate``: they reach the next milestone with probability ``conversion`` after a whole
number of days drawn from an exponential of mean ``delay_days``; otherwise, with probability
``loss``, they are disqualified after ``loss_delay_days`` on average; otherwise they wait for
ever. The true chance of converting within ``d`` days of reaching a step is
``conversion * (1 - exp(-(d + 1) / delay_days))``. Nothing after the anchor has happened.

The evidence is the ordinary kind, each dated on its day (every event at noon UTC):

- target: the person's creation, and an outbound email (one-way: proves nothing);
- prospect: an incoming email (the person answered);
- opportunity: a deal opened in "Presentation scheduled" (the first proposal stage); it moves
  through the later proposal stages before it closes;
- client: the deal entering "Closed won";
- advocate: a promoter score of 10, answered that day (``hs_feedback_last_survey_date``:
  configure ``[mapping.advocate] nps_date_property`` to date advocacy by it);
- disqualified: lead status ``UNQUALIFIED``, the person's last change (a deal still open
  then enters "Closed lost" that day). Salesforce keeps a lead status on Leads only, so there
  a disqualified Contact reads as still waiting.

The pipeline's stage probabilities are an admin's guesses (``CARELESS_PROBABILITIES``): far
too optimistic in the early stages. Drawn from random streams of their own; the default demo
world does not use this module.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from milestones.sandbox.world.records import Pipeline, Stage, default_pipelines
from milestones.sandbox.world.store import Activity, Deal, Owner, Person, World
from milestones.sandbox.world.tables import FIRST_ASCII, LAST, PRODUCTS

DAY = 86_400_000
NOON = DAY // 2
STEPS = ("target", "prospect", "opportunity", "client")
# The worker's [mapping] under which it reads this world's steps as the world made them: the
# pipeline's stages as opportunity or client, and the NPS survey's date property.
MAPPING_TOML = """
[mapping.stages]
presentationscheduled = "opportunity"
decisionmakerboughtin = "opportunity"
contractsent = "opportunity"
closedwon = "client"
[mapping.advocate]
nps_date_property = "hs_feedback_last_survey_date"
"""
LIFECYCLE = {
    "target": "lead",
    "prospect": "salesqualifiedlead",
    "opportunity": "opportunity",
    "client": "customer",
    "advocate": "evangelist",
}
PROPOSAL_STAGES = ("presentationscheduled", "decisionmakerboughtin", "contractsent")
CARELESS_PROBABILITIES: Mapping[str, float] = {
    "appointmentscheduled": 0.5,
    "qualifiedtobuy": 0.6,
    "presentationscheduled": 0.7,
    "decisionmakerboughtin": 0.8,
    "contractsent": 0.9,
}


@dataclass(frozen=True)
class StepRate:
    """One step's truth: who converts and after how long; who is lost and after how long."""

    conversion: float
    delay_days: float
    loss: float = 0.0  # share of the non-converting who are disqualified
    loss_delay_days: float = 60.0

    def within(self, days: int) -> float:
        """The true chance of converting within ``days`` whole days of reaching the step."""
        return self.conversion * (1 - math.exp(-(days + 1) / self.delay_days))


@dataclass(frozen=True)
class Cohort:
    """People of one lead source and their four steps (target->prospect ... client->advocate)."""

    source: str
    share: float
    steps: tuple[StepRate, StepRate, StepRate, StepRate]


DEFAULT_COHORTS = (
    Cohort(
        "ORGANIC_SEARCH",
        0.5,
        (
            StepRate(0.5, 60, 0.3, 120),
            StepRate(0.5, 45, 0.4, 90),
            StepRate(0.4, 30, 0.5, 60),
            StepRate(0.3, 120),
        ),
    ),
    Cohort(
        "PAID_SEARCH",
        0.3,
        (
            StepRate(0.35, 45, 0.4, 90),
            StepRate(0.35, 40, 0.4, 90),
            StepRate(0.3, 35, 0.5, 60),
            StepRate(0.2, 150),
        ),
    ),
    Cohort(
        "REFERRALS",
        0.2,
        (
            StepRate(0.8, 30, 0.2, 120),
            StepRate(0.7, 30, 0.3, 90),
            StepRate(0.6, 25, 0.4, 60),
            StepRate(0.5, 90),
        ),
    ),
)


@dataclass(frozen=True)
class KnownRates:
    """The generator's parameters: cohorts, how many years of arrivals, the stages' guesses."""

    cohorts: tuple[Cohort, ...] = DEFAULT_COHORTS
    years: float = 3.0
    stage_probabilities: Mapping[str, float] = field(
        default_factory=lambda: dict(CARELESS_PROBABILITIES)
    )
    owners: int = 6

    def cohort(self, source: str) -> Cohort:
        """The cohort of a lead source."""
        return next(c for c in self.cohorts if c.source == source)


def true_within(world: World, rates: KnownRates, step: str, days: int) -> float:
    """The world's true chance of converting within ``days`` at ``step``: each cohort's, weighted
    by how many of its people reached the step by the anchor."""
    reached: dict[str, int] = world.meta["known_rates"]["reached"][step]
    total = sum(reached.values())
    index = STEPS.index(step)
    return sum(n * rates.cohort(src).steps[index].within(days) for src, n in reached.items()) / (
        total or 1
    )


def careless_pipelines(probabilities: Mapping[str, float]) -> list[Pipeline]:
    """The default pipelines with the sales stages' probabilities replaced by ``probabilities``."""
    pipelines = default_pipelines()
    for pipeline in pipelines:
        pipeline.stages = [
            Stage(s.id, s.label, probabilities[s.id], s.is_closed, s.is_won, s.display_order)
            if s.id in probabilities
            else s
            for s in pipeline.stages
        ]
    return pipelines


def generate_known_rates_world(seed: int, contacts: int, anchor: int, rates: KnownRates) -> World:
    """``contacts`` people drawn from ``rates``, created evenly over ``rates.years`` before the
    day of ``anchor``; the truth each step was drawn from is in ``world.meta``."""
    world = World(
        seed=seed, anchor_ms=anchor, pipelines=careless_pipelines(rates.stage_probabilities)
    )
    builder = _Builder(
        world, random.Random(f"milestones-sandbox-known-rates:{seed}:{contacts}"), rates
    )
    builder.owners()
    for i in range(contacts):
        builder.person(i)
    world.meta = {"contacts": contacts, "known_rates": {"reached": builder.reached}}
    return world


class _Builder:
    """One person at a time: their cohort, their walk through the steps, their evidence."""

    def __init__(self, world: World, rng: random.Random, rates: KnownRates) -> None:
        self.w, self.rng, self.rates = world, rng, rates
        self.today = (world.anchor_ms // DAY) * DAY  # midnight of the anchor's day
        self.owner_ids: list[int] = []
        self.reached: dict[str, dict[str, int]] = {s: {} for s in STEPS}

    def owners(self) -> None:
        for i in range(self.rates.owners):
            o = Owner()
            _base(o, self.w, "owner", self.today - 4 * 365 * DAY)
            o.first_name, o.last_name = FIRST_ASCII[i % len(FIRST_ASCII)], "Rep"
            o.email = f"{o.first_name.lower()}.rep@sandbox-sales.example"
            self.owner_ids.append(self.w.insert(o).id)

    def _days(self, mean: float) -> int:
        return int(self.rng.expovariate(1 / mean))

    def person(self, i: int) -> None:
        rng = self.rng
        cohort = rng.choices(self.rates.cohorts, [c.share for c in self.rates.cohorts])[0]
        created = self.today - (1 + rng.randrange(int(self.rates.years * 365))) * DAY + NOON
        dates: dict[str, int] = {"target": created}
        lost: int | None = None
        at = created
        for index, step in enumerate(STEPS):
            self.reached[step][cohort.source] = self.reached[step].get(cohort.source, 0) + 1
            truth = cohort.steps[index]
            if rng.random() < truth.conversion:
                at += self._days(truth.delay_days) * DAY
                if at < self.today:
                    dates[_next(step)] = at
                    continue
            elif rng.random() < truth.loss:
                when = at + self._days(truth.loss_delay_days) * DAY
                lost = when if when < self.today else None
            break
        self._records(i, cohort.source, dates, lost)

    def _records(self, i: int, source: str, dates: dict[str, int], lost: int | None) -> None:
        rng = self.rng
        p = Person()
        _base(p, self.w, "person", dates["target"])
        journey = list(dates)[-1]
        p.journey, p.lead_source, p.lifecycle = journey, source, LIFECYCLE[journey]
        p.first_name, p.last_name = rng.choice(FIRST_ASCII), rng.choice(LAST)
        p.email = f"known{i}@mail.example"
        p.owner_id = rng.choice(self.owner_ids)
        p.company_id = p.phone = p.job_title = p.converted_ms = p.merged_ids = None
        p.is_lead_only = p.opted_out = p.is_reference = p.referred_by_email = False
        p.referred_by = None
        p.lead_status = "UNQUALIFIED" if lost is not None else "OPEN"
        p.nps, p.nps_ms = (10, dates["advocate"]) if "advocate" in dates else (None, None)
        self.w.insert(p)
        self._activity(p, ("email", "EMAIL", "SENT", None, "Introduction"), dates["target"])
        if "prospect" in dates:
            reply = ("email", "INCOMING_EMAIL", "SENT", None, "Re: Introduction")
            self._activity(p, reply, dates["prospect"])
        if "opportunity" in dates:
            self._deal(p, dates, lost)
        p.modified = p.touched = max(lost or 0, *dates.values())

    def _activity(self, p: Person, spec: tuple[Any, ...], ts: int) -> None:
        kind, direction, status, disposition, subject = spec
        a = Activity()
        a.kind = kind
        _base(a, self.w, kind, ts)
        a.timestamp, a.direction, a.status, a.disposition, a.subject = (
            ts, direction, status, disposition, subject
        )  # fmt: skip
        a.duration_ms, a.owner_id, a.deal_id, a.contact_ids = None, p.owner_id, None, (p.id,)
        self.w.insert(a)

    def _deal(self, p: Person, dates: dict[str, int], lost: int | None) -> None:
        """Opened in the first proposal stage on the opportunity day, then on through the
        later ones (a won deal through all, a lost one rarely, an open one sometimes) until it
        is won or lost."""
        opened = dates["opportunity"]
        won = dates.get("client")
        end = won or lost
        d = Deal()
        _base(d, self.w, "deal", opened)
        d.entered = self._walk(opened, end, passes_all=won is not None, reach=0.3 if lost else 0.5)
        if end is not None:
            d.entered["closedwon" if won else "closedlost"] = end
        d.pipeline, d.stage = self.w.pipelines[0].id, list(d.entered)[-1]
        d.name = f"{self.rng.choice(PRODUCTS)} for {p.last_name}"
        d.amount = float(self.rng.randrange(1_000, 50_000, 500))
        d.close_ms = end if end is not None else opened + 90 * DAY
        d.company_id, d.owner_id, d.referred_by = None, p.owner_id, None
        d.contact_ids = (p.id,)
        d.modified = d.touched = max(d.entered.values())
        self.w.insert(d)

    def _walk(self, opened: int, end: int | None, passes_all: bool, reach: float) -> dict[str, int]:
        """Proposal stage -> day entered, in order, on whole days from ``opened`` to ``end``
        (or to yesterday for a deal still open)."""
        span = ((end if end is not None else self.today - DAY) - opened) // DAY
        days = sorted(self.rng.randint(0, max(span, 0)) for _ in PROPOSAL_STAGES[1:])
        entered = {PROPOSAL_STAGES[0]: opened}
        for stage, day in zip(PROPOSAL_STAGES[1:], days, strict=True):
            if not passes_all and self.rng.random() >= reach:
                break
            entered[stage] = opened + day * DAY
        return entered


def _next(step: str) -> str:
    return (*STEPS, "advocate")[STEPS.index(step) + 1]


def _base(rec: Any, world: World, kind: str, created: int) -> None:
    rec.id = world.new_id(kind)
    rec.created = rec.modified = rec.touched = created
    rec.archived = False
    rec.extra = None
