"""Personal data in the state: keyed hashes for matching, erasure, the deny list, retention.

What the state keeps of a person, and why, is listed in ``docs/privacy.md``. This module
holds the rules that keep that list short:

- an email address kept only to match (a person's own, a referrer's) is stored as a keyed
  hash (HMAC-SHA256 with a random key kept in the state's ``meta`` table), never in plain;
- a record the CRM no longer has is erased to a tombstone (``erase``): its id, kind, deleted
  flag and derived milestones stay for the report's history, its names, emails, owner,
  dates and properties go, its pending writes go, its ledger evidence text goes;
- a person forgotten on request is erased the same way and their id kept in ``forgotten``
  by keyed hash, so a later pull does not bring them back (``deny``/``allow``);
- run details and failed-write texts, which may quote CRM values, are pruned after a
  number of days (``prune_details``).

The connection runs with ``PRAGMA secure_delete`` (``sqlite.py``), so erased text is
overwritten in the file, not left in free pages.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from milestones.mapping.records import Contact, Deal
from milestones.store import codec
from milestones.store.dialect import IDS, Connection

KEY_META = "privacy_key"
HASHED_KEYS_SCHEMA = 3  # the migration after which email keys are hashed
COPIES_STALE_META = "copies_stale"  # an erasure has not yet reached backups and exports
# A contact tombstone: the codec's layout with only the kind and the converted-to id kept.
_CONTACT_TOMBSTONE = (
    "json_array(kind, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, json('false'), NULL, "
    "converted_to, json('{}'))"
)
# A deal tombstone: stage, pipeline, flags, close date and amount stay (they name nobody).
_DEAL_TOMBSTONE = (
    "json_set(data, '$[0]', NULL, '$[7]', NULL, '$[8]', NULL, '$[9]', NULL, '$[10]', NULL, "
    "'$[11]', NULL, '$[12]', json('{}'))"
)


def keyed_hash(key: bytes, text: str) -> str:
    """HMAC-SHA256 of ``text`` under ``key``, as 32 hex digits (128 bits)."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def email_key(key: bytes, email: str | None) -> str | None:
    """How an email address is kept for matching: the keyed hash of its lower-cased form."""
    if email is None or not email.strip():
        return None
    return keyed_hash(key, email.strip().lower())


def ref_key(key: bytes, referred_by: str | None) -> str | None:
    """How a referrer reference is indexed: emails as ``email_key``, record ids as they are."""
    if referred_by is None or not referred_by.strip():
        return None
    text = referred_by.strip()
    return email_key(key, text) if "@" in text else text


def tombstone_contact(c: Contact) -> Contact:
    """What is kept of a deleted person: the same fields ``erase`` keeps (``$[0]``, ``$[11]``)."""
    return Contact(id=c.id, kind=c.kind, converted_to=c.converted_to, is_deleted=True)


def tombstone_deal(d: Deal) -> Deal:
    """What is kept of a deleted deal: stage, pipeline, flags, close date, amount, links."""
    return Deal(
        id=d.id,
        stage_id=d.stage_id,
        pipeline_id=d.pipeline_id,
        is_closed=d.is_closed,
        is_won=d.is_won,
        close_date=d.close_date,
        amount=d.amount,
        contact_ids=d.contact_ids,
        is_deleted=True,
    )


def is_plain_email(value: str | None) -> bool:
    """True for a key stored before keys were hashed (a plain address)."""
    return value is not None and "@" in value


@dataclass(slots=True)
class Erasure:
    """What one erasure touched, per place, for ``milestones forget`` to print."""

    people: list[str] = field(default_factory=list)
    deals: list[str] = field(default_factory=list)
    ledger_entries: int = 0
    writes: int = 0
    run_details: int = 0


def read_key(db: Connection) -> bytes | None:
    """The state's HMAC key, or None before one was made."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (KEY_META,)).fetchone()
    return None if row is None else bytes.fromhex(str(row[0]))


def ensure_key(db: Connection) -> bytes:
    """The state's HMAC key, made (random, 32 bytes) and stored on first use."""
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
        (KEY_META, secrets.token_hex(32)),
    )
    key = read_key(db)
    assert key is not None
    return key


