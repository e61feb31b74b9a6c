"""Engine step 3b: roll the people derived in this run up to their accounts, and plan writes.

Only accounts touched by a change are derived again: the people derived in a chunk are
marked in that chunk's transaction (``store.accounts.mark_people``); here each marked
person's account is found (``mapping.accounts.account_of``), their member row replaced, and
every account they left or joined rolled up from its member rows. The plan compares the
roll-up with the values last written to the company or Account, so a rerun writes nothing
and no call is spent on an unchanged account. Domain groups (people without a CRM company)
are stored for the report and never written. One transaction per chunk of people.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from milestones.mapping.account_rules import AccountRules
from milestones.mapping.accounts import AccountRollup, Member, account_of, roll_up
from milestones.mapping.fields import ACCOUNT_FIELDS, Change, FieldKey
from milestones.store.accounts import AccountMember, AccountPerson, StoredAccount
from milestones.store.sqlite import Store
from milestones.sync.plan import diff_fields
from milestones.sync.run import Checkpoints, Clock, RunReport

log = logging.getLogger("milestones.sync")
Sink = Callable[[Change], None]


def plan_account(
    rollup: AccountRollup, current: dict[str, str | None], keys: set[FieldKey]
) -> Change | None:
    """The write an account needs, or None (a domain group is never written)."""
    if not rollup.is_crm_record:
        return None
    wanted = {k: v for k, v in rollup.fields().items() if k in keys}
    changed = diff_fields(wanted, current)
    return Change("account", rollup.account_id, changed) if changed else None


@dataclass(slots=True)
class AccountDeriver:
    """Derives the accounts of the people marked since the last roll-up."""

    store: Store
    rules: AccountRules
    names: dict[FieldKey, str]
    company_property: str | None
    chunk_size: int
    clock: Clock
    checkpoints: Checkpoints

    def derive_accounts(self, report: RunReport, sink: Sink | None) -> None:
        """Roll every marked person's old and new account up again; plan their writes."""
        accounts = self.store.accounts
        if sink is None:
            with self.store.transaction():
                if accounts.seed():
                    log.info("accounts: first roll-up, every person is counted once")
                accounts.mark_converted()
        keys = {k for k in ACCOUNT_FIELDS if k in self.names}
        for ids in accounts.dirty_people(self.chunk_size):
            people = accounts.people(ids)
            before = accounts.memberships(ids)
            joined = self._members(people)
            touched = sorted(set(before.values()) | {m.account_id for m in joined})
            removed = [pid for pid in before if pid not in {m.member.person_id for m in joined}]
            rollups, changes = self._roll_up(touched, joined, removed, keys)
            report.bump("accounts", len(rollups))
            report.bump("changed", len(changes))
            if sink is not None:
                for change in changes:
                    sink(change)
                continue
            with self.store.transaction():
                accounts.save_members(joined, removed)
                accounts.save_rollups(rollups, ids)
                self.store.outbox.plan(changes, report.run_id, self.clock().isoformat())
            self.checkpoints.crash.point("chunk")
            self.checkpoints.check_stop()

    def _members(self, people: list[AccountPerson]) -> list[AccountMember]:
        found = []
        for person in people:
            account_id = account_of(person.contact, self.rules, self.company_property)
            if account_id is None or person.derived is None:
                continue
            derived = person.derived
            reached = derived.reached_on
            member = Member(
                person.contact.id,
                derived.milestone,
                reached.isoformat() if reached else None,
                derived.is_advocate,
            )
            found.append(AccountMember(account_id, member, person.contact.owner_id))
        return found

    def _roll_up(
        self,
        touched: list[str],
        joined: list[AccountMember],
        removed: list[str],
        keys: set[FieldKey],
    ) -> tuple[list[AccountRollup], list[Change]]:
        """Each touched account from its member rows as they will be after this chunk."""
        rows = self.store.accounts.members(touched)
        moved = {m.member.person_id for m in joined} | set(removed)
        for account_id in rows:
            rows[account_id] = [m for m in rows[account_id] if m.member.person_id not in moved]
        for m in joined:
            rows.setdefault(m.account_id, []).append(m)
        stored: dict[str, StoredAccount] = self.store.accounts.stored(touched)
        rollups, changes = [], []
        for account_id in touched:
            rollup = roll_up(account_id, [m.member for m in rows.get(account_id, [])])
            rollups.append(rollup)
            held = stored.get(account_id)
            change = plan_account(rollup, held.crm if held else {}, keys)
            if change is not None:
                changes.append(change)
        return rollups, changes
