"""Erasure carried to the copies beside the state: backups, history exports, damaged files.

A backup or a set-aside damaged file is a SQLite state file of its own: it is opened, the
same tombstones are applied (``privacy.erase``), the run details that quote an erased value
are dropped, the deny list is copied in, and the file is rewritten with ``VACUUM`` so no free
page keeps the erased text. A history export holds ledger entries and derived results (ids,
milestones, dates, rule names, never names or emails): its erased records' ledger lines lose
their evidence text, and with ``drop_people`` their lines go altogether.

A copy that cannot be rewritten (damaged beyond opening, unwritable) is reported; the
retention step deletes such copies once they are older than ``keep_days``
(``expire_unreadable``), the delay ``docs/privacy.md`` documents.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from milestones.store import privacy
from milestones.store.backup import StateCopy, create_private, list_state_copies


@dataclass(frozen=True, slots=True)
class CopyScrub:
    """One copy and what became of it: ``rewritten``, ``unchanged`` or ``unreadable``."""

    kind: str
    path: Path
    outcome: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Erased:
    """What to erase in every copy."""

    people: Collection[str]
    deals: Collection[str]
    denied_hashes: Collection[str] = ()
    needles: Collection[str] = ()  # values whose mention drops a run detail (ids, emails)
    drop_people: Collection[str] = ()  # forgotten on request: their export lines go too


def scrub_copies(state_path: Path, erased: Erased) -> list[CopyScrub]:
    """Carry ``erased`` to every backup, export and damaged file of the state."""
    results = []
    for copy in list_state_copies(state_path):
        try:
            if copy.kind == "export":
                results.append(_scrub_export(copy, erased))
            else:
                results.append(_scrub_database(copy, erased))
        except (sqlite3.Error, OSError, ValueError) as exc:
            results.append(CopyScrub(copy.kind, copy.path, "unreadable", type(exc).__name__))
    return results


def _scrub_database(copy: StateCopy, erased: Erased) -> CopyScrub:
    db = sqlite3.connect(copy.path, isolation_level=None)
    try:
        privacy.secure(db)
        db.execute("BEGIN IMMEDIATE")
        try:
            privacy.erase(db, erased.people, erased.deals)
            privacy.scrub_run_details(db, erased.needles)
            tables = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master")}
            if "forgotten" in tables and erased.denied_hashes:
                db.executemany(
                    "INSERT OR IGNORE INTO forgotten (id_key, forgotten_at) VALUES (?, '')",
                    [(h,) for h in erased.denied_hashes],
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        privacy.compact(db)
    finally:
        db.close()
    return CopyScrub(copy.kind, copy.path, "rewritten")


def _scrub_export(copy: StateCopy, erased: Erased) -> CopyScrub:
    ids = {*erased.people, *erased.deals}
    dropped = set(erased.drop_people)
    kept: list[str] = []
    changed = False
    with copy.path.open(encoding="utf-8") as lines:
        for text in lines:
            item = json.loads(text) if text.strip() else None
            if not isinstance(item, dict):
                kept.append(text)
                continue
            rid = item.get("record_id", item.get("id"))
            if rid in dropped:
                changed = True
                continue
            if rid in ids and item.get("type") == "ledger" and item.get("evidence") is not None:
                item["evidence"] = None
                text = json.dumps(item, ensure_ascii=False) + "\n"
                changed = True
            kept.append(text)
    if not changed:
        return CopyScrub(copy.kind, copy.path, "unchanged")
    partial = copy.path.with_name(copy.path.name + ".partial")
    create_private(partial)
    partial.write_text("".join(kept), encoding="utf-8")
    os.replace(partial, copy.path)
    return CopyScrub(copy.kind, copy.path, "rewritten")


def expire_unreadable(state_path: Path, now: datetime, keep_days: int) -> list[Path]:
    """Delete damaged copies older than ``keep_days`` that cannot be opened to be scrubbed."""
    expired = []
    for copy in list_state_copies(state_path, "damaged"):
        if now - copy.taken_at < timedelta(days=keep_days):
            continue
        try:
            db = sqlite3.connect(f"{copy.path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                db.execute("SELECT count(*) FROM contacts").fetchone()
                continue  # readable: it was scrubbed with the others
            finally:
                db.close()
        except sqlite3.Error:
            copy.path.unlink(missing_ok=True)
            expired.append(copy.path)
    return expired
