"""The mirror: pulled pages upserted into SQLite, and the dirty sets they feed.

``apply_page`` upserts one page and marks every contact it can affect (the contact itself, a
deal's or an activity's contacts before and after the change, the referrer named by a
referring record before and after) in set-based statements, one per concern, never one
SELECT per record. ``reconcile_full`` marks records a full pull did not see as deleted.
The caller wraps each call in the transaction that also advances the cursor.

Ids are passed to SQLite as one JSON array (``json_each``), so a page costs a fixed number
of statements whatever its size.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from milestones.connectors.base import PERSON_FIELDS, FieldKey, Link, Page
from milestones.mapping.records import Activity, Contact, Deal
from milestones.sync import codec

log = logging.getLogger("milestones.sync")
_IDS = "(SELECT value FROM json_each(?))"
_TABLES = {"contacts": "contacts", "deals": "deals", "activities": "activities"}


def utc_iso(moment: datetime | None) -> str | None:
    """A moment as UTC ISO text, so that stored moments compare as strings."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def ref_key(referred_by: str | None) -> str | None:
    """How a referrer reference is indexed: emails lower-cased, record ids as they are."""
    if referred_by is None or not referred_by.strip():
        return None
    text = referred_by.strip()
    return text.lower() if "@" in text else text


def mark_referrers(db: sqlite3.Connection, keys: Iterable[str | None]) -> None:
    """Mark dirty the contacts that the given referrer references name."""
    wanted = sorted({k for k in keys if k})
    if wanted:
        arg = codec.dumps(wanted)
        db.execute(
            f"INSERT OR IGNORE INTO dirty SELECT id FROM contacts WHERE id IN {_IDS} "
            f"OR email_lc IN {_IDS}",
            (arg, arg),
        )


def _old_ref_keys(db: sqlite3.Connection, table: str, ids_arg: str) -> list[str | None]:
    rows = db.execute(
        f"SELECT ref_key FROM {table} WHERE id IN {_IDS} AND ref_key IS NOT NULL", (ids_arg,)
    )
    return [r[0] for r in rows]


def apply_page(
    db: sqlite3.Connection, page: Page, pull_id: int, names: Mapping[FieldKey, str]
) -> None:
    """Upsert one page's records and deletions, marking what they affect dirty.

    Records are dispatched by type, not by the page's kind: a HubSpot contacts page in
    rollups mode also carries the activities it synthesized from contact properties.
    """
    records = [r for r in page.records if r.id and str(r.id).strip()]
    if len(records) < len(page.records):
        # A record without an id cannot be stored, planned or written back: say so.
        log.warning(
            "%s: %d record(s) without an id in a page from the CRM were skipped",
            page.kind,
            len(page.records) - len(records),
        )
    _apply_contacts(db, [r for r in records if isinstance(r, Contact)], pull_id, names)
    _apply_deals(db, [r for r in records if isinstance(r, Deal)], pull_id, names)
    _apply_activities(db, [r for r in records if isinstance(r, Activity)], pull_id)
    _apply_links(db, [r for r in records if isinstance(r, Link)], pull_id)
    if page.deleted_ids:
        mark_deleted(db, page.kind, page.deleted_ids)


def _crm_values(
    props: Mapping[str, str | None], names: Mapping[FieldKey, str], keys: Sequence[FieldKey]
) -> str:
    return codec.encode_values({k: props.get(names[k]) for k in keys if k in names})


