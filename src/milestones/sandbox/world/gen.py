"""Seeded generator of the demo world (see ``store`` for the records it builds).

``generate_world(seed, contacts)`` is deterministic from ``(seed, contacts, anchor_ms)``.
Each person is given a *journey*, the milestone the generator means them to reach, and gets
the evidence for it: targets only outbound touches; prospects at least one two-way
contact; opportunities a deal in an opportunity stage; clients a closed-won deal;
advocates also a referral, a promoter NPS score or the reference flag (HubSpot property
``reference_customer``). Default shares:
target 50 %, prospect 22 %, opportunity 13 %, client 10 %, advocate 5 %; about 0.35
deals and 5 activities per person, a third of the activities after a deal opened logged
on that deal too. Associations and referrals can lift a person past
their journey (a co-contact on a won deal), so ``journey`` is the intent, not a verdict.

Odd records real portals have are always present (even with 50 people): no email,
unicode names, very long names, null properties, a duplicate email in another case,
opted-out people (one who replied "remove me"), disqualified leads, lead-only people,
converted leads, merged people, archived people, deals and activities, an NPS survey
with no score, referrals by id and by email, referral chains, referred deals, deals
with several contacts, people with several deals, and a share of records modified at
one identical millisecond (a bulk edit) so that cursors must break ties by id.
"""

from __future__ import annotations

import gc
import itertools
import random
import time
from datetime import UTC, datetime

from milestones.sandbox.world.flag_dates import date_flags
from milestones.sandbox.world.known_rates import KnownRates, generate_known_rates_world
from milestones.sandbox.world.records import Pipeline
from milestones.sandbox.world.stage_paths import walk_stages
from milestones.sandbox.world.store import Activity, Company, Deal, Owner, Person, World, kind_of
from milestones.sandbox.world.tables import (
    ACTIVITY_MEAN,
    DURATION,
    FIRST,
    FIRST_ASCII,
    INDUSTRIES,
    JOURNEY_WEIGHTS,
    JOURNEYS,
    LAST,
    LIFECYCLE,
    ONE_WAY,
    OPEN_EARLY,
    OPEN_LATE,
    PRODUCTS,
    PROSPECT_STATUS,
    RENEWAL_STAGES,
    SOURCES,
    TARGET_STATUS,
    TWO_WAY,
)

ANCHOR_MS = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)
DAY = 86_400_000
YEAR = 365 * DAY


