"""Accounts in the state: who belongs where, each account's roll-up, what the CRM holds.

``account_members`` keeps, per person, the account they belong to and the few values the
roll-up reads (milestone, its date, advocate, owner), so an account is derived again from
its members' rows without loading their bundles. ``dirty_account_people`` lists the people
derived since their account last was: a person derived in a chunk is marked in that chunk's
transaction, so a crash between the two steps loses nothing. ``accounts.crm`` holds the
values last written to the company or Account: the plan compares with them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from milestones.mapping.accounts import AccountRollup, Member
from milestones.mapping.derive import Derived
from milestones.mapping.records import Contact, Milestone
from milestones.store import codec
from milestones.store.dialect import Connection
from milestones.store.keyset import id_chunks

ACCOUNTS_SCHEMA = 5  # the migration that made the tables below
SEEDED = "accounts_seeded"  # meta: every person was marked once when accounts were turned on


@dataclass(frozen=True, slots=True)
class AccountPerson:
    """A person as the roll-up sees them: the record and their derived result."""

    contact: Contact
    derived: Derived | None


@dataclass(frozen=True, slots=True)
class StoredAccount:
    """An account's stored roll-up and the CRM values we last wrote to it."""

    rollup: AccountRollup
    crm: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class AccountMember:
    """One member row: the person, their part and their owner."""

    account_id: str
    member: Member
    owner_id: str | None


CHUNK = 500  # ids per IN list: well inside every engine's limit on bound parameters


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _chunks(ids: Sequence[str]) -> Iterator[tuple[str, ...]]:
    for start in range(0, len(ids), CHUNK):
        yield tuple(ids[start : start + CHUNK])


def _encode(rollup: AccountRollup) -> str:
    return json.dumps(
        {
            "milestone": int(rollup.milestone),
            "date": rollup.milestone_date,
            "advocates": rollup.advocates,
            "engaged": rollup.engaged,
            "people": rollup.people,
            "carrier": rollup.carrier,
        }
    )


def _decode(account_id: str, text: str) -> AccountRollup:
    v = json.loads(text)
    return AccountRollup(
        account_id,
        Milestone(int(v["milestone"])),
        v.get("date"),
        int(v.get("advocates") or 0),
        int(v.get("engaged") or 0),
        int(v.get("people") or 0),
        v.get("carrier"),
    )


