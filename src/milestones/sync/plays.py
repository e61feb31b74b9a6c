"""Engine step 6: the plays. Tasks opened for the situations that ask, closed when they clear.

With no play enabled this step reads nothing and calls nothing. Otherwise, after the writes:

1. The tasks opened before and not yet closed are checked in one batch read (only when there
   are any): one the owner closed (or deleted) is ``done``.
2. Every live person in the mirror is read a chunk at a time and the plays' conditions are
   applied to them (``mapping.plays``; derive() runs again with the run's ``now``, as time
   alone moves people into a play).
3. A play still open whose situation cleared (the target replied) is completed in the CRM
   (``on_clear = "complete"``) or left to its owner (``"leave"``; it still blocks a second task).
4. New tasks go out in the connector's largest batches: at most one open task per person and
   play, none for a play closed for that person within ``reopen_after_days``, at most
   ``max_per_owner_per_day`` new ones per owner per day, none for a person without an owner
   (counted). Each created task is recorded with its id once the CRM has it.

A dry run stops before step 3 and only lists the tasks it would create.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from milestones.connectors.tasks import TaskApi
from milestones.mapping.derive import derive
from milestones.mapping.play_rules import Play, PlaysRules
from milestones.mapping.plays import TaskDraft, draft_tasks, lapse_horizon, situation_of
from milestones.mapping.records import Stage
from milestones.mapping.rules import MappingRules
from milestones.store.plays import Opened, PlayRow
from milestones.store.sqlite import Store
from milestones.sync.run import RunReport

log = logging.getLogger("milestones.sync")
DraftSink = Callable[[TaskDraft], None]


@dataclass(slots=True)
class PlayOutcome:
    """What one run's plays did; the figures also go into the run report."""

    opened: list[TaskDraft] = field(default_factory=list)
    would_open: list[TaskDraft] = field(default_factory=list)
    done: int = 0
    cleared: int = 0
    left: int = 0
    no_owner: int = 0
    capped: int = 0
    failed: int = 0
    already_open: int = 0
    resting: int = 0  # closed lately: not opened again before reopen_after_days

    def figures(self) -> dict[str, int]:
        """The outcome as named counts (``plays_opened``...)."""
        return {
            "plays_opened": len(self.opened),
            "plays_would_open": len(self.would_open),
            "plays_done": self.done,
            "plays_cleared": self.cleared,
            "plays_left": self.left,
            "plays_no_owner": self.no_owner,
            "plays_capped": self.capped,
            "plays_failed": self.failed,
        }


