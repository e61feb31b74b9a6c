"""Reading the mirror back: the bundles derive() needs, a chunk of people at a time.

A chunk costs a fixed handful of queries whatever its size (people, their converted leads,
deal links, deals, activity links, activities, referring contacts and deals), so deriving
an org streams through it with flat memory.

Converted leads are never derived themselves: a dirty lead stands for the contact it became,
and its activities and deals count for that contact.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from milestones.mapping.derive import Derived
from milestones.mapping.records import Activity, Bundle, Deal, Referral, Stage
from milestones.sync import codec

_IDS = "(SELECT value FROM json_each(?))"


@dataclass(slots=True)
class Person:
    """One person to derive: the bundle, the prior result, the CRM's values of our fields."""

    bundle: Bundle
    prior: Derived | None
    crm: dict[str, str | None]


@dataclass(slots=True)
class PeopleChunk:
    """The people of a chunk, and the dirty ids that need no derivation (gone or converted)."""

    people: list[Person] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def dirty_chunks(db: sqlite3.Connection, table: str, column: str, size: int) -> Iterator[list[str]]:
    """Dirty ids in key order, ``size`` at a time; safe while the caller deletes them."""
    after = ""
    while True:
        rows = db.execute(
            f"SELECT {column} FROM {table} WHERE {column} > ? ORDER BY {column} LIMIT ?",
            (after, size),
        ).fetchall()
        if not rows:
            return
        ids = [r[0] for r in rows]
        yield ids
        after = ids[-1]


def _contact_rows(db: sqlite3.Connection, ids: Iterable[str]) -> list[tuple[str, ...]]:
    return db.execute(
        "SELECT id, data, is_deleted, derived, crm, converted_to, email_lc FROM contacts "
        f"WHERE id IN {_IDS}",
        (codec.dumps(list(ids)),),
    ).fetchall()


def redirect_converted_leads(db: sqlite3.Connection) -> None:
    """In the dirty set, replace converted leads by the contacts they became."""
    db.execute(
        "INSERT OR IGNORE INTO dirty SELECT c.converted_to FROM dirty d "
        "JOIN contacts c ON c.id = d.contact_id WHERE c.converted_to IS NOT NULL"
    )
    db.execute(
        "DELETE FROM dirty WHERE contact_id IN "
        "(SELECT id FROM contacts WHERE converted_to IS NOT NULL)"
    )


def load_people(db: sqlite3.Connection, ids: Sequence[str]) -> PeopleChunk:
    """The bundles of the given dirty people; deleted and converted ones are ``skipped``.

    Call ``redirect_converted_leads`` first, so a converted lead's contact is in the set.
    """
    chunk = PeopleChunk()
    people = {}
    for rid, data, is_deleted, derived, crm, converted_to, email_lc in _contact_rows(db, ids):
        if is_deleted or converted_to:
            chunk.skipped.append(rid)
            continue
        people[rid] = (codec.decode_contact(rid, data), derived, crm, email_lc)
    if not people:
        return chunk
    person_ids = list(people)
    sources = _sources(db, person_ids)
    deals = _deals_of(db, sources)
    activities = _activities_of(db, sources)
    referrals = _referrals_of(db, {pid: p[3] for pid, p in people.items()})
    for pid, (contact, derived, crm, _email) in people.items():
        bundle = Bundle(
            contact=contact,
            deals=tuple(deals.get(pid, ())),
            activities=tuple(activities.get(pid, ())),
            referrals=tuple(referrals.get(pid, ())),
        )
        chunk.people.append(
            Person(bundle, codec.decode_derived(pid, derived), codec.decode_values(crm))
        )
    return chunk


def _sources(db: sqlite3.Connection, person_ids: list[str]) -> dict[str, str]:
    """Record id whose links count -> the person they count for (the person and its leads)."""
    sources = {pid: pid for pid in person_ids}
    for lead_id, contact_id in db.execute(
        f"SELECT id, converted_to FROM contacts WHERE converted_to IN {_IDS}",
        (codec.dumps(person_ids),),
    ):
        sources[lead_id] = contact_id
    return sources


