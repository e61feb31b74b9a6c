"""Read-only queries the report (and the demo's summary) run on the state, each one streamed.

Every query yields rows as SQLite produces them (cursor iteration, or keyset pages for
the people whose whole bundle is read), so the report never holds the org in memory. The
schema is ``schema.MIGRATIONS``; records are decoded with ``codec``, the layout owner. A
record's JSON array positions used in SQL are named below, next to the codec they follow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from milestones.mapping.derive import Derived
from milestones.mapping.records import Contact, Deal, Milestone, Stage
from milestones.store import codec, journeys
from milestones.store.dialect import Connection
from milestones.store.keyset import id_chunks
from milestones.store.people import People
from milestones.store.rows import Person

# Positions in codec.encode_contact / encode_deal / encode_derived arrays.
_CONTACT_CREATED = "$[6]"
_DEAL_CREATED = "$[8]"
_DERIVED_MILESTONE = "$[0]"
_DERIVED_DISQUALIFIED = "$[2]"
_DERIVED_ADVOCATE = "$[3]"
_LIVE_PERSON = "is_deleted = 0 AND converted_to IS NULL"


@dataclass(frozen=True, slots=True)
class DerivedPerson:
    """A live person and their last derived result (None before the first derive)."""

    contact: Contact
    derived: Derived | None


@dataclass(slots=True)
class TargetTouches:
    """A target and the touches logged on it (its own and its converted leads')."""

    contact: Contact
    is_disqualified: bool
    touches: int
    first_touch: datetime | None
    last_touch: datetime | None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(slots=True)
class Referral:
    """One referral: a contact or a deal naming the referrer, and the deals it brought."""

    kind: str
    record_id: str
    at: datetime | None
    deals: list[Deal] = field(default_factory=list)


@dataclass(slots=True)
class ReferrerRow:
    """A referrer (a live person), their derived result and the referrals naming them."""

    contact: Contact
    derived: Derived | None
    referrals: list[Referral]


_REFERRALS_SQL = f"""
    WITH refs(kind, rid, ref_key, at) AS (
        SELECT 'contact', id, ref_key, json_extract(data, '{_CONTACT_CREATED}')
        FROM contacts WHERE ref_key IS NOT NULL AND is_deleted = 0
        UNION ALL
        SELECT 'deal', id, ref_key, json_extract(data, '{_DEAL_CREATED}')
        FROM deals WHERE ref_key IS NOT NULL AND is_deleted = 0
    ),
    resolved(referrer, kind, rid, at) AS (
        SELECT coalesce(
            (SELECT p.id FROM contacts p WHERE p.id = refs.ref_key
             AND p.is_deleted = 0 AND p.converted_to IS NULL),
            (SELECT min(p.id) FROM contacts p WHERE p.email_key = refs.ref_key
             AND p.is_deleted = 0 AND p.converted_to IS NULL)
        ), kind, rid, at
        FROM refs
    )
    SELECT r.referrer, p.data, p.derived, r.kind, r.rid, r.at, d.id, d.data
    FROM resolved r
    JOIN contacts p ON p.id = r.referrer
    LEFT JOIN deal_contacts dc ON r.kind = 'contact' AND dc.contact_id = r.rid
    LEFT JOIN deals d ON d.is_deleted = 0
        AND d.id = CASE WHEN r.kind = 'deal' THEN r.rid ELSE dc.deal_id END
    WHERE NOT (r.kind = 'contact' AND r.rid = r.referrer)
    ORDER BY r.referrer, r.kind, r.rid
"""


class Reporting:
    """The report's reads over a whole state, each a stream of named rows."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def iter_people(self) -> Iterator[DerivedPerson]:
        """Every live person (converted leads count as their contact) with their derived result."""
        rows = self.db.execute(f"SELECT id, data, derived FROM contacts WHERE {_LIVE_PERSON}")
        for rid, data, derived in rows:
            yield DerivedPerson(codec.decode_contact(rid, data), codec.decode_derived(rid, derived))

    def iter_gone_people(self) -> Iterator[Derived]:
        """The last derived result of every person gone from the CRM (a tombstone keeps it,
        with no personal data): their past transitions still count in the funnel."""
        rows = self.db.execute(
            "SELECT id, derived FROM contacts WHERE is_deleted = 1 AND converted_to IS NULL "
            "AND derived IS NOT NULL"
        )
        for rid, derived in rows:
            result = codec.decode_derived(rid, derived)
            if result is not None:
                yield result

    def iter_people_at_least(self, level: Milestone, chunk: int = 500) -> Iterator[list[Person]]:
        """The bundles of the live people at ``level`` or above, ``chunk`` people at a time."""
        ids = id_chunks(
            self.db,
            f"SELECT id FROM contacts WHERE {_LIVE_PERSON} AND derived IS NOT NULL "
            f"AND CAST(json_extract(derived, '{_DERIVED_MILESTONE}') AS INTEGER) >= ? "
            "AND id > ? ORDER BY id LIMIT ?",
            chunk,
            (int(level),),
        )
        for chunk_ids in ids:
            yield People(self.db).load(chunk_ids).people

    def iter_targets(self) -> Iterator[TargetTouches]:
        """Every live person whose derived milestone is target, with the touches logged on them.

        A touch is an email, call or meeting (notes and tasks are the team's own records).
        """
        # One indexed lookup per target (its own links and its converted leads'), so the query
        # streams in id order instead of grouping every activity of the org first.
        sql = f"""
            SELECT c.id, c.data,
                CAST(json_extract(c.derived, '{_DERIVED_DISQUALIFIED}') AS INTEGER),
                (SELECT json_array(count(*), min(a.occurred_at), max(a.occurred_at))
                 FROM activity_contacts ac
                 JOIN activities a ON a.id = ac.activity_id AND a.is_deleted = 0
                     AND a.kind IN ('email', 'call', 'meeting')
                 WHERE ac.contact_id IN (
                    SELECT c.id UNION ALL
                    SELECT l.id FROM contacts l WHERE l.converted_to = c.id AND l.is_deleted = 0))
            FROM contacts c
            WHERE c.is_deleted = 0 AND c.converted_to IS NULL AND c.derived IS NOT NULL
              AND CAST(json_extract(c.derived, '{_DERIVED_MILESTONE}') AS INTEGER) = 0
        """
        for rid, data, disqualified, touches in self.db.execute(sql):
            count, first_at, last_at = json.loads(touches)
            yield TargetTouches(
                codec.decode_contact(rid, data),
                bool(disqualified),
                int(count),
                _moment(first_at),
                _moment(last_at),
            )

    def iter_referrers(self) -> Iterator[ReferrerRow]:
        """Each referrer with their referrals, resolved the way derive's bundles resolve them.

        A reference names a person by record id, else by (lower-cased) email; a contact naming
        itself is no referral. A referred contact's deals are the deals linked to it.
        """
        current: ReferrerRow | None = None
        for referrer, data, derived, kind, rid, at, deal_id, deal_data in self.db.execute(
            _REFERRALS_SQL
        ):
            if current is None or current.contact.id != referrer:
                if current is not None:
                    yield current
                contact = codec.decode_contact(referrer, data)
                current = ReferrerRow(contact, codec.decode_derived(referrer, derived), [])
            last = current.referrals[-1] if current.referrals else None
            if last is None or (last.kind, last.record_id) != (kind, rid):
                last = Referral(kind, rid, datetime.fromisoformat(at) if at else None)
                current.referrals.append(last)
            if deal_id is not None:
                last.deals.append(codec.decode_deal(deal_id, deal_data))
        if current is not None:
            yield current

    def iter_journeys(self) -> Iterator[journeys.Journey]:
        """Every live person's milestones by date, from the ledger (for the likelihood)."""
        return journeys.iter_journeys(self.db)

    def iter_open_deals(self) -> Iterator[journeys.OpenDeal]:
        """Every open deal with its amount, its stage's probability and its people."""
        return journeys.iter_open_deals(self.db)

    def iter_deals_with_people(self) -> Iterator[Deal]:
        """Every live deal with its people and stage-entry dates (the stage backtest)."""
        return journeys.iter_deals_with_people(self.db)

    def stage_catalogue(self) -> dict[str, Stage]:
        """The CRM's stages as last pulled, by id."""
        return journeys.stage_catalogue(self.db)

    def count_not_derived(self) -> int:
        """Live people the engine has not derived yet (they wait for the next sync)."""
        row = self.db.execute(
            f"SELECT count(*) FROM contacts WHERE {_LIVE_PERSON} AND derived IS NULL"
        ).fetchone()
        return int(row[0])

    def funnel(self) -> Funnel:
        """People per milestone reached, plus the disqualified and the current advocates."""
        rows = self.db.execute(
            f"SELECT CAST(json_extract(derived, '{_DERIVED_MILESTONE}') AS INTEGER), count(*), "
            f"sum(CAST(json_extract(derived, '{_DERIVED_DISQUALIFIED}') AS INTEGER)), "
            f"sum(CAST(json_extract(derived, '{_DERIVED_ADVOCATE}') AS INTEGER)) FROM contacts "
            f"WHERE derived IS NOT NULL AND {_LIVE_PERSON} GROUP BY 1"
        ).fetchall()
        funnel = Funnel()
        for level, n, disqualified, advocates in rows:
            funnel.at[Milestone(level)] = n
            funnel.disqualified += disqualified or 0
            funnel.advocates += advocates or 0
        return funnel

    def example_at(self, level: Milestone) -> str | None:
        """One live person at ``level`` (current advocates first), for ``explain``."""
        row = self.db.execute(
            f"SELECT id FROM contacts WHERE CAST(json_extract(derived, '{_DERIVED_MILESTONE}') "
            f"AS INTEGER) = ? AND is_deleted = 0 "
            f"ORDER BY CAST(json_extract(derived, '{_DERIVED_ADVOCATE}') AS INTEGER) DESC, id "
            "LIMIT 1",
            (int(level),),
        ).fetchone()
        return None if row is None else str(row[0])


@dataclass(slots=True)
class Funnel:
    """How many people stand at each milestone."""

    at: dict[Milestone, int] = field(default_factory=dict)
    disqualified: int = 0
    advocates: int = 0