@dataclass(slots=True)
class PlayRunner:
    """Runs the plays against one store and one CRM's task API."""

    store: Store
    tasks: Callable[[], TaskApi]
    rules: MappingRules
    plays: PlaysRules
    chunk_size: int = 1_000

    def run(self, now: datetime, report: RunReport, *, dry_run: bool) -> PlayOutcome:
        """One pass of every enabled play (see the module docstring)."""
        outcome = PlayOutcome()
        enabled = self.plays.enabled()
        if not enabled:
            return outcome
        today = now.date()
        api = self.tasks()
        open_rows = self.store.plays.open_rows()
        if open_rows and not dry_run:
            open_rows = self._settle_closed(api, open_rows, today, outcome)
        open_keys = {(r.contact_id, r.play): r for r in open_rows}
        still_wanted: set[tuple[str, str]] = set()
        candidates = self._candidates(enabled, now, open_keys, still_wanted, outcome)
        if dry_run:
            outcome.would_open = candidates
        else:
            cleared = [r for key, r in open_keys.items() if key not in still_wanted]
            self._clear(api, cleared, today, outcome)
            self._open(api, candidates, today, report.run_id, outcome)
        for name, value in outcome.figures().items():
            if value:
                report.figures[name] = value
        if outcome.failed:  # a task the CRM refused is a record-level failure (exit 1)
            report.bump("failed", outcome.failed)
        return outcome

    def _settle_closed(
        self, api: TaskApi, rows: list[PlayRow], today: date, outcome: PlayOutcome
    ) -> list[PlayRow]:
        """One batch read of the open tasks; the closed or deleted ones are done."""
        ids = [r.task_id for r in rows if r.task_id]
        still_open = api.open_task_ids(ids) if ids else set()
        closed = [r for r in rows if r.task_id not in still_open]
        if closed:
            with self.store.transaction():
                self.store.plays.set_status([r.id for r in closed], "done", today)
            outcome.done += len(closed)
        return [r for r in rows if r.task_id in still_open]

    def _candidates(
        self,
        enabled: list[Play],
        now: datetime,
        open_keys: dict[tuple[str, str], PlayRow],
        still_wanted: set[tuple[str, str]],
        outcome: PlayOutcome,
    ) -> list[TaskDraft]:
        """Drafts for the people the plays apply to, within the per-owner cap."""
        today = now.date()
        horizon = lapse_horizon(enabled)
        people = self.store.people
        stages: dict[str, Stage] = people.stages()
        budget = self._budgets(today)
        resting = self.store.plays.closed_since(
            today - timedelta(days=self.plays.reopen_after_days)
        )
        drafts: list[TaskDraft] = []
        for ids in self.store.plays.person_ids(self.chunk_size):
            chunk = people.load(ids)
            since = self.store.plays.disqualified_since(ids)
            now_dq: list[str] = []
            requalified: list[str] = []
            for person in chunk.people:
                bundle = person.bundle
                derived = derive(bundle, stages, self.rules, now, person.prior)
                cid = bundle.contact.id
                if derived.is_disqualified and cid not in since:
                    now_dq.append(cid)
                elif not derived.is_disqualified and cid in since:
                    requalified.append(cid)
                situation = situation_of(
                    bundle,
                    derived,
                    stages,
                    self.rules,
                    now,
                    disqualified_on=since.get(cid),
                    lapse_horizon_days=horizon,
                )
                for draft in draft_tasks(enabled, situation, today, self.plays.subject_prefix):
                    key = (draft.contact_id, draft.play)
                    if key in open_keys:
                        still_wanted.add(key)
                        outcome.already_open += 1
                    elif key in resting:
                        outcome.resting += 1
                    elif draft.owner_id is None:
                        outcome.no_owner += 1
                    elif budget.get(draft.owner_id, self.plays.max_per_owner_per_day) <= 0:
                        outcome.capped += 1
                    else:
                        left = budget.get(draft.owner_id, self.plays.max_per_owner_per_day)
                        budget[draft.owner_id] = left - 1
                        drafts.append(draft)
            if now_dq or requalified:
                with self.store.transaction():
                    self.store.plays.note_disqualified(now_dq, requalified, today)
        return drafts

    def _budgets(self, today: date) -> dict[str, int]:
        cap = self.plays.max_per_owner_per_day
        opened = self.store.plays.opened_per_owner(today)
        return {owner: cap - n for owner, n in opened.items() if owner is not None}

    def _clear(self, api: TaskApi, rows: list[PlayRow], today: date, outcome: PlayOutcome) -> None:
        """Situations that cleared: complete their tasks, or leave them to their owners."""
        if not rows:
            return
        if self.plays.on_clear == "leave":
            fresh = [r for r in rows if r.status != "left"]
            with self.store.transaction():
                self.store.plays.set_status([r.id for r in fresh], "left", today)
            outcome.left += len(fresh)
            return
        targets = [r for r in rows if r.task_id]
        results = api.complete_tasks([str(r.task_id) for r in targets])
        completed = [r.id for r, res in zip(targets, results, strict=True) if res.ok]
        for row, res in zip(targets, results, strict=True):
            if not res.ok:
                log.warning(
                    "play %s: task %s not completed: %s", row.play, row.task_id, res.message
                )
                outcome.failed += 1
        with self.store.transaction():
            self.store.plays.set_status(completed, "cleared", today)
        outcome.cleared += len(completed)

    def _open(
        self,
        api: TaskApi,
        drafts: Sequence[TaskDraft],
        today: date,
        run_id: int,
        outcome: PlayOutcome,
    ) -> None:
        if not drafts:
            return
        results = api.create_tasks(drafts)
        opened: list[Opened] = []
        for draft, res in zip(drafts, results, strict=True):
            if res.ok and res.task_id is not None:
                opened.append(
                    Opened(
                        draft.contact_id, draft.play, draft.owner_id, res.task_id, draft.milestone
                    )
                )
                outcome.opened.append(draft)
            else:
                log.warning("play %s for %s: %s", draft.play, draft.contact_id, res.message)
                outcome.failed += 1
        with self.store.transaction():
            self.store.plays.record_opened(opened, today, run_id)
