"""The mirror: pulled pages upserted into SQLite, and the dirty sets they feed.

``apply_page`` upserts one page and marks every contact it can affect (the contact itself, a
deal's or an activity's contacts before and after the change, the referrer named by a
referring record before and after) in set-based statements, one per concern, never one
SELECT per record. A record that changed only because we wrote it (``echo``) is stored but
marks no one: the run after a write derives only what truly changed. ``reconcile_full``
marks records a full pull did not see as deleted. The caller wraps each call in the
transaction that also advances the cursor.

Ids are passed to SQLite as one JSON array (``json_each``), so a page costs a fixed number
of statements whatever its size.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from milestones.mapping.fields import DEAL_FIELDS, PERSON_FIELDS, FieldKey
from milestones.mapping.records import Activity, Contact, Deal, Link, Stage
from milestones.store import codec, echo, privacy
from milestones.store import merges as merge_steps
from milestones.store.dialect import IDS, Connection

log = logging.getLogger("milestones.sync")
Record = Contact | Deal | Activity | Link
_TABLES = {"contacts": "contacts", "deals": "deals", "activities": "activities"}
_LINK_INDEX = "activity_contacts_contact"  # schema migration 1
_SORT_CACHE_PAGES = 1000  # 4 MB of SQLite pages while that index is built
_DEFERRED = "link_index_deferred"  # in meta while that index waits for a pull's end


def utc_iso(moment: datetime | None) -> str | None:
    """A moment as UTC ISO text, so that stored moments compare as strings."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