def _deals_of(db: sqlite3.Connection, sources: dict[str, str]) -> dict[str, list[Deal]]:
    links = db.execute(
        f"SELECT contact_id, deal_id FROM deal_contacts WHERE contact_id IN {_IDS}",
        (codec.dumps(list(sources)),),
    ).fetchall()
    if not links:
        return {}
    deal_ids = sorted({d for _, d in links})
    found = {
        rid: codec.decode_deal(rid, data)
        for rid, data in db.execute(
            f"SELECT id, data FROM deals WHERE id IN {_IDS} AND is_deleted = 0",
            (codec.dumps(deal_ids),),
        )
    }
    result: dict[str, dict[str, Deal]] = defaultdict(dict)
    for source, deal_id in links:
        deal = found.get(deal_id)
        if deal is not None:
            result[sources[source]][deal_id] = deal
    return {pid: list(by_id.values()) for pid, by_id in result.items()}


def _activities_of(db: sqlite3.Connection, sources: dict[str, str]) -> dict[str, list[Activity]]:
    links = db.execute(
        f"SELECT contact_id, activity_id FROM activity_contacts WHERE contact_id IN {_IDS}",
        (codec.dumps(list(sources)),),
    ).fetchall()
    if not links:
        return {}
    # Notes and tasks never show two-way contact (derive.is_two_way): not worth decoding.
    found = {
        row[0]: codec.activity_from_row(row)
        for row in db.execute(
            f"SELECT {codec.ACTIVITY_COLUMNS} FROM activities WHERE id IN {_IDS} "
            "AND is_deleted = 0 AND kind IN ('email', 'call', 'meeting')",
            (codec.dumps(sorted({a for _, a in links})),),
        )
    }
    result: dict[str, dict[str, Activity]] = defaultdict(dict)
    for source, activity_id in links:
        activity = found.get(activity_id)
        if activity is not None:
            result[sources[source]][activity_id] = activity
    return {pid: list(by_id.values()) for pid, by_id in result.items()}


def _referrals_of(
    db: sqlite3.Connection, emails: dict[str, str | None]
) -> dict[str, list[Referral]]:
    """Referrals naming each person by record id or (case-insensitive) email."""
    owner_of: dict[str, str] = {pid: pid for pid in emails}
    for pid, email in emails.items():
        if email:
            owner_of.setdefault(email, pid)
    keys = codec.dumps(list(owner_of))
    result: dict[str, list[Referral]] = defaultdict(list)
    queries = (
        ("contact", "contacts", 6),  # index of created_at in each record's JSON array
        ("deal", "deals", 8),
    )
    for kind, table, created_index in queries:
        for rid, key, data in db.execute(
            f"SELECT id, ref_key, data FROM {table} WHERE ref_key IN {_IDS} AND is_deleted = 0",
            (keys,),
        ):
            pid = owner_of[key]
            if kind == "contact" and rid == pid:
                continue  # naming oneself is no referral
            created = json.loads(data)[created_index]
            at = datetime.fromisoformat(created) if created else None
            result[pid].append(Referral(kind, rid, at))  # type: ignore[arg-type]
    return result


def load_stages(db: sqlite3.Connection) -> dict[str, Stage]:
    """The stage catalogue as last pulled."""
    return {
        rid: codec.decode_stage(rid, data)
        for rid, data in db.execute("SELECT id, data FROM stages")
    }


def load_deals(
    db: sqlite3.Connection, ids: Sequence[str]
) -> list[tuple[Deal, int | None, dict[str, str | None]]]:
    """Live deals with their prior deal milestone and the CRM's value of ``deal_milestone``."""
    return [
        (codec.decode_deal(rid, data), derived, codec.decode_values(crm))
        for rid, data, derived, crm in db.execute(
            f"SELECT id, data, derived, crm FROM deals WHERE id IN {_IDS} AND is_deleted = 0",
            (codec.dumps(list(ids)),),
        )
    ]