def hash_plain_keys(db: Connection) -> None:
    """Replace plain emails in ``email_key``/``ref_key`` and plain referrers in the records.

    Files written before keys were hashed hold addresses in plain, and kept the data of
    deleted records; run once by the migration that introduced the hashing, in its
    transaction, it also reduces every deleted record to a tombstone.
    """
    key = ensure_key(db)
    for table, ref_index in (("contacts", 10), ("deals", 11)):
        has_email = table == "contacts"
        columns = "id, ref_key, data" + (", email_key" if has_email else "")
        rows = db.execute(
            f"SELECT {columns} FROM {table} WHERE ref_key LIKE '%@%' "
            f"OR json_extract(data, '$[{ref_index}]') IS NOT NULL"
            + (" OR email_key LIKE '%@%'" if has_email else "")
        ).fetchall()
        for row in rows:
            rid, ref, data = row[0], row[1], row[2]
            new_ref = email_key(key, ref) if is_plain_email(ref) else ref
            data = codec.drop_referrer(data, ref_index)
            db.execute(
                f"UPDATE {table} SET ref_key = ?, data = ? WHERE id = ?", (new_ref, data, rid)
            )
            if has_email and is_plain_email(row[3]):
                db.execute(
                    "UPDATE contacts SET email_key = ? WHERE id = ?", (email_key(key, row[3]), rid)
                )
    erase(db, *tombstones(db))
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, '1')", (COPIES_STALE_META,))


def erase(db: Connection, person_ids: Iterable[str], deal_ids: Iterable[str]) -> Erasure:
    """Reduce people and deals to tombstones; their writes and ledger evidence text go.

    Works on any state file of schema 1 or later (backups included). Idempotent.
    """
    people, deals = sorted(set(person_ids)), sorted(set(deal_ids))
    done = Erasure(people=people, deals=deals)
    if people:
        arg = codec.dumps(people)
        email_column = _email_column(db)
        db.execute(
            f"UPDATE contacts SET data = {_CONTACT_TOMBSTONE}, {email_column} = NULL, "
            f"ref_key = NULL, company_id = NULL, crm = NULL, is_deleted = 1 WHERE id IN {IDS}",
            (arg,),
        )
    if deals:
        arg = codec.dumps(deals)
        db.execute(
            f"UPDATE deals SET data = {_DEAL_TOMBSTONE}, ref_key = NULL, crm = NULL, "
            f"is_deleted = 1 WHERE id IN {IDS}",
            (arg,),
        )
    both = codec.dumps([*people, *deals])
    done.ledger_entries = db.execute(
        f"UPDATE ledger SET evidence = NULL WHERE record_id IN {IDS} AND evidence IS NOT NULL",
        (both,),
    ).rowcount
    done.writes = db.execute(f"DELETE FROM writes WHERE record_id IN {IDS}", (both,)).rowcount
    return done


def _email_column(db: Connection) -> str:
    """``email_key`` (schema 3 on) or ``email_lc`` (a backup from before)."""
    names = {str(r[1]) for r in db.execute("PRAGMA table_info(contacts)")}
    return "email_key" if "email_key" in names else "email_lc"


def scrub_run_details(db: Connection, needles: Collection[str]) -> int:
    """Drop the run details and write messages that quote any of ``needles``; how many."""
    count = 0
    for needle in sorted({n for n in needles if n}):
        count += db.execute(
            "UPDATE runs SET detail = NULL WHERE instr(lower(detail), lower(?)) > 0", (needle,)
        ).rowcount
        count += db.execute(
            "UPDATE writes SET message = NULL WHERE instr(lower(message), lower(?)) > 0",
            (needle,),
        ).rowcount
    return count


def prune_details(db: Connection, before: str) -> int:
    """Drop run details and failed-write texts of runs and writes older than ``before``."""
    runs = db.execute(
        "UPDATE runs SET detail = NULL WHERE started_at < ? AND detail IS NOT NULL", (before,)
    ).rowcount
    writes = db.execute(
        "UPDATE writes SET message = NULL WHERE updated_at < ? AND message IS NOT NULL",
        (before,),
    ).rowcount
    return runs + writes