class Accounts:
    """The account roll-up's rows: members, accounts and the people waiting to be rolled up."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    # -- the dirty set -------------------------------------------------------------------

    def mark_people(self, ids: Sequence[str]) -> None:
        """People whose account must be derived again (call inside the chunk's transaction)."""
        self.db.executemany(
            "INSERT INTO dirty_account_people (person_id) VALUES (?) "
            "ON CONFLICT (person_id) DO NOTHING",
            [(i,) for i in ids],
        )

    def seed(self) -> bool:
        """The first time accounts run: mark everyone. True when it did."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (SEEDED,)).fetchone()
        if row is not None:
            return False
        self.db.execute(
            "INSERT INTO dirty_account_people (person_id) SELECT id FROM contacts WHERE 1 = 1 "
            "ON CONFLICT (person_id) DO NOTHING"
        )
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO NOTHING",
            (SEEDED,),
        )
        return True

    def mark_converted(self) -> None:
        """Leads converted since they were counted: their Contact counts now, not they.

        A converted lead is never derived itself (its Contact is), so nothing else marks it.
        """
        self.db.execute(
            "INSERT INTO dirty_account_people (person_id) SELECT c.id FROM contacts c "
            "JOIN account_members m ON m.person_id = c.id WHERE c.converted_to IS NOT NULL "
            "ON CONFLICT (person_id) DO NOTHING"
        )

    def dirty_people(self, size: int) -> Iterator[list[str]]:
        """Marked people in id order, ``size`` at a time; safe while the caller clears them."""
        return id_chunks(
            self.db,
            "SELECT person_id FROM dirty_account_people WHERE person_id > ? "
            "ORDER BY person_id LIMIT ?",
            size,
        )

    def waiting(self) -> int:
        """People marked and not rolled up yet."""
        return int(self.db.execute("SELECT count(*) FROM dirty_account_people").fetchone()[0])

    # -- reading -------------------------------------------------------------------------

    def people(self, ids: Sequence[str]) -> list[AccountPerson]:
        """The marked people that still exist, with their derived results."""
        rows = []
        for chunk in _chunks(ids):
            rows += self.db.execute(
                "SELECT id, data, is_deleted, derived FROM contacts "
                f"WHERE id IN ({_marks(len(chunk))})",
                chunk,
            ).fetchall()
        found = []
        for rid, data, is_deleted, derived in rows:
            contact = codec.decode_contact(rid, data, bool(is_deleted))
            found.append(AccountPerson(contact, codec.decode_derived(rid, derived)))
        return found

    def memberships(self, ids: Sequence[str]) -> dict[str, str]:
        """person id -> the account they were last counted in."""
        rows = []
        for chunk in _chunks(ids):
            rows += self.db.execute(
                "SELECT person_id, account_id FROM account_members "
                f"WHERE person_id IN ({_marks(len(chunk))})",
                chunk,
            ).fetchall()
        return {str(p): str(a) for p, a in rows}

    def members(self, account_ids: Sequence[str]) -> dict[str, list[AccountMember]]:
        """Each account's member rows."""
        found: dict[str, list[AccountMember]] = {a: [] for a in account_ids}
        rows = []
        for chunk in _chunks(account_ids):
            rows += self.db.execute(
                "SELECT account_id, person_id, milestone, reached_on, is_advocate, owner_id "
                f"FROM account_members WHERE account_id IN ({_marks(len(chunk))}) "
                "ORDER BY account_id, person_id",
                chunk,
            ).fetchall()
        for account_id, pid, level, reached_on, is_advocate, owner in rows:
            member = Member(str(pid), Milestone(int(level)), reached_on, bool(is_advocate))
            found[str(account_id)].append(AccountMember(str(account_id), member, owner))
        return found

    def stored(self, account_ids: Sequence[str]) -> dict[str, StoredAccount]:
        """The stored roll-ups (and written CRM values) of these accounts."""
        rows = []
        for chunk in _chunks(account_ids):
            rows += self.db.execute(
                f"SELECT id, derived, crm FROM accounts WHERE id IN ({_marks(len(chunk))}) "
                "AND derived IS NOT NULL",
                chunk,
            ).fetchall()
        return {
            str(i): StoredAccount(_decode(str(i), d), codec.decode_values(c)) for i, d, c in rows
        }

    def all(self) -> list[StoredAccount]:
        """Every account with at least one person, in id order (the report)."""
        rows = self.db.execute(
            "SELECT id, derived, crm FROM accounts WHERE derived IS NOT NULL ORDER BY id"
        ).fetchall()
        return [StoredAccount(_decode(str(i), d), codec.decode_values(c)) for i, d, c in rows]

    # -- writing -------------------------------------------------------------------------

    def save_members(self, members: Sequence[AccountMember], removed: Sequence[str]) -> None:
        """Replace the member rows of these people; ``removed`` people belong nowhere now."""
        self.db.executemany(
            "DELETE FROM account_members WHERE person_id = ?", [(p,) for p in removed]
        )
        self.db.executemany(
            "INSERT INTO account_members "
            "(person_id, account_id, milestone, reached_on, is_advocate, owner_id) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET "
            "account_id = excluded.account_id, milestone = excluded.milestone, "
            "reached_on = excluded.reached_on, is_advocate = excluded.is_advocate, "
            "owner_id = excluded.owner_id",
            [
                (
                    m.member.person_id,
                    m.account_id,
                    int(m.member.milestone),
                    m.member.reached_on,
                    int(m.member.is_advocate),
                    m.owner_id,
                )
                for m in members
            ],
        )

    def save_rollups(self, rollups: Sequence[AccountRollup], settled: Sequence[str]) -> None:
        """Keep the accounts' roll-ups (an empty domain group goes) and clear the people."""
        gone = [r.account_id for r in rollups if r.people == 0 and not r.is_crm_record]
        self.db.executemany("DELETE FROM accounts WHERE id = ?", [(a,) for a in gone])
        self.db.executemany(
            "INSERT INTO accounts (id, is_crm, derived) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET derived = excluded.derived",
            [
                (r.account_id, int(r.is_crm_record), _encode(r))
                for r in rollups
                if r.account_id not in gone
            ],
        )
        self.db.executemany(
            "DELETE FROM dirty_account_people WHERE person_id = ?", [(p,) for p in settled]
        )

    def forget_people(self, ids: Sequence[str]) -> None:
        """Drop people from the roll-up's rows (erasure on request)."""
        for table in ("account_members", "dirty_account_people"):
            self.db.executemany(f"DELETE FROM {table} WHERE person_id = ?", [(p,) for p in ids])
