"""The report's account section: the funnel by business, and target accounts nobody contacted.

Built from the roll-up's rows in the state (``[accounts] enabled``): how many businesses stand
at each milestone now and how many reached it (an account at client reached prospect and
opportunity too), and, per owner, the target accounts none of whose people has been touched
(no email, call or meeting logged). An account's owner is the owner most of its people have
(companies and Accounts themselves are not read). Text, JSON and HTML render the same data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

from milestones.mapping.records import Milestone
from milestones.store.accounts import ACCOUNTS_SCHEMA
from milestones.store.sqlite import Store
from milestones.text import NAME_LIMIT, printable

UNASSIGNED = "unassigned"
SHOWN = 10


@dataclass(slots=True)
class AccountStep:
    """One milestone of the account funnel: businesses there now, and that reached it."""

    milestone: str
    now: int = 0
    reached: int = 0


@dataclass(slots=True)
class UntouchedAccount:
    """A target account nobody has contacted: its id, its people, one of their names."""

    id: str
    people: int
    example: str
    is_crm_record: bool


@dataclass(slots=True)
class OwnerUntouched:
    """One owner's target accounts nobody has contacted."""

    owner: str
    count: int
    accounts: list[UntouchedAccount] = field(default_factory=list)


@dataclass(slots=True)
class AccountsView:
    """The businesses: counts, the funnel by account, untouched target accounts per owner."""

    accounts: int = 0
    crm_records: int = 0
    domain_groups: int = 0
    funnel: list[AccountStep] = field(default_factory=list)
    untouched_targets: int = 0
    untouched_by_owner: list[OwnerUntouched] = field(default_factory=list)


def build_accounts(store: Store, untouched_people: set[str]) -> AccountsView | None:
    """The account section, or None when the state holds no roll-up (accounts off).

    ``untouched_people`` are the targets with no touch logged (from the report's target pass).
    """
    if store.version < ACCOUNTS_SCHEMA:  # a state file read (never migrated) by the report
        return None
    stored = store.accounts.all()
    if not stored:
        return None
    view = AccountsView(funnel=[AccountStep(m.label) for m in Milestone])
    members = store.accounts.members([s.rollup.account_id for s in stored])
    by_owner: dict[str, list[UntouchedAccount]] = {}
    for account in stored:
        rollup = account.rollup
        view.accounts += 1
        view.crm_records += int(rollup.is_crm_record)
        view.domain_groups += int(not rollup.is_crm_record)
        view.funnel[rollup.milestone].now += 1
        for level in range(int(rollup.milestone) + 1):
            view.funnel[level].reached += 1
        rows = members.get(rollup.account_id, [])
        if rollup.milestone is not Milestone.TARGET or not rows:
            continue
        if any(r.member.person_id not in untouched_people for r in rows):
            continue
        owners = Counter(r.owner_id or UNASSIGNED for r in rows)
        owner = min(owners, key=lambda o: (-owners[o], o))
        names = store.accounts.people([rows[0].member.person_id])
        example = names[0].contact.name if names else rows[0].member.person_id
        by_owner.setdefault(owner, []).append(
            UntouchedAccount(rollup.account_id, len(rows), example, rollup.is_crm_record)
        )
    view.untouched_targets = sum(len(v) for v in by_owner.values())
    view.untouched_by_owner = [
        OwnerUntouched(owner, len(found), found)
        for owner, found in sorted(by_owner.items(), key=lambda kv: (kv[0] == UNASSIGNED, kv[0]))
    ]
    return view


def account_lines(view: AccountsView, label: Callable[[str], str] = str) -> list[str]:
    """The section as lines of text."""
    lines = [
        f"ACCOUNTS: {view.accounts} businesses by the furthest milestone of their people "
        f"({view.crm_records} CRM records, {view.domain_groups} grouped by email domain)",
    ]
    lines.append(f"  {'milestone':<12} {'now':>6} {'reached':>8}")
    for step in view.funnel:
        lines.append(f"  {step.milestone:<12} {step.now:>6} {step.reached:>8}")
    lines.append("")
    lines.append(f"TARGET ACCOUNTS NOBODY HAS CONTACTED: {view.untouched_targets}")
    for group in view.untouched_by_owner:
        lines.append(f"  {printable(label(group.owner), NAME_LIMIT)}: {group.count}")
        for account in group.accounts[:SHOWN]:
            kind = "" if account.is_crm_record else " (domain group)"
            lines.append(
                f"    {printable(account.id, NAME_LIMIT)}{kind}: {account.people} people, "
                f"e.g. {printable(account.example, NAME_LIMIT)}"
            )
        if group.count > SHOWN:
            lines.append(f"    ... and {group.count - SHOWN} more (--json lists all)")
    return lines


def account_html(view: AccountsView, label: Callable[[str], str] = str) -> str:
    """The section as HTML (every value escaped)."""
    rows = "".join(
        f'<tr><td>{escape(s.milestone)}</td><td class="n"><span data-key="accounts.funnel.'
        f'{escape(s.milestone)}.now">{s.now}</span></td><td class="n">{s.reached}</td></tr>'
        for s in view.funnel
    )
    parts = [
        '<h2 id="accounts">Accounts</h2>',
        f'<p class="muted">{view.accounts} businesses by the furthest milestone of their people '
        f"({view.crm_records} CRM records, {view.domain_groups} grouped by email domain).</p>",
        f'<table><tr><th>milestone</th><th class="n">now</th><th class="n">reached</th></tr>'
        f"{rows}</table>",
        f"<h3>Target accounts nobody has contacted: "
        f'<span data-key="accounts.untouched_targets">{view.untouched_targets}</span></h3>',
    ]
    items: list[str] = []
    for group in view.untouched_by_owner:
        accounts = ", ".join(_account_html(a) for a in group.accounts[:SHOWN])
        more = f" and {group.count - SHOWN} more" if group.count > SHOWN else ""
        items.append(f"<li>{escape(label(group.owner))}: {group.count} ({accounts}{more})</li>")
    parts.append(f"<ul>{''.join(items)}</ul>" if items else '<p class="muted">None.</p>')
    return "\n".join(parts)


def _account_html(account: UntouchedAccount) -> str:
    return f"{escape(account.id)} ({account.people} people, e.g. {escape(account.example)})"