def _apply_contacts(
    db: sqlite3.Connection, contacts: list[Contact], pull_id: int, names: Mapping[FieldKey, str]
) -> None:
    if not contacts:
        return
    ids_arg = codec.dumps([c.id for c in contacts])
    old_refs = _old_ref_keys(db, "contacts", ids_arg)
    rows = []
    for c in contacts:
        rows.append(
            (
                c.id,
                c.kind,
                c.email.strip().lower() if c.email else None,
                ref_key(c.referred_by),
                c.converted_to,
                c.company_id,
                int(c.is_deleted),
                pull_id,
                codec.encode_contact(c),
                _crm_values(c.properties, names, PERSON_FIELDS),
            )
        )
    db.executemany(
        "INSERT INTO contacts (id, kind, email_lc, ref_key, converted_to, company_id, "
        "is_deleted, seen, data, crm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, email_lc = excluded.email_lc, "
        "ref_key = excluded.ref_key, converted_to = excluded.converted_to, "
        "company_id = excluded.company_id, is_deleted = excluded.is_deleted, "
        "seen = excluded.seen, data = excluded.data, crm = excluded.crm",
        rows,
    )
    db.execute("INSERT OR IGNORE INTO dirty SELECT value FROM json_each(?)", (ids_arg,))
    converted = [c.converted_to for c in contacts if c.converted_to]
    if converted:
        db.execute(
            "INSERT OR IGNORE INTO dirty SELECT value FROM json_each(?)", (codec.dumps(converted),)
        )
    mark_referrers(db, [*old_refs, *(r[3] for r in rows)])


def _mark_deal_contacts(db: sqlite3.Connection, ids_arg: str) -> None:
    db.execute(
        f"INSERT OR IGNORE INTO dirty SELECT contact_id FROM deal_contacts WHERE deal_id IN {_IDS}",
        (ids_arg,),
    )


def _apply_deals(
    db: sqlite3.Connection, deals: list[Deal], pull_id: int, names: Mapping[FieldKey, str]
) -> None:
    if not deals:
        return
    ids_arg = codec.dumps([d.id for d in deals])
    old_refs = _old_ref_keys(db, "deals", ids_arg)
    _mark_deal_contacts(db, ids_arg)  # the people the deal touched before this change
    rows = [
        (
            d.id,
            ref_key(d.referred_by),
            int(d.is_deleted),
            pull_id,
            codec.encode_deal(d),
            _crm_values(d.properties, names, ("deal_milestone",)),
        )
        for d in deals
    ]
    db.executemany(
        "INSERT INTO deals (id, ref_key, is_deleted, seen, data, crm) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET ref_key = excluded.ref_key, "
        "is_deleted = excluded.is_deleted, seen = excluded.seen, data = excluded.data, "
        "crm = excluded.crm",
        rows,
    )
    # Deal.contact_ids (HubSpot associations) replaces the deal's own links; links pulled
    # as records of their own (Salesforce OpportunityContactRole) carry a link id and stay.
    db.execute(f"DELETE FROM deal_contacts WHERE link_id = '' AND deal_id IN {_IDS}", (ids_arg,))
    db.executemany(
        "INSERT OR IGNORE INTO deal_contacts (deal_id, contact_id, link_id, seen) "
        "VALUES (?, ?, '', ?)",
        [(d.id, cid, pull_id) for d in deals for cid in d.contact_ids],
    )
    _mark_deal_contacts(db, ids_arg)
    db.execute("INSERT OR IGNORE INTO dirty_deals SELECT value FROM json_each(?)", (ids_arg,))
    mark_referrers(db, [*old_refs, *(r[1] for r in rows)])


