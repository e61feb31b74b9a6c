"""The account roll-up: which business a person belongs to, and the milestone of the business.

The seed's targets are businesses. A person's account is the CRM's own company record when
there is one (HubSpot: the contact's primary associated company, ``associatedcompanyid``;
Salesforce: ``Contact.AccountId``, or a Lead's ``ConvertedAccountId``). A person without one
is grouped with the others of the same email domain and company name, free-mail domains
left out (gmail.com says nothing about an employer). Such a group has no CRM record to write
to: it is reported, never written.

An account holds the furthest milestone any of its people holds, reached on the earliest day
one of them reached it (that person *carries* it), the count of current advocates and of
people at prospect or beyond. Pure: no I/O, the people's derived results are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from milestones.mapping.fields import FieldKey
from milestones.mapping.records import Contact, Milestone

if TYPE_CHECKING:  # the rules are read here, built by the config
    from milestones.mapping.account_rules import AccountRules

GROUP_PREFIX = "domain:"
LABEL_LIMIT = 120  # characters of a company name kept in a group's key (anyone can type one)


@dataclass(frozen=True, slots=True)
class Member:
    """One person's part in their account: their milestone, its date, whether an advocate."""

    person_id: str
    milestone: Milestone
    reached_on: str | None = None  # YYYY-MM-DD
    is_advocate: bool = False


@dataclass(frozen=True, slots=True)
class AccountRollup:
    """An account's derived values; ``carrier`` is the person who holds its milestone."""

    account_id: str
    milestone: Milestone
    milestone_date: str | None
    advocates: int
    engaged: int
    people: int
    carrier: str | None

    @property
    def is_crm_record(self) -> bool:
        """False for a domain group: reported, never written."""
        return not self.account_id.startswith(GROUP_PREFIX)

    def fields(self) -> dict[FieldKey, str | None]:
        """The account fields under their canonical keys, as CRM-ready strings."""
        return {
            "account_milestone": self.milestone.label,
            "account_milestone_date": self.milestone_date,
            "account_advocates": str(self.advocates),
            "account_contacts_engaged": str(self.engaged),
        }


def email_domain(email: str | None) -> str | None:
    """The lower-case domain of an address, or None."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower().rstrip(".")
    return domain[:253] or None  # the longest a DNS name can be


def account_of(contact: Contact, rules: AccountRules, company_property: str | None) -> str | None:
    """The account a person belongs to: the CRM company id, a domain group key, or None."""
    if contact.is_deleted or contact.converted_to:
        return None  # a converted Lead counts through the Contact it became
    if contact.company_id:
        return contact.company_id
    if not rules.group_by_domain:
        return None
    domain = email_domain(contact.email)
    if domain is None or domain in rules.free_mail_domains:
        return None
    name = contact.properties.get(company_property) if company_property else None
    label = " ".join((name or "").lower().split())[:LABEL_LIMIT]
    return f"{GROUP_PREFIX}{domain}|{label}" if label else f"{GROUP_PREFIX}{domain}"


def roll_up(account_id: str, members: Sequence[Member]) -> AccountRollup:
    """The account's milestone (the furthest any member holds, on the earliest day one of
    them reached it), its advocates and its people at prospect or beyond."""
    top = max((m.milestone for m in members), default=Milestone.TARGET)
    holders = sorted(
        (m for m in members if m.milestone == top),
        key=lambda m: (m.reached_on is None, m.reached_on or "", m.person_id),
    )
    carrier = holders[0] if holders else None
    return AccountRollup(
        account_id=account_id,
        milestone=top,
        milestone_date=carrier.reached_on if carrier and top > Milestone.TARGET else None,
        advocates=sum(1 for m in members if m.is_advocate),
        engaged=sum(1 for m in members if m.milestone >= Milestone.PROSPECT),
        people=len(members),
        carrier=carrier.person_id if carrier else None,
    )