def tombstones(db: Connection) -> tuple[list[str], list[str]]:
    """The ids of every erased or deleted person and deal (what copies must erase too)."""
    people = [str(r[0]) for r in db.execute("SELECT id FROM contacts WHERE is_deleted = 1")]
    deals = [str(r[0]) for r in db.execute("SELECT id FROM deals WHERE is_deleted = 1")]
    return people, deals


def secure(db: Connection) -> None:
    """Erased content is overwritten with zeros, not left in free pages."""
    db.execute("PRAGMA secure_delete = ON")


# Where erased text lived: the tables PostgreSQL must VACUUM after an erasure.
ERASED_TABLES = ("contacts", "deals", "ledger", "writes", "runs", "forgotten")


def compact(db: Connection) -> None:
    """Rewrite the file without free pages and empty its WAL (outside a transaction)."""
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class Privacy:
    """The deny list of people forgotten on request, and lookups by keyed hash."""

    def __init__(self, db: Connection) -> None:
        self.db = db
        self._key: bytes | None = None

    def key(self) -> bytes:
        """The state's HMAC key (made on first use; call on a writable store)."""
        if self._key is None:
            self._key = read_key(self.db) or ensure_key(self.db)
        return self._key

    def ids_with_email(self, email: str) -> list[str]:
        """The people whose (hashed) email address is ``email``."""
        rows = self.db.execute(
            "SELECT id FROM contacts WHERE email_key = ? ORDER BY id",
            (email_key(self.key(), email),),
        )
        return [str(r[0]) for r in rows]

    def known(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` the mirror holds a live (not deleted) record of."""
        rows = self.db.execute(
            f"SELECT id FROM contacts WHERE id IN {IDS} AND is_deleted = 0",
            (codec.dumps(sorted(set(ids))),),
        )
        return {str(r[0]) for r in rows}

    def deny(self, ids: Iterable[str], at: str) -> None:
        """Keep ``ids`` out of the mirror from now on (kept by keyed hash)."""
        self.db.executemany(
            "INSERT OR IGNORE INTO forgotten (id_key, forgotten_at) VALUES (?, ?)",
            [(keyed_hash(self.key(), i), at) for i in ids],
        )

    def allow(self, ids: Iterable[str]) -> int:
        """Let ``ids`` be pulled again; how many were denied."""
        return sum(
            self.db.execute(
                "DELETE FROM forgotten WHERE id_key = ?", (keyed_hash(self.key(), i),)
            ).rowcount
            for i in ids
        )

    def denied(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are on the deny list (nothing is hashed while it is empty)."""
        if self.db.execute("SELECT 1 FROM forgotten LIMIT 1").fetchone() is None:
            return set()
        key = self.key()
        by_hash = {keyed_hash(key, i): i for i in ids}
        rows = self.db.execute(
            f"SELECT id_key FROM forgotten WHERE id_key IN {IDS}",
            (codec.dumps(list(by_hash)),),
        )
        return {by_hash[str(r[0])] for r in rows}

    def denied_hashes(self) -> list[str]:
        """Every keyed hash on the deny list (copied into backups when they are scrubbed)."""
        return [str(r[0]) for r in self.db.execute("SELECT id_key FROM forgotten")]

    def mark_copies_stale(self) -> None:
        """Backups and exports still hold data erased here: scrub them after this run."""
        self.db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", (COPIES_STALE_META,)
        )

    def copies_stale(self) -> bool:
        """True when an erasure has not reached the backups and exports yet."""
        row = self.db.execute("SELECT 1 FROM meta WHERE key = ?", (COPIES_STALE_META,))
        return row.fetchone() is not None

    def copies_scrubbed(self) -> None:
        """Every backup and export has been scrubbed."""
        self.db.execute("DELETE FROM meta WHERE key = ?", (COPIES_STALE_META,))
