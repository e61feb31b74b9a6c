"""The milestone history as JSON lines: what a full sync cannot rebuild.

A full sync rebuilds the mirror from the CRM, but not the dates milestones were reached, the
transition ledger, or since when an advocate is one. ``export`` writes them as JSON lines (a
header, then one line per ledger entry and one per person's derived result); ``import_lines``
merges them into a state file rebuilt by a full sync: ledger entries are added once, and each
person's reached milestones keep the earliest date of either side (high-water marks, as
``derive`` keeps them). Merged people are marked dirty so the next sync writes the restored
dates back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from milestones.store.rows import LedgerEntry

FORMAT = "milestones-history"
VERSION = 1
_LEDGER = (
    "record_kind, record_id, from_milestone, to_milestone, reached_on, evidence, run_id, "
    "recorded_at"
)


@dataclass(slots=True)
class ImportResult:
    """What ``import_lines`` did, line by line."""

    ledger_added: int = 0
    people_merged: int = 0
    people_missing: list[str] = field(default_factory=list)  # not in the mirror (yet)
    rejected: list[str] = field(default_factory=list)  # "line N: why"


class History:
    """Export and import of the ledger and each person's reached milestones."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def export(self, out: TextIO, schema_version: int) -> int:
        """Write the history to ``out``; returns the number of lines after the header."""
        header = {"type": "header", "format": FORMAT, "version": VERSION}
        out.write(json.dumps({**header, "schema": schema_version}) + "\n")
        count = 0
        for row in self.db.execute(f"SELECT {_LEDGER} FROM ledger ORDER BY id"):
            entry = LedgerEntry(*row)
            line = {"type": "ledger", **{k: getattr(entry, k) for k in entry.__slots__}}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
        rows = self.db.execute(
            "SELECT id, derived FROM contacts WHERE derived IS NOT NULL ORDER BY id"
        )
        for rid, derived in rows:
            line = {"type": "person", "id": rid, "derived": json.loads(derived)}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
        return count

    def import_lines(self, lines: Iterable[str]) -> ImportResult:
        """Merge exported lines (call inside one transaction: all or nothing)."""
        result = ImportResult()
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                item = json.loads(text)
                self._import_one(item, result)
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                result.rejected.append(f"line {number}: {type(exc).__name__}: {exc}"[:300])
        return result

    def _import_one(self, item: Any, result: ImportResult) -> None:
        kind = item["type"] if isinstance(item, dict) else None
        if kind == "header":
            if item.get("format") != FORMAT or int(item.get("version", 0)) > VERSION:
                raise ValueError(f"not a {FORMAT} v{VERSION} export")
        elif kind == "ledger":
            values = [item[k] for k in LedgerEntry.__slots__]
            if not all(isinstance(item[k], str) for k in ("record_id", "to_milestone")):
                raise TypeError("record_id and to_milestone must be strings")
            cursor = self.db.execute(
                f"INSERT OR IGNORE INTO ledger ({_LEDGER}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            result.ledger_added += cursor.rowcount
        elif kind == "person":
            self._merge_person(str(item["id"]), _checked(item["derived"]), result)
        else:
            raise ValueError(f"unknown line type {kind!r}")

    def _merge_person(self, rid: str, imported: list[Any], result: ImportResult) -> None:
        row = self.db.execute("SELECT derived FROM contacts WHERE id = ?", (rid,)).fetchone()
        if row is None:
            result.people_missing.append(rid)
            return
        merged = imported if row[0] is None else high_water(json.loads(row[0]), imported)
        self.db.execute(
            "UPDATE contacts SET derived = ? WHERE id = ?",
            (json.dumps(merged, separators=(",", ":"), ensure_ascii=False), rid),
        )
        self.db.execute("INSERT OR IGNORE INTO dirty (contact_id) VALUES (?)", (rid,))
        result.people_merged += 1


def _checked(derived: Any) -> list[Any]:
    """A derived result as ``codec.encode_derived`` writes it, or ValueError."""
    if not (isinstance(derived, list) and len(derived) == 4 and isinstance(derived[1], list)):
        raise ValueError("derived must be [milestone, reached, disqualified, advocate]")
    if not isinstance(derived[0], int) or not 0 <= derived[0] <= 4:
        raise ValueError(f"milestone level {derived[0]!r} is not 0-4")
    for reached in derived[1]:
        level, on, _rule, _kind, _rid = reached
        if not isinstance(level, int) or not isinstance(on, str) or len(on) != 10:
            raise ValueError(f"reached entry {reached!r} is not [level, YYYY-MM-DD, ...]")
    return derived


def high_water(current: list[Any], imported: list[Any]) -> list[Any]:
    """High-water merge: every milestone either side reached, each at its earliest date."""
    by_level: dict[int, list[Any]] = {}
    for entry in [*current[1], *imported[1]]:
        kept = by_level.get(entry[0])
        if kept is None or entry[1] < kept[1]:
            by_level[entry[0]] = entry
    milestone = max(current[0], imported[0])
    return [milestone, [by_level[k] for k in sorted(by_level)], current[2], current[3]]
