"""Following a CRM merge: the record merged away hands its history to the one it went into.

When two people are merged in the CRM, one record survives (on HubSpot since 2023 a new one:
its ``hs_merged_object_ids`` lists the ids merged into it) and the others are gone. Before a
merged-away person is erased to a tombstone (``privacy.erase``), ``follow`` gives the
survivor what the worker knew of them:

- the derived result, as a high-water mark: every milestone either reached, each at its
  earlier date (``history.high_water``), so the survivor keeps the higher milestone and the
  next derive starts from it;
- the ledger: each transition the merged-away record made is recorded for the survivor too,
  at the earlier date where both made it (the union of their evidence);
- the links: its deals and activities count for the survivor from now on, even before the
  CRM reports them moved (a merge need not touch the linked records' modified times);
- the survivor is marked dirty, so its fields are planned again.

The history moves rather than being copied: the merged-away record keeps neither a derived
result nor ledger entries, so the report counts the person once, as the survivor.

The merged-away record's own pending and failed writes are dropped by the erasure that
follows (the survivor's are planned afresh), so an id that no longer exists is never retried
or reported as failed. Following the same merge again changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from milestones.store.history import high_water

_LEDGER_COPY = (
    "INSERT INTO ledger (record_kind, record_id, from_milestone, to_milestone, reached_on, "
    "evidence, run_id, recorded_at) "
    "SELECT record_kind, ?, from_milestone, to_milestone, reached_on, evidence, run_id, "
    "recorded_at FROM ledger WHERE record_kind = 'contact' AND record_id = ? "
    "ON CONFLICT (record_kind, record_id, to_milestone) DO UPDATE SET "
    "from_milestone = excluded.from_milestone, reached_on = excluded.reached_on, "
    "evidence = excluded.evidence "
    "WHERE excluded.reached_on < ledger.reached_on"
)
# (table, key column, the primary key's columns besides contact_id)
_LINKS = (
    ("deal_contacts", "deal_id, link_id, seen", "deal_id, contact_id, link_id"),
    ("activity_contacts", "activity_id", "activity_id, contact_id"),
)


def follow(db: sqlite3.Connection, merges: Iterable[tuple[str, str]]) -> list[str]:
    """Fold each merged-away person into its survivor; the survivors touched, in order.

    ``merges`` are ``(merged-away id, survivor id)`` pairs. A pair whose survivor the mirror
    does not hold (a person forgotten on request), or whose merged-away id it never held, is
    skipped: there is nothing to carry over, and the erasure still applies.
    """
    touched: dict[str, None] = {}
    for gone, survivor in merges:
        if gone == survivor:
            continue
        rows = dict(
            db.execute(
                "SELECT id, derived FROM contacts WHERE id IN (?, ?)", (gone, survivor)
            ).fetchall()
        )
        if gone not in rows or survivor not in rows:
            continue
        _fold_derived(db, survivor, rows[survivor], rows[gone])
        db.execute(_LEDGER_COPY, (survivor, gone))
        # Moved, not copied: the report counts each person's history once (a tombstone's
        # derived result and ledger count as someone gone from the CRM).
        db.execute("UPDATE contacts SET derived = NULL WHERE id = ?", (gone,))
        db.execute("DELETE FROM ledger WHERE record_kind = 'contact' AND record_id = ?", (gone,))
        for table, others, key in _LINKS:
            db.execute(
                f"INSERT INTO {table} (contact_id, {others}) SELECT ?, {others} FROM {table} "
                f"WHERE contact_id = ? ON CONFLICT ({key}) DO NOTHING",
                (survivor, gone),
            )
            db.execute(f"DELETE FROM {table} WHERE contact_id = ?", (gone,))
        db.execute(
            "INSERT INTO dirty (contact_id) VALUES (?) ON CONFLICT (contact_id) DO NOTHING",
            (survivor,),
        )
        touched[survivor] = None
    return list(touched)


def _fold_derived(
    db: sqlite3.Connection, survivor: str, kept: str | None, merged_away: str | None
) -> None:
    if merged_away is None:
        return
    folded = (
        json.loads(merged_away)
        if kept is None
        else high_water(json.loads(kept), json.loads(merged_away))
    )
    db.execute(
        "UPDATE contacts SET derived = ? WHERE id = ?",
        (json.dumps(folded, separators=(",", ":"), ensure_ascii=False), survivor),
    )