def generate_world(
    seed: int = 7,
    contacts: int = 500,
    anchor_ms: int | None = None,
    bulk_edit_share: float = 0.05,
    known_rates: KnownRates | None = None,
) -> World:
    """Build the demo world: ``contacts`` people and everything around them.

    ``known_rates``: instead, a world whose people move through the milestones at those
    rates (see ``known_rates``), for checking the likelihood against the truth.
    """
    started = time.perf_counter()
    anchor = ANCHOR_MS if anchor_ms is None else anchor_ms
    if known_rates is not None:
        world = generate_known_rates_world(seed, contacts, anchor, known_rates)
        world.meta["generated_in_s"] = round(time.perf_counter() - started, 3)
        return world
    world = World(seed=seed, anchor_ms=anchor)
    gen = _Generator(world, random.Random(f"milestones-sandbox:{seed}:{contacts}"), anchor)
    collecting = gc.isenabled()
    gc.disable()  # a million new objects and no cycles among them: skip the collector
    try:
        gen.owners(8)
        gen.companies(max(3, contacts // 4))
        gen.people(contacts)
        gen.oddities()
        gen.referrals()
        gen.advocacy_after_win()
        gen.flags_after_win()
        gen.bulk_edit(bulk_edit_share)
        gen.archived_people(contacts)
    finally:
        if collecting:
            gc.enable()
    world.meta = {
        "contacts": contacts,
        "generated_in_s": round(time.perf_counter() - started, 3),
    }
    return world


def _base(rec: object, world: World, kind: str, created: int) -> None:
    rec.id = world.new_id(kind)  # type: ignore[attr-defined]
    rec.created = rec.modified = rec.touched = created  # type: ignore[attr-defined]
    rec.archived = False  # type: ignore[attr-defined]
    rec.extra = None  # type: ignore[attr-defined]


class _Generator:
    """Stateful helper behind ``generate_world``; one pass per record kind."""

    def __init__(self, world: World, rng: random.Random, anchor: int) -> None:
        self.w, self.rng, self.anchor = world, rng, anchor
        self.link_rng = random.Random(f"milestones-sandbox-links:{world.seed}")
        self.path_rng = random.Random(f"milestones-sandbox-paths:{world.seed}")
        self.owner_ids: list[int] = []
        self.company_ids: list[int] = []
        self.by_journey: dict[str, list[int]] = {j: [] for j in JOURNEYS}
        self.archived_extra = 0

    def owners(self, n: int) -> None:
        for i in range(n):
            o = Owner()
            _base(o, self.w, "owner", self.anchor - 3 * YEAR)
            o.first_name, o.last_name = FIRST_ASCII[i % len(FIRST_ASCII)], "Rep"
            o.email = f"{o.first_name.lower()}.rep@sandbox-sales.example"
            self.owner_ids.append(self.w.insert(o).id)

    def companies(self, n: int) -> None:
        rng = self.rng
        for i in range(n):
            c = Company()
            _base(c, self.w, "company", self.anchor - int(rng.random() * 3 * YEAR))
            c.name = f"{rng.choice(LAST)} {rng.choice(('Labs', 'GmbH', 'Inc', 'AS', 'SARL'))} {i}"
            c.domain = None if rng.random() < 0.05 else f"company{i}.example"
            c.industry = rng.choice(INDUSTRIES)
            c.owner_id = rng.choice(self.owner_ids)
            self.company_ids.append(self.w.insert(c).id)

    # ---- people --------------------------------------------------------------------------

    def people(self, n: int) -> None:
        rng = self.rng
        journeys = rng.choices(JOURNEYS, JOURNEY_WEIGHTS, k=n)
        batch_left, batch_ts = 0, 0
        for i in range(n):
            if batch_left == 0 and rng.random() < 0.01:
                batch_left, batch_ts = rng.randint(20, 300), self._past(2.5 * YEAR)
            created = batch_ts if batch_left else self._past(2.5 * YEAR)
            batch_left = max(0, batch_left - 1)
            p = self._person(i, journeys[i], created)
            self.w.insert(p)
            self.by_journey[p.journey].append(p.id)
            self._activities(p)
            self._log_on_deals(p, self._deals(p))

    def _past(self, span: float) -> int:
        return self.anchor - DAY - int(self.rng.random() * span)

    def _person(self, i: int, journey: str, created: int) -> Person:
        rng = self.rng
        p = Person()
        _base(p, self.w, "person", created)
        p.journey = journey
        p.first_name, p.last_name = rng.choice(FIRST), rng.choice(LAST)
        p.company_id = None if rng.random() < 0.1 else rng.choice(self.company_ids)
        domain = f"company{p.company_id - self.company_ids[0]}.example" if p.company_id else None
        local = f"{p.first_name}.{p.last_name}".lower()
        local = local if local.isascii() else "contact"
        local = local.replace(" ", "").replace("'", "")
        p.email = f"{local}{i}@{domain or 'mail.example'}"
        p.phone = None if rng.random() < 0.4 else f"+1 555 {i:07d}"
        p.job_title = (
            None if rng.random() < 0.3 else rng.choice(("CTO", "Buyer", "VP Sales", "CEO"))
        )
        p.owner_id = rng.choice(self.owner_ids)
        p.lead_source = rng.choice(SOURCES)
        early = journey in ("target", "prospect")
        p.is_lead_only = early and rng.random() < (0.25 if journey == "target" else 0.1)
        p.converted_ms = None
        if not p.is_lead_only and rng.random() < 0.3:
            p.converted_ms = created + int(rng.random() * 60 * DAY)
        p.lifecycle = "lead" if p.is_lead_only else LIFECYCLE[journey]
        p.lead_status = rng.choice(TARGET_STATUS if journey == "target" else PROSPECT_STATUS)
        if early and rng.random() < 0.08:
            p.lead_status = "UNQUALIFIED"
        elif not early:
            p.lead_status = None if rng.random() < 0.5 else "OPEN_DEAL"
        p.opted_out = rng.random() < 0.03
        p.nps = p.nps_ms = None
        if journey in ("client", "advocate") and rng.random() < 0.6:
            p.nps_ms = self._past(YEAR)
            p.nps = rng.randint(0, 8) if rng.random() < 0.9 else None
        p.referred_by, p.referred_by_email, p.is_reference, p.merged_ids = None, False, False, None
        p.modified = p.touched = created + int(rng.random() * (self.anchor - created) * 0.5)
        return p

    def _activities(self, p: Person) -> None:
        rng = self.rng
        count = max(0, int(rng.expovariate(1 / ACTIVITY_MEAN[p.journey]) + 0.5))
        two_way = p.journey != "target"
        if two_way:
            count = max(1, count)
        start = max(p.created, self.anchor - 2 * YEAR)
        latest = p.touched
        for k in range(count):
            spec = rng.choice(TWO_WAY) if two_way and k == 0 else rng.choice(ONE_WAY)
            if two_way and k > 0 and rng.random() < 0.3:
                spec = rng.choice(TWO_WAY)
            ts = start + int(rng.random() * (self.anchor - start))
            if spec[2] in ("SCHEDULED", "NOT_STARTED") and rng.random() < 0.3:
                ts = self.anchor + int(rng.random() * 30 * DAY)  # upcoming
            latest = max(latest, min(ts, self.anchor))
            self._activity(p, spec, ts)
        p.touched = max(p.touched, latest)

    def _log_on_deals(self, p: Person, deals: list[Deal]) -> None:
        """A third of a person's activities after a deal opened are logged on it too
        (drawn from a stream of their own, so the rest of the world does not move)."""
        for aid in list(self.w.activities_of(p.id)) if deals else ():
            act = self.w.get(kind_of(aid), aid)
            opened = [d for d in deals if d.created <= act.timestamp]
            if opened and self.link_rng.random() < 0.35:
                self.w._unlink(act)
                act.deal_id = opened[-1].id
                self.w._link(act)

    def _activity(self, p: Person, spec: tuple, ts: int, archived: bool = False) -> Activity:
        kind, direction, status, dispo, subject = spec
        a = Activity()
        a.kind = kind
        _base(a, self.w, kind, min(ts, self.anchor - 1000))
        a.timestamp, a.direction, a.status, a.disposition, a.subject = (
            ts, direction, status, dispo, subject
        )  # fmt: skip
        a.duration_ms = DURATION.get(kind)
        a.owner_id, a.deal_id, a.contact_ids = p.owner_id, None, (p.id,)
        a.archived = archived or self.rng.random() < 0.01
        return self.w.insert(a)

    # ---- deals ---------------------------------------------------------------------------

    def _deals(self, p: Person) -> list[Deal]:
        rng, j = self.rng, p.journey
        plans: list[str] = []
        if j == "target" and rng.random() < 0.02:
            plans.append("closedlost")
        elif j == "prospect" and rng.random() < 0.12:
            plans.append(rng.choice((*OPEN_EARLY, "closedlost")))
        elif j == "opportunity":
            plans.append(rng.choice(OPEN_LATE))
        elif j in ("client", "advocate"):
            plans.append("closedwon")
            if rng.random() < 0.1:
                plans.append("closedlost")
            if rng.random() < 0.2:
                plans.append(rng.choice(RENEWAL_STAGES))
        return [self._deal(p, stage) for stage in plans]

    def _deal(self, p: Person, stage: str) -> Deal:
        rng = self.rng
        d = Deal()
        created = p.created + int(rng.random() * (self.anchor - p.created) * 0.7)
        _base(d, self.w, "deal", created)
        found = self.w.stage(stage)
        assert found is not None
        d.pipeline, d.stage = found[0].id, stage
        d.company_id, d.owner_id, d.referred_by = p.company_id, p.owner_id, None
        d.name = f"{rng.choice(PRODUCTS)} for {p.last_name or 'unknown'}"
        d.amount = None if rng.random() < 0.1 else rng.randrange(500, 120_000, 500)
        d.close_ms = created + int(rng.random() * (self.anchor - created))
        d.contact_ids = (p.id, *self._co_contacts(p))
        d.modified = d.touched = d.close_ms if found[1].is_closed else created
        self._stage_path(d, found[0], found[1].is_closed, p.journey == "target")
        if rng.random() < 0.01:
            d.archived = True
        self.w.insert(d)
        p.touched = max(p.touched, d.touched)
        return d

    def _stage_path(self, d: Deal, pipeline: Pipeline, is_closed: bool, is_direct: bool) -> None:
        """The stages the deal passed and when (see ``stage_paths``); an open deal was last
        modified when it entered its current stage, a deal created already won was created
        on the day it closed. ``is_direct``: a target's lost deal never got going (logged
        and lost, it proves nothing)."""
        closed = d.close_ms if is_closed else None
        if is_direct:
            d.entered = {d.stage: d.modified}
            return
        d.entered = walk_stages(self.path_rng, pipeline, d.stage, d.created, closed, self.anchor)
        if not is_closed:
            d.modified = d.touched = max(d.modified, *d.entered.values())
        elif len(d.entered) == 1:
            d.created = d.close_ms

    def _co_contacts(self, p: Person) -> list[int]:
        """Colleagues also on the deal (15 % of deals); only people created earlier."""
        if p.company_id is None or self.rng.random() >= 0.15:
            return []
        mates = [i for i in self.w.people_of_company(p.company_id)[:6] if i != p.id]
        return self.rng.sample(mates, min(len(mates), self.rng.randint(1, 2)))

    # ---- second passes -------------------------------------------------------------------

    def referrals(self) -> None:
        """Advocates endorse: referrals (some chained, some by email), NPS 9-10, or a flag."""
        rng, people = self.rng, self.w.records["person"]
        advocates = self.by_journey["advocate"]
        later_pool = self.w.ids("person")
        for n, aid in enumerate(advocates):
            adv = people[aid]
            # referral 45 %, promoter NPS 40 %, only the reference flag 15 % (a flag counts
            # only where configured, so default settings still see most advocates)
            how = n % 3 if n < 3 else rng.choices((0, 1, 2), (45, 40, 15))[0]
            if how == 0:
                for _ in range(rng.randint(1, 3)):
                    self._refer(adv, people[rng.choice(later_pool)])
            elif how == 1:
                adv.nps, adv.nps_ms = rng.choice((9, 10)), self._past(YEAR)
            else:
                adv.is_reference = True
        if advocates:  # one referral of each form, whatever the dice said
            first, second = (people[i] for i in later_pool[-2:])
            first.referred_by = second.referred_by = None
            self._refer(people[advocates[0]], first)
            self._refer(people[advocates[0]], second)
            first.referred_by_email, second.referred_by_email = False, True
        chain = advocates[:3]  # an advocate referred by an advocate referred by an advocate
        for a, b in itertools.pairwise(chain):
            self._refer(people[a], people[b])
        for deal in list(self.w.iter("deal"))[: max(2, len(advocates))]:
            if rng.random() < 0.3 or deal.id == self.w.ids("deal")[0]:
                deal.referred_by = rng.choice(advocates) if advocates else None

    def advocacy_after_win(self) -> None:
        """Advocacy comes after buying: each advocate's promoter answer moves weeks after
        their first win, and nine referrals in ten made before it go to someone who
        arrived after it (drawn from the stage-path stream; the few forced referral forms
        and the advocate chain stay as they are, and some referrals still precede the win,
        as real ones do)."""
        people, rng = self.w.records["person"], self.path_rng
        advocates = self.by_journey["advocate"]
        kept = {*advocates[:3], *self.w.ids("person")[-2:]}
        referred: dict[int, list[Person]] = {}
        for p in people.values():
            if p.referred_by is not None:
                referred.setdefault(p.referred_by, []).append(p)
        by_created = sorted(people.values(), key=lambda p: p.created)
        for aid in advocates:
            adv = people[aid]
            won = self._first_win(aid)
            if won is None:
                continue
            if adv.nps is not None and adv.nps >= 9:
                later = won + int((rng.expovariate(1 / 45) + 1) * DAY)
                adv.nps_ms = min(later, self.anchor - DAY)
            if aid in kept:
                continue
            for old in referred.get(aid, []):
                if old.created < won and old.id not in kept and rng.random() < 0.9:
                    self._refer_later(adv, old, won, by_created)
        self._deals_referred_after_win(advocates)

    def flags_after_win(self) -> None:
        """Reference flags set weeks after the win, kept in each person's history
        (``flag_dates``, from a random stream of its own)."""
        flagged = [p for p in self.w.records["person"].values() if p.is_reference]
        rng = random.Random(f"milestones-sandbox-flags:{self.w.seed}")
        date_flags(self.w, rng, flagged, self._first_win, self.anchor)

    def _deals_referred_after_win(self, advocates: list[int]) -> None:
        """Nine referred deals in ten opened before their referrer's win are credited to an
        advocate who had bought by then, where there is one."""
        wins = {a: w for a in advocates if (w := self._first_win(a)) is not None}
        for deal in self.w.iter("deal"):
            win = wins.get(deal.referred_by) if deal.referred_by is not None else None
            if win is None or deal.created >= win or self.path_rng.random() >= 0.9:
                continue
            bought = [a for a, w in wins.items() if w < deal.created and a not in deal.contact_ids]
            if bought:
                deal.referred_by = self.path_rng.choice(bought)

    def _first_win(self, person_id: int) -> int | None:
        deals = (self.w.records["deal"].get(i) for i in self.w.deals_of(person_id))
        return min((d.close_ms for d in deals if d and d.stage == "closedwon"), default=None)

    def _refer_later(self, adv: Person, old: Person, won: int, by_created: list[Person]) -> None:
        """Move ``old``'s referral by ``adv`` to a person created after ``won``."""
        later = [
            p
            for p in by_created
            if p.created > won and p.referred_by is None and p.id != adv.id and not p.archived
        ]
        if not later:
            return
        new = self.path_rng.choice(later[:200])
        new.referred_by, new.referred_by_email = adv.id, old.referred_by_email
        new.lead_source = "REFERRALS"
        old.referred_by, old.referred_by_email = None, False

    def _refer(self, referrer: Person, person: Person) -> None:
        if person.id == referrer.id or person.referred_by is not None:
            return
        person.referred_by = referrer.id
        person.referred_by_email = referrer.email is not None and self.rng.random() < 0.4
        person.lead_source = "REFERRALS"

    def bulk_edit(self, share: float) -> None:
        """A mass edit: ``share`` of the people touched at one identical millisecond."""
        ts = self.anchor - 3 * DAY
        people = self.w.records["person"]
        for pid in self.rng.sample(self.w.ids("person"), int(len(people) * share)):
            p = people[pid]
            if p.touched <= ts:
                p.modified = p.touched = ts

    def oddities(self) -> None:
        """Force one of each odd record so that even a 50-person world has them all."""
        rng, people = self.rng, self.w.records["person"]
        for p in people.values():  # random sprinkling at realistic rates
            if rng.random() < 0.03:
                p.email = None
            elif rng.random() < 0.01:
                self.archived_extra += 1  # archived people come on top of the live ones
        targets = [people[i] for i in self.by_journey["target"]]
        picks = rng.sample(targets, min(len(targets), 10))
        if len(picks) < 10:
            return
        no_email, uni, long_, nulls, dup, optout, disq, lead, merged, _kept_live = picks
        no_email.email = None
        uni.first_name, uni.last_name = "Zoë", "Nguyễn 李"
        long_.last_name = "Wolfeschlegelsteinhausenbergerdorff-" * 8
        nulls.first_name = nulls.last_name = nulls.phone = nulls.job_title = None
        nulls.company_id = nulls.lead_source = None
        first = next(p for p in people.values() if p.email and p is not dup)
        dup.email = first.email.upper()
        optout.opted_out = True  # and replied asking to be removed: not a conversation
        reply = ("email", "INCOMING_EMAIL", "SENT", None, "Re: please remove me from your list")
        self._activity(optout, reply, self.anchor - 20 * DAY)
        optout.touched = max(optout.touched, self.anchor - 20 * DAY)
        disq.lead_status = "UNQUALIFIED"
        lead.is_lead_only, lead.lifecycle, lead.converted_ms = True, "lead", None
        merged.merged_ids = (self.w.new_id("person"),)  # the merged-away record is gone
        self.archived_extra += 1  # the tenth pick stays live: the archived one is an extra
        for j in ("client", "advocate"):
            if self.by_journey[j]:
                surveyed = people[self.by_journey[j][0]]
                surveyed.nps, surveyed.nps_ms = None, self._past(YEAR)
        self._reindex_archived()
        self._shared_deal()

    def _shared_deal(self) -> None:
        """At least one deal with two contacts (the second a colleague when there is one)."""
        deals = list(self.w.iter("deal"))
        if any(len(d.contact_ids) > 1 for d in deals) or not deals:
            return
        deal = deals[0]
        primary = self.w.records["person"][deal.contact_ids[0]]
        mates = self.w.people_of_company(primary.company_id) if primary.company_id else []
        other = next((i for i in mates if i != primary.id), None)
        other = other or next(i for i in self.w.ids("person") if i != primary.id)
        self.w._unlink(deal)
        deal.contact_ids = (primary.id, other)
        self.w._link(deal)

    def archived_people(self, live: int) -> None:
        """Archived people beyond the ``live`` ones asked for, so that ``contacts=N`` serves N.

        They are drawn from a stream of their own after everything else, so the live world
        is the same with or without them.
        """
        main, self.rng = self.rng, random.Random(f"milestones-sandbox-archived:{self.w.seed}")
        try:
            for k in range(self.archived_extra):
                p = self._person(live + k, "target", self._past(2.5 * YEAR))
                p.archived = True
                self.w.insert(p)
                self.by_journey[p.journey].append(p.id)
        finally:
            self.rng = main

    def _reindex_archived(self) -> None:
        """People archived after insertion: tell the store (its archived id lists)."""
        for p in self.w.records["person"].values():
            if p.archived and p.id not in self.w._archived["person"]:
                self.w._archived["person"].append(p.id)
        self.w._archived["person"].sort()