def _apply_activities(db: sqlite3.Connection, activities: list[Activity], pull_id: int) -> None:
    if not activities:
        return
    ids_arg = codec.dumps([a.id for a in activities])
    mark_activity_contacts(db, ids_arg)
    rows = [(*codec.activity_row(a), int(a.is_deleted), pull_id) for a in activities]
    db.executemany(
        f"INSERT OR REPLACE INTO activities ({codec.ACTIVITY_COLUMNS}, is_deleted, seen) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.execute(f"DELETE FROM activity_contacts WHERE activity_id IN {_IDS}", (ids_arg,))
    db.executemany(
        "INSERT OR IGNORE INTO activity_contacts VALUES (?, ?)",
        [(a.id, cid) for a in activities for cid in a.contact_ids],
    )
    mark_activity_contacts(db, ids_arg)


def mark_activity_contacts(db: sqlite3.Connection, ids_arg: str) -> None:
    """Mark dirty the contacts of the activities in ``ids_arg`` (a JSON array)."""
    db.execute(
        "INSERT OR IGNORE INTO dirty SELECT contact_id FROM activity_contacts "
        f"WHERE activity_id IN {_IDS}",
        (ids_arg,),
    )


def _apply_links(db: sqlite3.Connection, links: list[Link], pull_id: int) -> None:
    if not links:
        return
    ids_arg = codec.dumps([link.id for link in links])
    db.execute(
        f"INSERT OR IGNORE INTO dirty SELECT contact_id FROM deal_contacts WHERE link_id IN {_IDS}",
        (ids_arg,),
    )
    db.execute(f"DELETE FROM deal_contacts WHERE link_id IN {_IDS}", (ids_arg,))
    live = [link for link in links if not link.is_deleted]
    db.executemany(
        "INSERT OR REPLACE INTO deal_contacts (deal_id, contact_id, link_id, seen) "
        "VALUES (?, ?, ?, ?)",
        [(link.deal_id, link.contact_id, link.id, pull_id) for link in live],
    )
    db.execute(
        "INSERT OR IGNORE INTO dirty SELECT value FROM json_each(?)",
        (codec.dumps([link.contact_id for link in links if link.contact_id]),),
    )


def mark_deleted(db: sqlite3.Connection, kind: str, ids: Sequence[str]) -> None:
    """Mark records deleted (they stop counting as evidence) and their people dirty."""
    ids_arg = codec.dumps(list(ids))
    if kind == "deal_contacts":
        _apply_links(db, [Link(i, "", "", is_deleted=True) for i in ids], 0)
        return
    table = _TABLES[kind]
    if kind == "contacts":
        mark_referrers(db, _old_ref_keys(db, "contacts", ids_arg))
        db.execute("INSERT OR IGNORE INTO dirty SELECT value FROM json_each(?)", (ids_arg,))
    elif kind == "deals":
        mark_referrers(db, _old_ref_keys(db, "deals", ids_arg))
        _mark_deal_contacts(db, ids_arg)
    else:
        mark_activity_contacts(db, ids_arg)
    db.execute(f"UPDATE {table} SET is_deleted = 1 WHERE id IN {_IDS}", (ids_arg,))


def reconcile_full(db: sqlite3.Connection, kind: str, pull_id: int) -> int:
    """After a complete full pull: what it did not see is gone. Returns how many."""
    if kind == "deal_contacts":
        db.execute(
            "INSERT OR IGNORE INTO dirty SELECT contact_id FROM deal_contacts "
            "WHERE link_id != '' AND seen < ?",
            (pull_id,),
        )
        cur = db.execute("DELETE FROM deal_contacts WHERE link_id != '' AND seen < ?", (pull_id,))
        return cur.rowcount
    table = _TABLES[kind]
    gone = [
        r[0]
        for r in db.execute(f"SELECT id FROM {table} WHERE seen < ? AND is_deleted = 0", (pull_id,))
    ]
    if gone:
        mark_deleted(db, kind, gone)
    return len(gone)


def mark_meetings_ended(db: sqlite3.Connection, after: datetime | None, until: datetime) -> None:
    """Mark dirty the people of meetings that ended in (after, until]: they count now."""
    if after is None:
        return
    db.execute(
        "INSERT OR IGNORE INTO dirty SELECT ac.contact_id FROM activities a "
        "JOIN activity_contacts ac ON ac.activity_id = a.id "
        "WHERE a.kind = 'meeting' AND a.ends_at > ? AND a.ends_at <= ? AND a.is_deleted = 0",
        (utc_iso(after), utc_iso(until)),
    )


def mark_advocates_dirty(db: sqlite3.Connection) -> None:
    """Mark dirty everyone currently an advocate (their advocacy may have lapsed)."""
    db.execute(
        "INSERT OR IGNORE INTO dirty SELECT id FROM contacts "
        "WHERE is_deleted = 0 AND json_extract(derived, '$[3]') = 1"
    )


def mark_everything_dirty(db: sqlite3.Connection) -> None:
    """Every person and deal is derived again (the rules or the stage catalogue changed)."""
    db.execute("INSERT OR IGNORE INTO dirty SELECT id FROM contacts WHERE is_deleted = 0")
    db.execute("INSERT OR IGNORE INTO dirty_deals SELECT id FROM deals WHERE is_deleted = 0")
