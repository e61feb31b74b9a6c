"""Engine step 3: derive the dirty people and deals in chunks and persist what they need.

Each chunk is one transaction: the new results (the next run's ``prior``), the ledger rows
of newly reached milestones (unique per record and milestone, so a rerun adds none), the
writes the plan asks for (persisted before anything is sent), and the chunk's removal from
the dirty set. A dry run derives the same way and hands the plan to a sink instead.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from milestones.connectors.base import Change
from milestones.mapping.derive import Derived, deal_milestone, derive
from milestones.mapping.records import Milestone
from milestones.sync import codec
from milestones.sync.bundles import (
    dirty_chunks,
    load_deals,
    load_people,
    load_stages,
    redirect_converted_leads,
)
from milestones.sync.plan import plan_deal, plan_person
from milestones.sync.state import utcnow

if TYPE_CHECKING:
    from milestones.sync.engine import Engine, RunReport

log = logging.getLogger("milestones.sync")
Sink = Callable[[Change], None]
_IDS = "(SELECT value FROM json_each(?))"


def derive_people(engine: Engine, now: datetime, report: RunReport, sink: Sink | None) -> None:
    """Derive every dirty person; persist results, ledger rows and planned writes."""
    db = engine.state.db
    stages = load_stages(db)
    rules, names = engine.rules, engine.names
    with engine.state.transaction():
        redirect_converted_leads(db)
    for ids in dirty_chunks(db, "dirty", "contact_id", engine.chunk_size):
        chunk = load_people(db, ids)
        derived_rows: list[tuple[str, str]] = []
        ledger: list[tuple[Any, ...]] = []
        changes: list[Change] = []
        settled = [(kind, rid) for rid in chunk.skipped for kind in ("contact", "lead")]
        for person in chunk.people:
            contact = person.bundle.contact
            result = derive(person.bundle, stages, rules, now, person.prior)
            for warning in result.warnings:  # unreadable input the rules had to ignore
                log.warning("%s %s: %s", contact.kind, contact.id, warning)
            derived_rows.append((codec.encode_derived(result), contact.id))
            ledger.extend(_ledger_rows(result, person.prior, report.run_id))
            change = plan_person(contact, result, person.crm, names)
            if change is not None and change.object_kind not in engine.objects:
                change = None  # e.g. Salesforce Leads with [writeback] leads = false
            if change is None:
                settled.append((contact.kind, contact.id))
            else:
                changes.append(change)
        _finish_chunk(
            engine,
            report,
            sink,
            ("contacts", "dirty", "contact_id"),
            ids,
            derived_rows,
            ledger,
            changes,
            settled,
        )


def derive_deals(engine: Engine, report: RunReport, sink: Sink | None) -> None:
    """Each dirty deal's milestone, kept as a high-water mark, planned like the people."""
    db = engine.state.db
    stages = load_stages(db)
    for ids in dirty_chunks(db, "dirty_deals", "deal_id", engine.chunk_size):
        derived_rows: list[tuple[int | None, str]] = []
        ledger: list[tuple[Any, ...]] = []
        changes: list[Change] = []
        found = load_deals(db, ids)
        live = {deal.id for deal, _, _ in found}
        settled = [("deal", rid) for rid in ids if rid not in live]  # deleted since planned
        for deal, prior, crm in found:
            current = deal_milestone(deal, stages, engine.rules)
            level = max(
                (
                    m
                    for m in (current, None if prior is None else Milestone(prior))
                    if m is not None
                ),
                default=None,
            )
            derived_rows.append((None if level is None else int(level), deal.id))
            if level is not None and (prior is None or level > prior):
                ledger.append(
                    _ledger_row(
                        "deal", deal.id, prior, level, None, f"stage {deal.stage_id}", report.run_id
                    )
                )
            change = plan_deal(deal.id, level, crm)
            if "deal" not in engine.objects:
                change = None
            if change is None:
                settled.append(("deal", deal.id))
            else:
                changes.append(change)
        _finish_chunk(
            engine,
            report,
            sink,
            ("deals", "dirty_deals", "deal_id"),
            ids,
            derived_rows,
            ledger,
            changes,
            settled,
        )


def _finish_chunk(
    engine: Engine,
    report: RunReport,
    sink: Sink | None,
    tables: tuple[str, str, str],
    ids: list[str],
    derived_rows: list[Any],
    ledger: list[tuple[Any, ...]],
    changes: list[Change],
    settled: list[tuple[str, str]],
) -> None:
    """Plan only (``sink``), or commit a chunk's results, ledger, writes and dirty marks at once.

    ``tables`` names the mirror table, its dirty table and that table's id column; they are
    fixed strings from this module, never user input.
    """
    report.bump("changed", len(changes))
    if sink is not None:
        for change in changes:
            sink(change)
        return
    table, dirty, column = tables
    db = engine.state.db
    with engine.state.transaction():
        db.executemany(f"UPDATE {table} SET derived = ? WHERE id = ?", derived_rows)
        _save(db, ledger, changes, settled, report.run_id)
        db.execute(f"DELETE FROM {dirty} WHERE {column} IN {_IDS}", (codec.dumps(ids),))
    engine.crash.point("chunk")
    engine.check_stop()


def _ledger_row(
    kind: str,
    record_id: str,
    from_level: int | None,
    to_level: Milestone,
    on: str | None,
    evidence: str,
    run_id: int,
) -> tuple[Any, ...]:
    start = Milestone.TARGET if from_level is None else Milestone(from_level)
    return (
        kind,
        record_id,
        start.label,
        to_level.label,
        on,
        evidence,
        run_id,
        utcnow().isoformat(),
    )


def _ledger_rows(result: Derived, prior: Derived | None, run_id: int) -> list[tuple[Any, ...]]:
    """One row per milestone reached since ``prior``, each from the one below it."""
    before = set(prior.reached) if prior is not None else set()
    new = sorted(level for level in result.reached if level not in before)
    if not new:
        return []
    rows = []
    previous: int = int(prior.milestone) if prior is not None else 0
    for level in new:
        evidence = result.reached[level]
        rows.append(
            _ledger_row(
                "contact",
                result.contact_id,
                previous,
                level,
                evidence.on.isoformat(),
                f"{evidence.rule} ({evidence.record_kind} {evidence.record_id})",
                run_id,
            )
        )
        previous = max(previous, int(level))
    return rows


def _save(
    db: sqlite3.Connection,
    ledger: list[tuple[Any, ...]],
    changes: list[Change],
    settled: list[tuple[str, str]],
    run_id: int,
) -> None:
    """Ledger rows, planned writes (before they are sent), and writes no longer needed."""
    if ledger:
        db.executemany(
            "INSERT OR IGNORE INTO ledger (record_kind, record_id, from_milestone, to_milestone, "
            "reached_on, evidence, run_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ledger,
        )
    if changes:
        stamp = utcnow().isoformat()
        db.executemany(
            "INSERT INTO writes (object_kind, record_id, grp, fields, run_id, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(object_kind, record_id) DO UPDATE SET "
            "grp = excluded.grp, fields = excluded.fields, status = 'pending', "
            "is_retryable = 1, run_id = excluded.run_id, updated_at = excluded.updated_at",
            [
                (
                    c.object_kind,
                    c.record_id,
                    c.group or "",
                    codec.encode_values(c.fields),
                    run_id,
                    stamp,
                )
                for c in changes
            ],
        )
    if settled:
        db.executemany("DELETE FROM writes WHERE object_kind = ? AND record_id = ?", settled)
