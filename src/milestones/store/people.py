"""Reading the mirror back: the bundles derive() needs, a chunk of people at a time.

A chunk costs a fixed handful of queries whatever its size (people, their converted leads,
deal links, deals, activity links, activities, referring contacts and deals), so deriving
an org streams through it with flat memory.

Converted leads are never derived themselves: a dirty lead stands for the contact it became,
and its activities and deals count for that contact.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from milestones.mapping.derive import Derived
from milestones.mapping.fields import FieldKey
from milestones.mapping.records import Activity, Bundle, Deal, Referral, Stage
from milestones.store import codec
from milestones.store.dialect import IDS, Connection
from milestones.store.keyset import id_chunks
from milestones.store.rows import PeopleChunk, Person, StoredDeal, StoredPerson

_ACTIVITY_COLUMNS = ", ".join(f"a.{name}" for name in codec.ACTIVITY_COLUMNS.split(", "))


class People:
    """Dirty people and deals read back as bundles, and their derived results stored."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def dirty_people(self, size: int) -> Iterator[list[str]]:
        """Dirty person ids in key order, ``size`` at a time; safe while the caller settles them."""
        return self._dirty_chunks("dirty", "contact_id", size)

    def dirty_deals(self, size: int) -> Iterator[list[str]]:
        """Dirty deal ids in key order, ``size`` at a time; safe while the caller settles them."""
        return self._dirty_chunks("dirty_deals", "deal_id", size)

    def _dirty_chunks(self, table: str, column: str, size: int) -> Iterator[list[str]]:
        return id_chunks(
            self.db,
            f"SELECT {column} FROM {table} WHERE {column} > ? ORDER BY {column} LIMIT ?",
            size,
        )

    def _contact_rows(self, ids: Iterable[str]) -> list[tuple[str, ...]]:
        return self.db.execute(
            "SELECT id, data, is_deleted, derived, crm, converted_to, email_key FROM contacts "
            f"WHERE id IN {IDS}",
            (codec.dumps(list(ids)),),
        ).fetchall()

    def redirect_converted_leads(self) -> None:
        """In the dirty set, replace converted leads by the contacts they became."""
        self.db.execute(
            "INSERT OR IGNORE INTO dirty SELECT c.converted_to FROM dirty d "
            "JOIN contacts c ON c.id = d.contact_id WHERE c.converted_to IS NOT NULL"
        )
        self.db.execute(
            "DELETE FROM dirty WHERE contact_id IN "
            "(SELECT id FROM contacts WHERE converted_to IS NOT NULL)"
        )

    def load(self, ids: Sequence[str]) -> PeopleChunk:
        """The bundles of the given dirty people; deleted and converted ones are ``skipped``.

        Call ``redirect_converted_leads`` first, so a converted lead's contact is in the set.
        """
        chunk = PeopleChunk()
        people = {}
        decode_contact = codec.decode_contact
        for rid, data, is_deleted, derived, crm, converted_to, email_key in self._contact_rows(ids):
            if is_deleted or converted_to:
                chunk.skipped.append(rid)
                continue
            people[rid] = (decode_contact(rid, data), derived, crm, email_key)
        if not people:
            return chunk
        person_ids = list(people)
        sources = self._sources(person_ids)
        deals = self._deals_of(sources)
        activities = self._activities_of(sources)
        referrals = self._referrals_of({pid: p[3] for pid, p in people.items()})
        no_deals: dict[str, Deal] = {}
        no_activities: dict[str, Activity] = {}
        append = chunk.people.append
        for pid, (contact, derived, crm, _email) in people.items():
            bundle = Bundle(
                contact=contact,
                deals=tuple(deals.get(pid, no_deals).values()),
                activities=tuple(activities.get(pid, no_activities).values()),
                referrals=tuple(referrals.get(pid, ())),
            )
            prior = None if derived is None else codec.decode_derived(pid, derived)
            append(Person(bundle, prior, codec.decode_values(crm)))
        return chunk

    def _sources(self, person_ids: list[str]) -> dict[str, str]:
        """Record id whose links count -> the person they count for (the person and its leads)."""
        sources = {pid: pid for pid in person_ids}
        for lead_id, contact_id in self.db.execute(
            f"SELECT id, converted_to FROM contacts WHERE converted_to IN {IDS}",
            (codec.dumps(person_ids),),
        ):
            sources[lead_id] = contact_id
        return sources

    # A record linked to several of the chunk's people (or to a person and their converted
    # lead) is decoded once. The links come in (person, record) order, so each person's
    # records keep the order they always had.

    def _deals_of(self, sources: dict[str, str]) -> dict[str, dict[str, Deal]]:
        """Each person's live deals by id, through their own links and their leads'."""
        rows = self.db.execute(
            "SELECT d.id, d.data, dc.contact_id FROM deal_contacts dc "
            f"JOIN deals d ON d.id = dc.deal_id WHERE dc.contact_id IN {IDS} "
            "AND d.is_deleted = 0 ORDER BY dc.contact_id, dc.deal_id",
            (codec.dumps(list(sources)),),
        )
        decoded: dict[str, Deal] = {}
        result: dict[str, dict[str, Deal]] = defaultdict(dict)
        for deal_id, data, source in rows:
            deal = decoded.get(deal_id)
            if deal is None:
                deal = decoded[deal_id] = codec.decode_deal(deal_id, data)
            result[sources[source]][deal_id] = deal
        return result

    def _activities_of(self, sources: dict[str, str]) -> dict[str, dict[str, Activity]]:
        """Each person's live emails, calls and meetings by id, as ``_deals_of`` reads deals."""
        # Notes and tasks never show two-way contact (derive.is_two_way): not worth decoding.
        # The link's contact comes last: the row's first columns are ``activity_from_row``'s.
        rows = self.db.execute(
            f"SELECT {_ACTIVITY_COLUMNS}, ac.contact_id FROM activity_contacts ac "
            f"JOIN activities a ON a.id = ac.activity_id WHERE ac.contact_id IN {IDS} "
            "AND a.is_deleted = 0 AND a.kind IN ('email', 'call', 'meeting') "
            "ORDER BY ac.contact_id, ac.activity_id",
            (codec.dumps(list(sources)),),
        )
        decode = codec.activity_from_row
        decoded: dict[str, Activity] = {}
        result: dict[str, dict[str, Activity]] = defaultdict(dict)
        for row in rows:
            activity_id = row[0]
            activity = decoded.get(activity_id)
            if activity is None:
                activity = decoded[activity_id] = decode(row)
            result[sources[row[10]]][activity_id] = activity
        return result

    def _referrals_of(self, emails: dict[str, str | None]) -> dict[str, list[Referral]]:
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
            for rid, key, data in self.db.execute(
                f"SELECT id, ref_key, data FROM {table} WHERE ref_key IN {IDS} AND is_deleted = 0",
                (keys,),
            ):
                pid = owner_of[key]
                if kind == "contact" and rid == pid:
                    continue  # naming oneself is no referral
                created = json.loads(data)[created_index]
                at = datetime.fromisoformat(created) if created else None
                result[pid].append(Referral(kind, rid, at))  # type: ignore[arg-type]
        return result

    def stages(self) -> dict[str, Stage]:
        """The stage catalogue as last pulled."""
        return {
            rid: codec.decode_stage(rid, data)
            for rid, data in self.db.execute("SELECT id, data FROM stages")
        }

    def deals(self, ids: Sequence[str]) -> list[StoredDeal]:
        """Live deals with their prior deal milestone and the CRM's value of ``deal_milestone``."""
        return [
            StoredDeal(codec.decode_deal(rid, data), derived, codec.decode_values(crm))
            for rid, data, derived, crm in self.db.execute(
                f"SELECT id, data, derived, crm FROM deals WHERE id IN {IDS} AND is_deleted = 0",
                (codec.dumps(list(ids)),),
            )
        ]

    def mark_all_dirty(self) -> int:
        """Mark every live person dirty (a rebuild re-derives them all); returns how many."""
        cursor = self.db.execute(
            "INSERT INTO dirty (contact_id) SELECT id FROM contacts "
            "WHERE is_deleted = 0 AND converted_to IS NULL "
            "ON CONFLICT (contact_id) DO NOTHING"
        )
        return cursor.rowcount

    def iter_crm_values(self, key: FieldKey) -> Iterator[tuple[str, str | None]]:
        """Each live, derived person's id and the CRM's value of one of our fields."""
        rows = self.db.execute(
            "SELECT id, crm FROM contacts WHERE is_deleted = 0 AND converted_to IS NULL "
            "AND derived IS NOT NULL ORDER BY id"
        )
        for rid, crm in rows:
            yield rid, codec.decode_values(crm).get(key) if crm else None

    def mark_dirty(self, ids: Sequence[str]) -> None:
        """Derive and plan these people again on the next derive pass."""
        self.db.executemany(
            "INSERT INTO dirty (contact_id) VALUES (?) ON CONFLICT (contact_id) DO NOTHING",
            [(rid,) for rid in ids],
        )

    def save_people(self, results: Sequence[Derived], settled_ids: Sequence[str]) -> None:
        """Store each person's result (the next run's ``prior``); the chunk is no longer dirty.

        An unchanged result (most of a rerun's) leaves its row as it is: not rewritten.
        """
        rows = []
        for result in results:
            text = codec.encode_derived(result)
            rows.append((text, result.contact_id, text))
        self.db.executemany(
            "UPDATE contacts SET derived = ? WHERE id = ? AND derived IS NOT ?", rows
        )
        self.db.execute(
            f"DELETE FROM dirty WHERE contact_id IN {IDS}", (codec.dumps(list(settled_ids)),)
        )

    def save_deals(self, levels: Mapping[str, int | None], settled_ids: Sequence[str]) -> None:
        """Store each deal's milestone level (an unchanged one is not rewritten); the chunk of
        deals is no longer dirty."""
        self.db.executemany(
            "UPDATE deals SET derived = ? WHERE id = ? AND derived IS NOT ?",
            [(v, k, v) for k, v in levels.items()],
        )
        self.db.execute(
            f"DELETE FROM dirty_deals WHERE deal_id IN {IDS}", (codec.dumps(list(settled_ids)),)
        )

    # -- single records, for explain ------------------------------------------------------

    def converted_to(self, record_id: str) -> str | None:
        """The contact a converted lead became, or None."""
        row = self.db.execute(
            "SELECT converted_to FROM contacts WHERE id = ? AND converted_to IS NOT NULL",
            (record_id,),
        ).fetchone()
        return None if row is None else str(row[0])

    def stored_person(self, record_id: str) -> StoredPerson | None:
        """A person's last result and the CRM's values of our fields."""
        row = self.db.execute(
            "SELECT derived, crm FROM contacts WHERE id = ?", (record_id,)
        ).fetchone()
        if row is None:
            return None
        return StoredPerson(codec.decode_derived(record_id, row[0]), codec.decode_values(row[1]))

    def stored_deal(self, record_id: str) -> StoredDeal | None:
        """A deal as mirrored (deleted ones included), or None."""
        row = self.db.execute(
            "SELECT data, derived, crm, is_deleted FROM deals WHERE id = ?", (record_id,)
        ).fetchone()
        if row is None:
            return None
        deal = codec.decode_deal(record_id, row[0])
        return StoredDeal(deal, row[1], codec.decode_values(row[2]), bool(row[3]))

    def deal_people(self, deal_id: str) -> list[str]:
        """The ids of the people linked to a deal."""
        rows = self.db.execute("SELECT contact_id FROM deal_contacts WHERE deal_id = ?", (deal_id,))
        return [str(r[0]) for r in rows]

    def held(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` the mirror holds a row of (live, deleted or erased)."""
        rows = self.db.execute(
            f"SELECT id FROM contacts WHERE id IN {IDS}", (codec.dumps(list(ids)),)
        )
        return {str(r[0]) for r in rows}

    def names_of(self, ids: Sequence[str]) -> list[str]:
        """The first and last names (and plain emails) the mirror holds for ``ids``."""
        rows = self.db.execute(
            "SELECT json_extract(data, '$[1]'), json_extract(data, '$[2]'), "
            f"json_extract(data, '$[3]') FROM contacts WHERE id IN {IDS}",
            (codec.dumps(list(ids)),),
        )
        return sorted({str(v) for row in rows for v in row if v})

    def leads_of(self, ids: Sequence[str]) -> list[str]:
        """The converted leads that became the given contacts."""
        rows = self.db.execute(
            f"SELECT id FROM contacts WHERE converted_to IN {IDS} ORDER BY id",
            (codec.dumps(list(ids)),),
        )
        return [str(r[0]) for r in rows]
