"""The demo world: deterministic, odd where real portals are odd, realistic in its figures,
and mutable the way a CRM is (every change bumps modified times and keeps indexes)."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import (
    ACTIVITY_KINDS,
    CONNECTED_DISPOSITION,
    KINDS,
    World,
    kind_of,
)


def _digest(world: World) -> str:
    h = hashlib.sha256()
    for kind in KINDS:
        for rid in world.ids(kind):
            h.update(repr(sorted(world.describe(kind, rid).items())).encode())
    return h.hexdigest()


def test_same_seed_same_world_and_another_seed_another_world() -> None:
    assert _digest(generate_world(seed=5, contacts=300)) == _digest(generate_world(5, 300))
    assert _digest(generate_world(seed=5, contacts=300)) != _digest(generate_world(6, 300))


@pytest.fixture(scope="module")
def small() -> World:
    return generate_world(seed=1, contacts=50)


def _people(world: World) -> list:
    return list(world.records["person"].values())


def test_every_odd_record_is_present_even_in_a_50_person_world(small: World) -> None:
    people = _people(small)
    long_name = max(len(p.last_name or "") for p in people)
    emails = [p.email.lower() for p in people if p.email]
    odd = {
        "no email": any(p.email is None for p in people),
        "unicode name": any(not (p.first_name or "x").isascii() for p in people),
        "very long name": long_name > 200,
        "null first name": any(p.first_name is None for p in people),
        "duplicate email": len(emails) != len(set(emails)),
        "opted out": any(p.opted_out for p in people),
        "disqualified": any(p.lead_status == "UNQUALIFIED" for p in people),
        "lead only": any(p.is_lead_only for p in people),
        "converted lead": any(p.converted_ms for p in people),
        "merged": any(p.merged_ids for p in people),
        "archived person": small.count("person", archived=True) > 0,
        "nps survey without score": any(p.nps_ms and p.nps is None for p in people),
        "referral by id": any(p.referred_by and not p.referred_by_email for p in people),
        "referral by email": any(p.referred_by and p.referred_by_email for p in people),
        "referred deal": any(d.referred_by for d in small.iter("deal")),
        "several contacts on a deal": any(len(d.contact_ids) > 1 for d in small.iter("deal")),
    }
    assert [name for name, present in odd.items() if not present] == []


def test_opted_out_person_replied_remove_me(small: World) -> None:
    replies = [
        small.get("email", a)
        for p in _people(small)
        if p.opted_out
        for a in small.activities_of(p.id, "email")
    ]
    assert any(r.direction == "INCOMING_EMAIL" and "remove" in r.subject for r in replies)


def test_referral_chain_exists(small: World) -> None:
    people = small.records["person"]
    chained = [
        p
        for p in people.values()
        if p.referred_by in people and people[p.referred_by].referred_by is not None
    ]
    assert chained


@pytest.fixture(scope="module")
def medium() -> World:
    return generate_world(seed=2, contacts=3000)


def test_figures_spread_across_milestones(medium: World) -> None:
    journeys = Counter(p.journey for p in _people(medium))
    order = ["target", "prospect", "opportunity", "client", "advocate"]
    counts = [journeys[j] for j in order]
    assert counts == sorted(counts, reverse=True) and counts[-1] > 50
    n = len(_people(medium))
    deals = len(medium.ids("deal"))
    activities = sum(len(medium.ids(k)) for k in ACTIVITY_KINDS)
    assert 0.25 <= deals / n <= 0.45
    assert 4.0 <= activities / n <= 6.0
    assert len(medium.ids("owner")) == 8


def test_every_stage_and_activity_vocabulary_appears(medium: World) -> None:
    stages = {d.stage for d in medium.iter("deal")}
    all_stages = {s.id for p in medium.pipelines for s in p.stages}
    assert stages == all_stages
    calls = list(medium.iter("call"))
    assert {c.direction for c in calls} == {"INBOUND", "OUTBOUND"}
    assert {"COMPLETED", "NO_ANSWER", "BUSY", "FAILED"} <= {c.status for c in calls}
    assert CONNECTED_DISPOSITION in {c.disposition for c in calls}
    emails = {e.direction for e in medium.iter("email")}
    assert emails == {"INCOMING_EMAIL", "EMAIL", "FORWARDED_EMAIL"}
    outcomes = {m.status for m in medium.iter("meeting")}
    assert outcomes == {"SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"}


def test_targets_have_no_two_way_contact_and_prospects_do(medium: World) -> None:
    def two_way(pid: int) -> bool:
        for aid in medium.activities_of(pid):
            a = medium.get(kind_of(aid), aid)
            if (a.direction, a.status) in (("INCOMING_EMAIL", "SENT"), ("INBOUND", "COMPLETED")):
                return True
            if a.disposition == CONNECTED_DISPOSITION or (a.kind, a.status) == (
                "meeting",
                "COMPLETED",
            ):
                return True
        return False

    targets = [p for p in _people(medium) if p.journey == "target" and not p.opted_out]
    prospects = [p for p in _people(medium) if p.journey == "prospect"]
    assert not any(two_way(p.id) for p in targets)
    assert all(two_way(p.id) for p in prospects)


def test_bulk_edit_makes_many_records_share_one_timestamp(medium: World) -> None:
    top = Counter(p.touched for p in _people(medium)).most_common(1)[0][1]
    assert top >= 100


def test_activities_span_two_years_and_never_precede_the_anchor_by_more(medium: World) -> None:
    year = 365 * 86_400_000
    stamps = [a.timestamp for a in medium.iter("email")]
    assert min(stamps) >= medium.anchor_ms - 2 * year
    assert max(stamps) - min(stamps) > year


class _Clock:
    def __init__(self, start: int) -> None:
        self.now = start

    def __call__(self) -> int:
        self.now += 1000
        return self.now


@pytest.fixture
def world() -> World:
    w = generate_world(seed=4, contacts=200)
    w.clock = _Clock(w.anchor_ms)
    return w


def test_move_deal_bumps_deal_and_touches_its_contacts(world: World) -> None:
    deal = next(d for d in world.iter("deal") if d.stage != "closedwon")
    index = world.by_time("deal", "touched")
    world.move_deal(deal.id, "closedwon")
    assert deal.stage == "closedwon" and deal.close_ms == deal.modified == deal.touched
    assert index.pairs[-1] == (deal.touched, deal.id)
    assert all(world.get("person", p).touched == deal.touched for p in deal.contact_ids)


def test_add_inbound_email_is_indexed_and_touches_the_person(world: World) -> None:
    person = _people(world)[0]
    before = person.touched
    email = world.add_inbound_email(person.id)
    assert email.id in world.activities_of(person.id, "email")
    assert email.direction == "INCOMING_EMAIL" and person.touched > before
    assert world.by_time("person", "touched").pairs[-1] == (person.touched, person.id)


def test_update_keeps_custom_properties_and_reverse_links(world: World) -> None:
    person = _people(world)[0]
    world.update("person", person.id, {"sales_milestone": "prospect"})
    assert person.extra == {"sales_milestone": "prospect"}
    deal = next(world.iter("deal"))
    world.update("deal", deal.id, {"contact_ids": (person.id,)})
    assert deal.id in world.deals_of(person.id)


def test_record_referral_new_and_existing(world: World) -> None:
    referrer, other = _people(world)[:2]
    new = world.record_referral(referrer.id)
    assert new.referred_by == referrer.id and world.get("person", new.id) is new
    world.record_referral(referrer.id, other.id, by_email=True)
    assert other.referred_by == referrer.id and other.referred_by_email


def test_archive_delete_and_merge(world: World) -> None:
    a, b, c = _people(world)[3:6]
    world.archive("person", a.id)
    assert a.archived and a.id not in {pid for _, pid in world.by_time("person").pairs}
    assert a.id in [r.id for r in world.ids_after("person", 0, archived=True, limit=10_000)]
    world.delete("person", b.id)
    assert world.get("person", b.id) is None and world.deleted_log[-1][:2] == ("person", b.id)
    d = _people(world)[6]
    acts = list(world.activities_of(d.id))
    world.merge(c.id, d.id)
    assert world.get("person", d.id) is None and c.merged_ids[-1] == d.id
    assert set(acts) <= set(world.activities_of(c.id))


def test_clock_never_goes_backwards() -> None:
    w = World(anchor_ms=2**42)
    assert w.clock() >= 2**42 and w.clock() >= w.clock() - 0


def test_same_world_in_another_process_with_another_hash_seed() -> None:
    """Benchmarks and replays run in other processes: nothing may hang on set order."""
    import os
    import subprocess
    import sys

    code = (
        "import hashlib\n"
        "from milestones.sandbox.world.store import KINDS\n"
        "from milestones.sandbox.world.gen import generate_world\n"
        "w = generate_world(seed=5, contacts=300)\n"
        "h = hashlib.sha256()\n"
        "for k in KINDS:\n"
        "    for i in w.ids(k):\n"
        "        h.update(repr(sorted(w.describe(k, i).items())).encode())\n"
        "print(h.hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == _digest(generate_world(seed=5, contacts=300))


@pytest.mark.parametrize("people", [50, 777, 10_500])
def test_contacts_n_serves_n_live_people_and_archived_ones_on_top(people: int) -> None:
    world = generate_world(seed=7, contacts=people)
    assert world.count("person") == people  # `sandbox --contacts 10500` served 10,401
    assert world.count("person", archived=True) >= 1
    live = list(world.iter("person"))
    contacts = sum(1 for p in live if not p.is_lead_only)
    leads = sum(1 for p in live if p.is_lead_only)
    assert contacts + leads == people  # on Salesforce: N = Contacts + unconverted Leads
    if people >= 777:  # the shares `sandbox --help` states
        assert 0.82 < contacts / people < 0.90


def test_archived_extras_leave_the_live_world_unchanged() -> None:
    world = generate_world(seed=3, contacts=300)
    archived = {p.id for p in world.iter("person", archived=True)}
    assert archived and min(archived) > max(p.id for p in world.iter("person"))
