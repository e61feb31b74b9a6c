"""Engine step 3: derive the dirty people and deals in chunks and persist what they need.

Each chunk is one transaction: the new results (the next run's ``prior``), the ledger rows
of newly reached milestones (unique per record and milestone, so a rerun adds none), the
writes the plan asks for (kept in the outbox before anything is sent), and the chunk's
removal from the dirty set. A dry run derives the same way and hands the plan to a sink
instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from milestones.mapping.derive import Derived, deal_milestone, derive, redate
from milestones.mapping.fields import Change, FieldKey, ObjectKind
from milestones.mapping.records import Milestone
from milestones.mapping.rules import MappingRules
from milestones.store.rows import LedgerEntry
from milestones.store.sqlite import Store
from milestones.sync.likelihood import LIKELIHOOD_KEY
from milestones.sync.plan import plan_deal, plan_person
from milestones.sync.run import Checkpoints, Clock, RunReport

log = logging.getLogger("milestones.sync")
Sink = Callable[[Change], None]
_LABELS = {int(m): m.label for m in Milestone}  # by level: ``Milestone.label`` once per run


@dataclass(slots=True)
class Deriver:
    """Derives what is dirty, a chunk at a time, and plans the writes it needs."""

    store: Store
    rules: MappingRules
    names: Mapping[FieldKey, str]
    objects: frozenset[ObjectKind]  # the object kinds written back
    chunk_size: int
    clock: Clock
    checkpoints: Checkpoints
    bands: Mapping[str, str] | None = None  # likelihood bands to plan, when written back
    track_accounts: bool = False  # mark each derived person for the account roll-up
    by_parent: bool = True  # group people's writes under their company (the connector's say)

    def derive_people(
        self, now: datetime, report: RunReport, sink: Sink | None, rebuild: bool = False
    ) -> None:
        """Derive every dirty person; persist results, ledger rows and planned writes.

        ``rebuild``: date each person's milestones from the evidence as it stands (not only
        ever earlier, as a high-water mark does), keep every milestone reached, and re-date
        the ledger's rows to match (``redated`` counts the dates that changed).
        """
        people = self.store.people
        stages = people.stages()
        if rebuild:
            report.figures.setdefault("redated", 0)
        with self.store.transaction():
            people.redirect_converted_leads()
        for ids in people.dirty_people(self.chunk_size):
            chunk = people.load(ids)
            recorded_at = self.clock().isoformat()  # the chunk's rows are stored together
            results: list[Derived] = []
            ledger: list[LedgerEntry] = []
            changes: list[Change] = []
            settled = [(kind, rid) for rid in chunk.skipped for kind in ("contact", "lead")]
            redated: list[LedgerEntry] = []
            for person in chunk.people:
                contact = person.bundle.contact
                prior = person.prior
                if rebuild and prior is not None:
                    fresh = derive(person.bundle, stages, self.rules, now)
                    prior = redate(prior, fresh)
                result = derive(person.bundle, stages, self.rules, now, prior)
                for warning in result.warnings:  # unreadable input the rules had to ignore
                    log.warning("%s %s: %s", contact.kind, contact.id, warning)
                results.append(result)
                if rebuild:
                    redated.extend(self._ledger_entries(result, None, report.run_id, recorded_at))
                elif result.reached:  # a target has nothing in the ledger
                    ledger.extend(
                        self._ledger_entries(result, person.prior, report.run_id, recorded_at)
                    )
                extra: dict[FieldKey, str | None] | None = None
                if self.bands is not None:
                    extra = {LIKELIHOOD_KEY: self.bands.get(contact.id)}
                change = plan_person(contact, result, person.crm, self.names, extra, self.by_parent)
                if change is not None and change.object_kind not in self.objects:
                    change = None  # e.g. Salesforce Leads with [writeback] leads = false
                if change is None:
                    settled.append((contact.kind, contact.id))
                else:
                    changes.append(change)
            self._finish_chunk(
                report,
                sink,
                partial(self._save_people, results, ids, redated, report),
                ledger,
                changes,
                settled,
            )

    def _save_people(
        self, results: list[Derived], ids: list[str], redated: list[LedgerEntry], report: RunReport
    ) -> None:
        """The chunk's results and re-dated ledger rows; with accounts on, its people wait for
        their account's turn."""
        self.store.people.save_people(results, ids)
        if self.track_accounts:
            self.store.accounts.mark_people(ids)
        if redated:
            report.bump("redated", self.store.ledger.redate(redated))

    def derive_deals(self, report: RunReport, sink: Sink | None) -> None:
        """Each dirty deal's milestone, kept as a high-water mark, planned like the people."""
        people = self.store.people
        stages = people.stages()
        for ids in people.dirty_deals(self.chunk_size):
            levels: dict[str, int | None] = {}
            ledger: list[LedgerEntry] = []
            changes: list[Change] = []
            found = people.deals(ids)
            live = {stored.deal.id for stored in found}
            settled = [("deal", rid) for rid in ids if rid not in live]  # deleted since planned
            recorded_at = self.clock().isoformat()
            for stored in found:
                deal, prior = stored.deal, stored.level
                level = deal_milestone(deal, stages, self.rules)  # kept as a high-water mark:
                if prior is not None and (level is None or level < prior):
                    level = Milestone(prior)
                levels[deal.id] = None if level is None else int(level)
                if level is not None and (prior is None or level > prior):
                    ledger.append(
                        self._entry(
                            "deal",
                            deal.id,
                            prior,
                            level,
                            None,
                            f"stage {deal.stage_id}",
                            report.run_id,
                            recorded_at,
                        )
                    )
                change = plan_deal(deal, level, stored.crm)
                if "deal" not in self.objects:
                    change = None
                if change is None:
                    settled.append(("deal", deal.id))
                else:
                    changes.append(change)
            self._finish_chunk(
                report, sink, partial(people.save_deals, levels, ids), ledger, changes, settled
            )

    def _finish_chunk(
        self,
        report: RunReport,
        sink: Sink | None,
        save_results: Callable[[], None],
        ledger: list[LedgerEntry],
        changes: list[Change],
        settled: list[tuple[str, str]],
    ) -> None:
        """Plan only (``sink``), or commit a chunk's results, ledger rows, planned writes and
        settled writes in one transaction, then pass the chunk's checkpoint."""
        report.bump("changed", len(changes))
        if sink is not None:
            for change in changes:
                sink(change)
            return
        with self.store.transaction():
            save_results()  # the results, and the chunk's removal from the dirty set
            self.store.ledger.add(ledger)
            self.store.outbox.plan(changes, report.run_id, self.clock().isoformat())
            self.store.outbox.settle(settled)
        self.checkpoints.crash.point("chunk")
        self.checkpoints.check_stop()

    def _entry(
        self,
        kind: str,
        record_id: str,
        from_level: int | None,
        to_level: Milestone,
        on: str | None,
        evidence: str,
        run_id: int,
        recorded_at: str,
        basis: str | None = None,
    ) -> LedgerEntry:
        start = _LABELS[0 if from_level is None else from_level]
        return LedgerEntry(
            kind, record_id, start, _LABELS[to_level], on, evidence, run_id, recorded_at, basis
        )

    def _ledger_entries(
        self, result: Derived, prior: Derived | None, run_id: int, recorded_at: str
    ) -> list[LedgerEntry]:
        """One entry per milestone reached since ``prior``, each from the one below it."""
        before = set(prior.reached) if prior is not None else set()
        new = sorted(level for level in result.reached if level not in before)
        entries = []
        previous: int = int(prior.milestone) if prior is not None else 0
        for level in new:
            evidence = result.reached[level]
            entries.append(
                self._entry(
                    "contact",
                    result.contact_id,
                    previous,
                    level,
                    evidence.on.isoformat(),
                    f"{evidence.rule} ({evidence.record_kind} {evidence.record_id})",
                    run_id,
                    recorded_at,
                    evidence.basis,
                )
            )
            previous = max(previous, int(level))
        return entries
