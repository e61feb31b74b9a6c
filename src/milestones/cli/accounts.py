"""``explain`` for an account: its milestone, the person who carries it, and its people.

Reads the state only (the roll-up's rows, no API call). A company or Account id explains the
CRM record; a domain group (``domain:acme.example|acme``) is explained the same way, and says
that it is reported, never written.
"""

from __future__ import annotations

from typing import Any

from milestones.mapping.records import Milestone
from milestones.store import codec
from milestones.store.sqlite import Store
from milestones.text import MESSAGE_LIMIT, NAME_LIMIT, printable

MEMBERS_SHOWN = 25


def explain_account(state: Store, account_id: str) -> dict[str, Any] | None:
    """What ``explain`` shows for an account, or None when the state has no such account."""
    stored = state.accounts.stored([account_id]).get(account_id)
    if stored is None:
        return None
    rollup = stored.rollup
    rows = state.accounts.members([account_id]).get(account_id, [])
    found = state.accounts.people([r.member.person_id for r in rows])
    people = {p.contact.id: p.contact for p in found}
    members = sorted(rows, key=lambda r: (-int(r.member.milestone), r.member.reached_on or ""))
    pending = state.outbox.of(account_id) if rollup.is_crm_record else None
    carrier = people.get(rollup.carrier or "")
    return {
        "id": account_id,
        "kind": "account",
        "is_crm_record": rollup.is_crm_record,
        "account_milestone": rollup.milestone.label,
        "account_milestone_date": rollup.milestone_date,
        "advocates": rollup.advocates,
        "contacts_engaged": rollup.engaged,
        "people_count": rollup.people,
        "carried_by": None
        if rollup.carrier is None
        else {"id": rollup.carrier, "name": carrier.name if carrier else rollup.carrier},
        "people": [
            {
                "id": r.member.person_id,
                "name": people[r.member.person_id].name
                if r.member.person_id in people
                else r.member.person_id,
                "milestone": r.member.milestone.label,
                "reached_on": r.member.reached_on,
                "is_advocate": r.member.is_advocate,
                "owner_id": r.owner_id,
            }
            for r in members
        ],
        "fields_in_crm": stored.crm,
        "pending_write": None
        if pending is None
        else {
            "status": pending.status,
            "fields": codec.decode_values(pending.fields),
            "message": pending.message,
        },
    }


def account_text(data: dict[str, Any]) -> list[str]:
    """``explain``'s lines for an account."""
    since = f" since {data['account_milestone_date']}" if data["account_milestone_date"] else ""
    lines = [
        f"account {printable(data['id'], NAME_LIMIT)}: {data['account_milestone']}{since}",
        f"  {data['people_count']} people, {data['contacts_engaged']} at prospect or beyond, "
        f"{data['advocates']} advocates",
    ]
    carrier = data["carried_by"]
    if carrier is not None and data["account_milestone"] != "target":
        lines.append(
            f"  carried by {printable(carrier['name'], NAME_LIMIT)} ({carrier['id']}): "
            f"milestones explain {carrier['id']}"
        )
    if not data["is_crm_record"]:
        lines.append("  a group by email domain and company name: reported, never written")
    lines.append("  people:")
    for person in data["people"][:MEMBERS_SHOWN]:
        when = f" {person['reached_on']}" if person["reached_on"] else ""
        flag = " (advocate)" if person["is_advocate"] else ""
        lines.append(
            f"    {person['milestone']:<12}{when:<11} {printable(person['name'], NAME_LIMIT)} "
            f"({person['id']}){flag}"
        )
    if len(data["people"]) > MEMBERS_SHOWN:
        lines.append(f"    ... and {len(data['people']) - MEMBERS_SHOWN} more (--json lists all)")
    if data["is_crm_record"]:
        lines.append(
            "  fields in the CRM: "
            + ", ".join(f"{k}={printable(v, NAME_LIMIT)}" for k, v in data["fields_in_crm"].items())
        )
    if data["pending_write"]:
        p = data["pending_write"]
        lines.append(
            f"  write {p['status']}: {p['fields']} {printable(p['message'] or '', MESSAGE_LIMIT)}"
        )
    return lines


def account_funnel(state: Store) -> dict[str, int]:
    """Businesses that reached at least each milestone (``demo``), from the roll-up's rows."""
    reached = dict.fromkeys((m.label for m in Milestone), 0)
    for account in state.accounts.all():
        for level in Milestone:
            if level <= account.rollup.milestone:
                reached[level.label] += 1
    return reached


def account_funnel_lines(reached: dict[str, int]) -> list[str]:
    """``demo``'s account funnel, drawn like the people's."""
    total = reached.get(Milestone.TARGET.label) or 1
    lines = ["account funnel (businesses where someone reached at least each milestone):"]
    for level in Milestone:
        count = reached.get(level.label, 0)
        lines.append(f"  {level.label:<12} {count:>6}  {'#' * round(40 * count / total)}")
    return lines


def example_account(state: Store) -> str | None:
    """The CRM account with the most people at its furthest milestone, for ``explain``."""
    found = [a.rollup for a in state.accounts.all() if a.rollup.is_crm_record]
    best = max(found, key=lambda r: (r.milestone, r.people, r.account_id), default=None)
    return None if best is None else best.account_id
