"""Canonical, provider-neutral records: what every connector yields and derive() reads.

Connectors translate each vendor's wire format into these types (and back); nothing here
knows HubSpot or Salesforce. Property values keep the vendor's own names in ``properties``
(the config names the ones the rules read, such as the NPS score), always as strings or None,
the way both CRMs return them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Literal, TypeVar

_T = TypeVar("_T")

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform

    @dataclass_transform(frozen_default=True, field_specifiers=(field,))
    def record(cls: type[_T]) -> type[_T]:
        """A canonical record: a frozen, slotted dataclass to the type checker."""

else:

    def record(cls: type[_T]) -> type[_T]:
        """A canonical record: a slotted dataclass, hashable like a frozen one.

        Records are never changed after they are built (``dataclasses.replace`` makes a new
        one); the type checker holds every caller to that, as for a frozen dataclass. At run
        time they are not frozen: a frozen dataclass sets each field through
        ``object.__setattr__``, which doubles the cost of building one (2.6 against 1.2 us
        for an Activity), and a full sync builds each record two or three times.
        """
        return dataclass(slots=True, unsafe_hash=True)(cls)


class Milestone(IntEnum):
    """The four sales milestones, in order, plus the starting point ``TARGET``."""

    TARGET = 0
    PROSPECT = 1
    OPPORTUNITY = 2
    CLIENT = 3
    ADVOCATE = 4

    @property
    def label(self) -> str:
        """The lower-case name written to the CRM (``prospect``)."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Milestone:
        """Read a milestone from its label; ``ValueError`` names the valid ones."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            valid = ", ".join(m.label for m in cls)
            raise ValueError(f"unknown milestone {text!r} (expected one of: {valid})") from None

    def next(self) -> Milestone | None:
        """The milestone after this one, or None for an advocate."""
        return None if self is Milestone.ADVOCATE else Milestone(self + 1)


PersonKind = Literal["contact", "lead"]
ActivityKind = Literal["email", "call", "meeting", "note", "task"]
Direction = Literal["inbound", "outbound"]

Properties = Mapping[str, str | None]


@record
class Contact:
    """A person: a HubSpot contact, a Salesforce Contact or an unconverted Salesforce Lead.

    ``referred_by`` is the raw referrer reference (a record id or an email address) as the CRM
    holds it; ``converted_to`` is set on a converted Lead and names the Contact it became.
    ``property_set_at`` maps a property (an advocacy flag) to the moment since which it has
    held its current value, where the CRM's property history says so (HubSpot
    ``propertiesWithHistory``, Salesforce ContactHistory / LeadHistory); empty otherwise.
    """

    id: str
    kind: PersonKind = "contact"
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    owner_id: str | None = None
    company_id: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    lead_status: str | None = None
    is_opted_out: bool = False
    referred_by: str | None = None
    converted_to: str | None = None
    is_deleted: bool = False
    properties: Properties = field(default_factory=dict)
    property_set_at: Mapping[str, datetime] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """First and last name, or the email, or the id: whatever the record has."""
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return full or self.email or self.id


@record
class Deal:
    """A deal (HubSpot) or Opportunity (Salesforce) and the people it touches.

    ``stage_changed_at`` is when the deal entered its current stage where the CRM says so;
    derive() falls back on the creation time. ``stage_entered`` maps each stage the deal
    has been in (stage id or API name) to the first time the CRM shows it entering it
    (HubSpot's ``hs_v2_date_entered_<stage>``, Salesforce's OpportunityHistory); empty
    where the CRM keeps no such history.
    """

    id: str
    name: str | None = None
    stage_id: str | None = None
    pipeline_id: str | None = None
    is_closed: bool | None = None
    is_won: bool | None = None
    close_date: date | None = None
    amount: float | None = None
    owner_id: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    stage_changed_at: datetime | None = None
    stage_entered: Mapping[str, datetime] = field(default_factory=dict)
    contact_ids: tuple[str, ...] = ()
    referred_by: str | None = None
    is_deleted: bool = False
    properties: Properties = field(default_factory=dict)


@record
class Activity:
    """An email, call, meeting, note or task, normalised by its connector.

    ``status`` is the vendor's status or outcome in lower case (``completed``, ``no_answer``,
    ``scheduled``, ``no_show``...), ``disposition`` the raw call disposition. A meeting whose
    CRM records no outcome has ``status`` None and counts once ``ends_at`` has passed.
    """

    id: str
    kind: ActivityKind
    direction: Direction | None = None
    status: str | None = None
    disposition: str | None = None
    occurred_at: datetime | None = None
    ends_at: datetime | None = None
    owner_id: str | None = None
    modified_at: datetime | None = None
    contact_ids: tuple[str, ...] = ()
    deal_ids: tuple[str, ...] = ()
    is_deleted: bool = False


@record
class Stage:
    """One pipeline stage from the CRM's catalogue, keyed on its stable id (never its label)."""

    id: str
    label: str
    pipeline_id: str | None = None
    is_closed: bool = False
    is_won: bool = False
    probability: float | None = None
    display_order: int = 0


@record
class Referral:
    """A record (a contact or a deal) that names a person as its referrer."""

    record_kind: Literal["contact", "deal"]
    record_id: str
    at: datetime | None


@record
class Link:
    """A deal <-> person association pulled on its own (Salesforce OpportunityContactRole)."""

    id: str
    deal_id: str
    contact_id: str
    modified_at: datetime | None = None
    is_deleted: bool = False


@record
class Bundle:
    """Everything derive() needs about one person, as the mirror holds it."""

    contact: Contact
    deals: tuple[Deal, ...] = ()
    activities: tuple[Activity, ...] = ()
    referrals: tuple[Referral, ...] = ()