class Mirror:
    """The mirror's writes: pulled pages, deletions, and the dirty marks they cause."""

    def __init__(self, db: Connection, keys: privacy.Privacy) -> None:
        self.db = db
        self.keys = keys

    def defer_link_index(self) -> bool:
        """Before a pull: whether the activity-to-contact index waits until it is stored.

        A first sync stores every activity link at once, in pull order; the index by contact
        would take them in random order, one page of the index rewritten per link and page.
        Built once after the pull (``restore_link_index``) it costs a sort. So an empty mirror
        drops it, and the state remembers that until it is built again: a first pull that
        died half-way goes on without it too.
        """
        if self.db.execute("SELECT 1 FROM meta WHERE key = ?", (_DEFERRED,)).fetchone():
            return True
        if self.db.execute("SELECT 1 FROM activity_contacts LIMIT 1").fetchone() is not None:
            return False
        self.db.execute(f"DROP INDEX IF EXISTS {_LINK_INDEX}")
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, '1')", (_DEFERRED,))
        return True

    def restore_link_index(self) -> None:
        """Build the activity-to-contact index that ``defer_link_index`` dropped.

        SQLite sorts for it in as much memory as its page cache may take: with a small cache
        for the while, the build does not raise the run's peak memory (PostgreSQL has no
        such setting here: the PRAGMAs read and set nothing there).
        """
        cache = self.db.execute("PRAGMA cache_size").fetchone()
        if cache is not None:
            self.db.execute(f"PRAGMA cache_size = {_SORT_CACHE_PAGES}")
        try:
            self.db.execute(
                f"CREATE INDEX IF NOT EXISTS {_LINK_INDEX} ON activity_contacts(contact_id)"
            )
        finally:
            if cache is not None:
                self.db.execute(f"PRAGMA cache_size = {int(cache[0])}")
        self.db.execute("DELETE FROM meta WHERE key = ?", (_DEFERRED,))

    def mark_referrers(self, keys: Iterable[str | None]) -> None:
        """Mark dirty the contacts that the given referrer references name."""
        wanted = sorted({k for k in keys if k})
        if wanted:
            arg = codec.dumps(wanted)
            self.db.execute(
                f"INSERT OR IGNORE INTO dirty SELECT id FROM contacts WHERE id IN {IDS} "
                f"OR email_key IN {IDS}",
                (arg, arg),
            )

    def _old_ref_keys(self, table: str, ids_arg: str) -> list[str | None]:
        rows = self.db.execute(
            f"SELECT ref_key FROM {table} WHERE id IN {IDS} AND ref_key IS NOT NULL", (ids_arg,)
        )
        return [r[0] for r in rows]

    def apply_page(
        self,
        kind: str,
        records: Sequence[Record],
        deleted_ids: Sequence[str],
        pull_id: int,
        names: Mapping[FieldKey, str],
        merges: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Upsert one pulled page's records and deletions, marking what they affect dirty.

        Records are dispatched by type, not by the page's kind: a HubSpot contacts page in
        rollups mode also carries the activities it synthesized from contact properties.
        ``merges`` (merged-away id, survivor id) are followed (``merges.follow``) after the
        page's records are stored and before the merged-away ids are erased.
        """
        contacts: list[Contact] = []
        deals: list[Deal] = []
        activities: list[Activity] = []
        links: list[Link] = []
        for r in records:  # one pass over the page (thousands of records), most common first
            if not r.id or not str(r.id).strip():
                continue
            if isinstance(r, Activity):
                activities.append(r)
            elif isinstance(r, Contact):
                contacts.append(r)
            elif isinstance(r, Deal):
                deals.append(r)
            elif isinstance(r, Link):
                links.append(r)
        pulled = len(records)
        denied = self.keys.denied(c.id for c in contacts)
        if denied:  # forgotten on request: their data does not come back
            contacts = [c for c in contacts if c.id not in denied]
            pulled -= len(denied)
        kept = len(contacts) + len(deals) + len(activities) + len(links)
        if kept < pulled:
            # A record without an id cannot be stored, planned or written back: say so.
            log.warning(
                "%s: %d record(s) without an id in a page from the CRM were skipped",
                kind,
                pulled - kept,
            )
        self._apply_contacts(contacts, pull_id, names)
        self._apply_deals(deals, pull_id, names)
        self._apply_activities(activities, pull_id)
        self._apply_links(links, pull_id)
        if merges:
            followed = merge_steps.follow(self.db, merges)
            if followed:
                log.info("%s: merges followed into %d surviving record(s)", kind, len(followed))
        if deleted_ids:
            self.mark_deleted(kind, deleted_ids)

    def _apply_contacts(
        self, contacts: list[Contact], pull_id: int, names: Mapping[FieldKey, str]
    ) -> None:
        if not contacts:
            return
        ids_arg = codec.dumps([c.id for c in contacts])
        stored = echo.stored(self.db, "contacts", ids_arg)
        newly_gone = _newly_gone(contacts, stored)
        key = self.keys.key()
        email_key, ref_key, encode = privacy.email_key, privacy.ref_key, codec.encode_contact
        fields = _crm_fields(names, PERSON_FIELDS)
        written = tuple(name for _key, name in fields)
        rows = []
        echoes: set[str] = set()  # marked dirty: all the others
        for c in contacts:
            if c.is_deleted:  # archived in the CRM: only a tombstone is kept (docs/privacy.md)
                c = privacy.tombstone_contact(c)
                values: dict[FieldKey, str | None] | None = None
                crm = None
            else:
                values = _crm_dict(c.properties, fields)
                crm = codec.encode_values(values)
            row = (
                c.id,
                c.kind,
                email_key(key, c.email),
                ref_key(key, c.referred_by),
                c.converted_to,
                c.company_id,
                int(c.is_deleted),
                pull_id,
                encode(c),
                crm,
            )
            rows.append(row)
            if stored:  # nothing stored (a first sync): nothing to compare
                old = stored.get(c.id)
                ours = c.converted_to is None  # a converted lead is never written
                if old is not None and echo.is_echo(
                    old, row[3], row[8], values, crm, written, echo.CONTACT, ours
                ):
                    echoes.add(c.id)
        self.db.executemany(
            "INSERT INTO contacts (id, kind, email_key, ref_key, converted_to, company_id, "
            "is_deleted, seen, data, crm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, email_key = excluded.email_key, "
            "ref_key = excluded.ref_key, converted_to = excluded.converted_to, "
            "company_id = excluded.company_id, is_deleted = excluded.is_deleted, "
            "seen = excluded.seen, data = excluded.data, crm = excluded.crm",
            rows,
        )
        if echoes:
            rows = [r for r in rows if r[0] not in echoes]
            if not rows:
                return
            ids_arg = codec.dumps([r[0] for r in rows])
        self.db.execute("INSERT OR IGNORE INTO dirty SELECT value FROM json_each(?)", (ids_arg,))
        old_refs = [stored[r[0]][2] for r in rows if r[0] in stored] if stored else []
        converted = [r[4] for r in rows if r[4]]
        if converted:
            self.db.execute(
                "INSERT OR IGNORE INTO dirty SELECT value FROM json_each(?)",
                (codec.dumps(converted),),
            )
        self.mark_referrers([*old_refs, *(r[3] for r in rows)])
        if newly_gone:  # their ledger evidence, writes, and the copies of the state
            self.erase(newly_gone, ())

    def contacts(self, ids: Sequence[str]) -> dict[str, Contact]:
        """The live contacts the mirror holds among ``ids``, as last pulled."""
        found: dict[str, Contact] = {}
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT id, data FROM contacts WHERE is_deleted = 0 AND id IN ({marks})", chunk
            )
            for record_id, data in rows:
                found[record_id] = codec.decode_contact(record_id, data)
        return found

    def set_property_dates(self, dated: Mapping[str, Mapping[str, datetime]]) -> None:
        """Add property dates (``Contact.property_set_at``) to live contacts, marking them dirty."""
        found = self.contacts(list(dated))
        rows = []
        for record_id, contact in found.items():
            dates = {**contact.property_set_at, **dated[record_id]}
            rows.append((codec.encode_contact(replace(contact, property_set_at=dates)), record_id))
        if rows:
            self.db.executemany("UPDATE contacts SET data = ? WHERE id = ?", rows)
            self.db.executemany(
                "INSERT INTO dirty (contact_id) VALUES (?) ON CONFLICT (contact_id) DO NOTHING",
                [(record_id,) for _data, record_id in rows],
            )

    def live_ids(self, kind: str, ids: Sequence[str]) -> list[str]:
        """Which of ``ids`` of a kind (contacts, deals) the mirror holds and are not deleted."""
        return self._live(_TABLES[kind], list(ids))

    def _live(self, table: str, ids: list[str]) -> list[str]:
        """Which of ``ids`` are stored and not deleted (an erasure would change them)."""
        if not ids:
            return []
        rows = self.db.execute(
            f"SELECT id FROM {table} WHERE id IN {IDS} AND is_deleted = 0", (codec.dumps(ids),)
        )
        return [str(r[0]) for r in rows]

    def _mark_deal_contacts(self, ids_arg: str) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO dirty SELECT contact_id FROM deal_contacts "
            f"WHERE deal_id IN {IDS}",
            (ids_arg,),
        )

    def _apply_deals(self, deals: list[Deal], pull_id: int, names: Mapping[FieldKey, str]) -> None:
        if not deals:
            return
        ids_arg = codec.dumps([d.id for d in deals])
        stored = echo.stored(self.db, "deals", ids_arg)
        newly_gone = _newly_gone(deals, stored)
        deals = [privacy.tombstone_deal(d) if d.is_deleted else d for d in deals]
        key = self.keys.key()
        fields = _crm_fields(names, DEAL_FIELDS)
        values = [None if d.is_deleted else _crm_dict(d.properties, fields) for d in deals]
        rows = [
            (
                d.id,
                privacy.ref_key(key, d.referred_by),
                int(d.is_deleted),
                pull_id,
                codec.encode_deal(d),
                None if crm is None else codec.encode_values(crm),
            )
            for d, crm in zip(deals, values, strict=True)
        ]
        if stored:  # nothing stored (a first sync): every deal is new
            changed_ids = echo.changed_deals(self.db, deals, rows, values, stored, fields)
            rows_changed = [r for r in rows if r[0] in changed_ids]
            changed_arg = codec.dumps([r[0] for r in rows_changed])
        else:
            rows_changed, changed_arg = rows, ids_arg
        old_refs = [stored[r[0]][2] for r in rows_changed if r[0] in stored]
        if rows_changed:
            self._mark_deal_contacts(changed_arg)  # the people the deal touched before this change
        self.db.executemany(
            "INSERT INTO deals (id, ref_key, is_deleted, seen, data, crm) "
            "VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET ref_key = excluded.ref_key, "
            "is_deleted = excluded.is_deleted, seen = excluded.seen, data = excluded.data, "
            "crm = excluded.crm",
            rows,
        )
        # Deal.contact_ids (HubSpot associations) replaces the deal's own links; links pulled
        # as records of their own (Salesforce OpportunityContactRole) carry a link id and stay.
        self.db.execute(
            f"DELETE FROM deal_contacts WHERE link_id = '' AND deal_id IN {IDS}", (ids_arg,)
        )
        self.db.executemany(
            "INSERT OR IGNORE INTO deal_contacts (deal_id, contact_id, link_id, seen) "
            "VALUES (?, ?, '', ?)",
            [(d.id, cid, pull_id) for d in deals for cid in d.contact_ids],
        )
        if not rows_changed:
            return
        self._mark_deal_contacts(changed_arg)
        self.db.execute(
            "INSERT OR IGNORE INTO dirty_deals SELECT value FROM json_each(?)", (changed_arg,)
        )
        self.mark_referrers([*old_refs, *(r[1] for r in rows_changed)])
        if newly_gone:
            self.erase((), newly_gone)

    def _apply_activities(self, activities: list[Activity], pull_id: int) -> None:
        if not activities:
            return
        ids_arg = codec.dumps([a.id for a in activities])
        held = echo.activity_contacts(self.db, ids_arg)  # their contacts before this change
        rows = [(*codec.activity_row(a), int(a.is_deleted), pull_id) for a in activities]
        changed = echo.changed_activities(self.db, activities, rows, held) if held else activities
        self.db.executemany(
            f"INSERT OR REPLACE INTO activities ({codec.ACTIVITY_COLUMNS}, is_deleted, seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if held:  # links held for none of them (a first pull): none to delete
            self.db.execute(f"DELETE FROM activity_contacts WHERE activity_id IN {IDS}", (ids_arg,))
        links = [(a.id, cid) for a in activities for cid in a.contact_ids]
        self.db.executemany("INSERT OR IGNORE INTO activity_contacts VALUES (?, ?)", links)
        # Their contacts before and now (the links just stored, not read back), of the
        # activities that changed: one read again as it was (a HubSpot roll-up whose contact
        # was written, say) changes no one.
        if len(changed) == len(activities):
            marked = {cid for _, cid in links}
        else:
            marked = {cid for a in changed for cid in a.contact_ids}
        if held:
            marked.update(cid for a in changed for cid in held.get(a.id, ()))
        self.db.execute(
            "INSERT OR IGNORE INTO dirty SELECT value FROM json_each(?)",
            (codec.dumps(sorted(marked)),),
        )

    def mark_activity_contacts(self, ids_arg: str) -> None:
        """Mark dirty the contacts of the activities in ``ids_arg`` (a JSON array)."""
        self.db.execute(
            "INSERT OR IGNORE INTO dirty SELECT contact_id FROM activity_contacts "
            f"WHERE activity_id IN {IDS}",
            (ids_arg,),
        )

    def _apply_links(self, links: list[Link], pull_id: int) -> None:
        if not links:
            return
        ids_arg = codec.dumps([link.id for link in links])
        changed = echo.changed_links(self.db, links, ids_arg)
        changed_arg = (
            ids_arg if len(changed) == len(links) else codec.dumps([k.id for k in changed])
        )
        self.db.execute(
            "INSERT OR IGNORE INTO dirty SELECT contact_id FROM deal_contacts "
            f"WHERE link_id IN {IDS}",
            (changed_arg,),
        )
        self.db.execute(f"DELETE FROM deal_contacts WHERE link_id IN {IDS}", (ids_arg,))
        live = [link for link in links if not link.is_deleted]
        self.db.executemany(
            "INSERT OR REPLACE INTO deal_contacts (deal_id, contact_id, link_id, seen) "
            "VALUES (?, ?, ?, ?)",
            [(link.deal_id, link.contact_id, link.id, pull_id) for link in live],
        )
        self.db.execute(
            "INSERT OR IGNORE INTO dirty SELECT value FROM json_each(?)",
            (codec.dumps([link.contact_id for link in changed if link.contact_id]),),
        )

    def erase(self, person_ids: Iterable[str], deal_ids: Iterable[str]) -> privacy.Erasure:
        """Reduce records to tombstones (``privacy.erase``); backups and exports follow later."""
        done = privacy.erase(self.db, person_ids, deal_ids)
        if done.people or done.deals:
            self.keys.mark_copies_stale()
        return done

    def mark_deleted(self, kind: str, ids: Sequence[str]) -> None:
        """Mark records deleted (they stop counting as evidence) and their people dirty.

        A deleted person or deal keeps no personal data: it becomes a tombstone.
        """
        ids_arg = codec.dumps(list(ids))
        if kind == "deal_contacts":
            self._apply_links([Link(i, "", "", is_deleted=True) for i in ids], 0)
            return
        table = _TABLES[kind]
        newly_gone = self._live(table, list(ids)) if kind in ("contacts", "deals") else []
        if kind == "contacts":
            self.mark_referrers(self._old_ref_keys("contacts", ids_arg))
            # Only the ids held: a HubSpot survivor names the ids merged into it each time it
            # is read, and one never held has nothing to derive.
            self.db.execute(
                f"INSERT OR IGNORE INTO dirty SELECT id FROM contacts WHERE id IN {IDS}",
                (ids_arg,),
            )
        elif kind == "deals":
            self.mark_referrers(self._old_ref_keys("deals", ids_arg))
            self._mark_deal_contacts(ids_arg)
        else:
            self.mark_activity_contacts(ids_arg)
        self.db.execute(f"UPDATE {table} SET is_deleted = 1 WHERE id IN {IDS}", (ids_arg,))
        if newly_gone:  # already-erased ones were erased by the run that saw them go
            people = newly_gone if kind == "contacts" else []
            self.erase(people, newly_gone if kind == "deals" else [])

    def reconcile_full(self, kind: str, pull_id: int) -> int:
        """After a complete full pull: what it did not see is gone. Returns how many."""
        if kind == "deal_contacts":
            self.db.execute(
                "INSERT OR IGNORE INTO dirty SELECT contact_id FROM deal_contacts "
                "WHERE link_id != '' AND seen < ?",
                (pull_id,),
            )
            cur = self.db.execute(
                "DELETE FROM deal_contacts WHERE link_id != '' AND seen < ?", (pull_id,)
            )
            return cur.rowcount
        table = _TABLES[kind]
        gone = [
            r[0]
            for r in self.db.execute(
                f"SELECT id FROM {table} WHERE seen < ? AND is_deleted = 0", (pull_id,)
            )
        ]
        if gone:
            self.mark_deleted(kind, gone)
        return len(gone)

    def mark_meetings_ended(self, after: datetime | None, until: datetime) -> None:
        """Mark dirty the people of meetings that ended in (after, until]: they count now."""
        if after is None:
            return
        self.db.execute(
            "INSERT OR IGNORE INTO dirty SELECT ac.contact_id FROM activities a "
            "JOIN activity_contacts ac ON ac.activity_id = a.id "
            "WHERE a.kind = 'meeting' AND a.ends_at > ? AND a.ends_at <= ? AND a.is_deleted = 0",
            (utc_iso(after), utc_iso(until)),
        )

    def replace_stages(self, stages: Sequence[Stage]) -> None:
        """The stage catalogue as just pulled replaces the stored one."""
        self.db.execute("DELETE FROM stages")
        self.db.executemany(
            "INSERT INTO stages VALUES (?, ?)", [(s.id, codec.encode_stage(s)) for s in stages]
        )

    def mark_advocates_dirty(self) -> None:
        """Mark dirty everyone currently an advocate (their advocacy may have lapsed)."""
        self.db.execute(
            "INSERT OR IGNORE INTO dirty SELECT id FROM contacts "
            "WHERE is_deleted = 0 AND CAST(json_extract(derived, '$[3]') AS INTEGER) = 1"
        )

    def mark_everything_dirty(self) -> None:
        """Every person and deal is derived again (the rules or the stage catalogue changed)."""
        self.db.execute("INSERT OR IGNORE INTO dirty SELECT id FROM contacts WHERE is_deleted = 0")
        self.db.execute(
            "INSERT OR IGNORE INTO dirty_deals SELECT id FROM deals WHERE is_deleted = 0"
        )


def _newly_gone(
    records: Sequence[Contact] | Sequence[Deal], stored: Mapping[str, echo.Stored]
) -> list[str]:
    """The pulled deleted ``records`` that the mirror holds live (an erasure would change them)."""
    return [r.id for r in records if r.is_deleted and r.id in stored and not stored[r.id][3]]


def _crm_fields(
    names: Mapping[FieldKey, str], keys: Sequence[FieldKey]
) -> list[tuple[FieldKey, str]]:
    """Each of our fields among ``keys`` that is written, with its property name in the CRM."""
    return [(k, names[k]) for k in keys if k in names]


def _crm_dict(
    props: Mapping[str, str | None], fields: Sequence[tuple[FieldKey, str]]
) -> dict[FieldKey, str | None]:
    """The CRM's values of our fields on a record, as the mirror's ``crm`` column keeps them
    (``codec.encode_values``)."""
    get = props.get
    return {k: get(name) for k, name in fields}
