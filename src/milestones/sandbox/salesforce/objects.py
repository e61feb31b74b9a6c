"""The demo world seen as Salesforce objects (rows are the world's own records).

One person is a Contact, an unconverted Lead (``is_lead_only``), or both a Contact and a
converted Lead (``converted_ms`` set, ``ConvertedContactId`` pointing at the Contact).
Companies are Accounts, deals Opportunities with one OpportunityContactRole per
associated contact (the first is primary), owners Users. Emails are Tasks with
``TaskSubtype = Email`` plus EmailMessages (``Incoming`` true for replies) tied to the
person by EmailMessageRelation rows (``RelationId`` = Contact or Lead, ``RelationType``
``FromAddress`` for a reply, ``ToAddress`` for a sent mail) and by ``ActivityId``, the
email's Task, whose ``WhoId`` is the person. Calls and to-dos are Tasks, meetings
Events; notes are not activities in Salesforce and are not served. Multi-person
activities show their first person as ``WhoId`` (no shared-activity relations).
Archived world records are in the recycle bin: ``IsDeleted = true``, queryAll only.
Vocabulary choices are documented in ``salesforce.vocab``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from milestones.sandbox.salesforce import vocab as vocab
from milestones.sandbox.salesforce.activities import ActivityObjects
from milestones.sandbox.salesforce.schema import (
    FieldDef,
    SObject,
    attr,
    computed,
    fields_of,
    id_number,
    iso_date,
    reference,
    seconds,
    sf_id,
    stamps,
)
from milestones.sandbox.world.store import World

PERSON_BASE = 2_000_000  # world.records.ID_BASE["person"]
ROLE_SHIFT = 1 << 22  # OpportunityContactRole number = deal id * ROLE_SHIFT + person offset
NOT_PROVIDED = "[not provided]"  # what Salesforce shows for a required name left blank


class RoleRow:
    """One OpportunityContactRole: a deal and one of its contacts."""

    __slots__ = ("deal", "person", "primary")

    def __init__(self, deal: Any, person: Any, primary: bool) -> None:
        self.deal, self.person, self.primary = deal, person, primary


class WorldObjects(ActivityObjects):
    """Builds the world-backed SObjects; closures read the live world on every call."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.people = world.records["person"]
        self.stage_index = {s.id: (p, s) for p in world.pipelines for s in p.stages}

    # ---- row sources ---------------------------------------------------------------------

    def records(self, kind: str, include_deleted: bool) -> Iterable[Any]:
        table = self.world.records[kind]
        for record_id in list(self.world.ids(kind)):
            record = table.get(record_id)
            if record is not None and (include_deleted or not record.archived):
                yield record

    def is_contact(self, person: Any) -> bool:
        return not person.is_lead_only

    def is_lead(self, person: Any) -> bool:
        return bool(person.is_lead_only or person.converted_ms is not None)

    def who_id(self, person_id: int | None) -> str | None:
        person = self.people.get(person_id) if person_id is not None else None
        if person is None:
            return None
        return sf_id("00Q" if person.is_lead_only else "003", person.id)

    def account_of(self, person_id: int | None) -> str | None:
        person = self.people.get(person_id) if person_id is not None else None
        return (
            None if person is None or person.company_id is None else sf_id("001", person.company_id)
        )

    def what_id(self, activity: Any) -> str | None:
        if activity.deal_id is not None:
            return sf_id("006", activity.deal_id)
        return self.account_of(_first(activity.contact_ids))

    def lookup(self, kind: str, prefix: str, accept: Any = None) -> Any:
        """A by-id finder for rows that are world records of `kind`."""
        table = self.world.records[kind]

        def find(record_id: str) -> Any:
            if record_id[:3] != prefix:
                return None
            record = table.get(id_number(record_id))
            return record if record is not None and (accept is None or accept(record)) else None

        return find

    def purged(
        self, kind: str, prefix: str, accept: Any = None
    ) -> Callable[[], Iterable[tuple[str, int]]]:
        """The hard-deleted records of ``kind`` an object showed, from the world's log."""

        def log() -> Iterable[tuple[str, int]]:
            for logged_kind, record_id, ts in list(self.world.deleted_log):
                record = self.world.deleted_records.get(record_id)
                if logged_kind == kind and (accept is None or accept(record)):
                    yield sf_id(prefix, record_id), ts

        return log

    # ---- objects -------------------------------------------------------------------------

    def build(self) -> dict[str, SObject]:
        objects = [
            self.account(),
            self.contact(),
            self.lead(),
            self.opportunity(),
            self.contact_role(),
            self.task(),
            self.event(),
            self.email_message(),
            self.email_relation(),
        ]
        return {o.name: o for o in objects}

    def person_fields(self, prefix: str) -> list[FieldDef]:
        """Fields Contact and Lead share."""
        return [
            computed("Id", "id", lambda p: sf_id(prefix, p.id), nillable=False),
            attr("IsDeleted", "boolean", "archived", nillable=False),
            attr("FirstName", "string", "first_name", updateable=True, write=_set("first_name")),
            computed(
                "LastName",
                "string",
                lambda p: p.last_name or NOT_PROVIDED,
                updateable=True,
                nillable=False,
                write=_set("last_name"),
            ),
            computed("Name", "string", _full_name),
            attr("Email", "email", "email", updateable=True, write=_set("email")),
            attr("Phone", "phone", "phone", updateable=True, write=_set("phone")),
            attr("Title", "string", "job_title", updateable=True, write=_set("job_title")),
            computed(
                "LeadSource",
                "picklist",
                lambda p: vocab.lead_source(p.lead_source),
                picklist=vocab.LEAD_SOURCES,
            ),
            reference("OwnerId", ("User",), "Owner", lambda p: _maybe("005", p.owner_id)),
            attr(
                "HasOptedOutOfEmail",
                "boolean",
                "opted_out",
                updateable=True,
                nillable=False,
                write=_set("opted_out"),
            ),
            *stamps(),
        ]

    def contact(self) -> SObject:
        people = self.people
        referrer = self.who_id

        def referred_by(person: Any) -> str | None:
            ref = people.get(person.referred_by) if person.referred_by is not None else None
            return None if ref is None or ref.is_lead_only else referrer(ref.id)

        fields = fields_of(
            self.person_fields("003"),
            reference("AccountId", ("Account",), "Account", lambda p: _maybe("001", p.company_id)),
            computed("MasterRecordId", "reference", lambda p: None, reference_to=("Contact",)),
            reference(
                "Referred_By__c",
                ("Contact",),
                "Referred_By__r",
                referred_by,
                custom=True,
                updateable=True,
                write=_referrer,
            ),
            attr("NPS_Score__c", "double", "nps", custom=True, updateable=True, write=_set("nps")),
            attr(
                "Reference_Customer__c",
                "boolean",
                "is_reference",
                custom=True,
                updateable=True,
                nillable=False,
                write=_set("is_reference"),
            ),
        )
        return SObject(
            "Contact",
            lambda deleted: (p for p in self.records("person", deleted) if not p.is_lead_only),
            self.lookup("person", "003", self.is_contact),
            fields,
            updateable=True,
            is_deleted=lambda p: p.archived,
            purged=self.purged("person", "003", self.is_contact),
        )

    def lead(self) -> SObject:
        companies = self.world.records["company"]

        def company(person: Any) -> str:
            found = companies.get(person.company_id) if person.company_id is not None else None
            return found.name if found is not None and found.name else NOT_PROVIDED

        def converted(person: Any) -> bool:
            return person.converted_ms is not None

        fields = fields_of(
            self.person_fields("00Q"),
            computed("Company", "string", company, nillable=False),
            computed(
                "Status",
                "picklist",
                lambda p: vocab.lead_status(p.lead_status, converted(p)),
                picklist=tuple(s[0] for s in vocab.LEAD_STATUSES),
                restricted=True,
                updateable=True,
                nillable=False,
                write=_lead_status,
            ),
            computed("IsConverted", "boolean", converted, nillable=False),
            computed("ConvertedDate", "date", lambda p: iso_date(p.converted_ms)),
            reference(
                "ConvertedContactId",
                ("Contact",),
                "ConvertedContact",
                lambda p: sf_id("003", p.id) if converted(p) else None,
            ),
            reference(
                "ConvertedAccountId",
                ("Account",),
                "ConvertedAccount",
                lambda p: _maybe("001", p.company_id) if converted(p) else None,
            ),
            reference("ConvertedOpportunityId", ("Opportunity",), None, lambda p: None),
        )
        return SObject(
            "Lead",
            lambda deleted: (p for p in self.records("person", deleted) if self.is_lead(p)),
            self.lookup("person", "00Q", self.is_lead),
            fields,
            updateable=True,
            is_deleted=lambda p: p.archived,
            purged=self.purged("person", "00Q", self.is_lead),
        )

    def account(self) -> SObject:
        fields = fields_of(
            computed("Id", "id", lambda c: sf_id("001", c.id), nillable=False),
            attr("IsDeleted", "boolean", "archived", nillable=False),
            attr("Name", "string", "name", updateable=True, nillable=False, write=_set("name")),
            computed("Website", "url", lambda c: c.domain and f"https://{c.domain}"),
            computed("Industry", "picklist", lambda c: c.industry and c.industry.title()),
            computed("Type", "picklist", lambda c: None),
            reference("OwnerId", ("User",), "Owner", lambda c: _maybe("005", c.owner_id)),
            *stamps(),
        )
        return SObject(
            "Account",
            lambda deleted: self.records("company", deleted),
            self.lookup("company", "001"),
            fields,
            updateable=True,
            is_deleted=lambda c: c.archived,
        )

    def opportunity(self) -> SObject:
        stages = self.stage_index

        def stage(deal: Any) -> Any:
            found = stages.get(deal.stage)
            return None if found is None else found[1]

        def referred(deal: Any) -> str | None:
            return self.who_id(deal.referred_by) if deal.referred_by is not None else None

        fields = fields_of(
            computed("Id", "id", lambda d: sf_id("006", d.id), nillable=False),
            attr("IsDeleted", "boolean", "archived", nillable=False),
            attr("Name", "string", "name", updateable=True, nillable=False, write=_set("name")),
            reference("AccountId", ("Account",), "Account", lambda d: _maybe("001", d.company_id)),
            computed(
                "StageName",
                "picklist",
                lambda d: vocab.stage_name(d.stage),
                picklist=tuple(vocab.STAGE_NAMES.values()),
                restricted=True,
                updateable=True,
                nillable=False,
                write=_stage,
            ),
            attr("Amount", "currency", "amount", updateable=True, write=_set("amount")),
            computed("CloseDate", "date", lambda d: iso_date(d.close_ms), nillable=False),
            # Object Reference, Opportunity: when StageName last changed (a datetime).
            computed("LastStageChangeDate", "datetime", lambda d: seconds(_entered(d))),
            computed("IsClosed", "boolean", lambda d: bool(stage(d) and stage(d).is_closed)),
            computed("IsWon", "boolean", lambda d: bool(stage(d) and stage(d).is_won)),
            computed(
                "Probability",
                "percent",
                lambda d: round(stage(d).probability * 100) if stage(d) else None,
            ),
            computed("ForecastCategoryName", "picklist", lambda d: _forecast(stage(d))),
            computed(
                "Type",
                "picklist",
                lambda d: (
                    "Existing Customer - Renewal" if d.pipeline == "renewals" else "New Business"
                ),
            ),
            computed(
                "LeadSource",
                "picklist",
                lambda d: "External Referral" if d.referred_by else None,
                picklist=vocab.LEAD_SOURCES,
            ),
            reference("Referred_By__c", ("Contact",), "Referred_By__r", referred, custom=True),
            reference("OwnerId", ("User",), "Owner", lambda d: _maybe("005", d.owner_id)),
            *stamps(),
        )
        return SObject(
            "Opportunity",
            lambda deleted: self.records("deal", deleted),
            self.lookup("deal", "006"),
            fields,
            updateable=True,
            is_deleted=lambda d: d.archived,
            purged=self.purged("deal", "006"),
        )

    def contact_role(self) -> SObject:
        people = self.people

        def rows(deleted: bool) -> Iterable[RoleRow]:
            for deal in self.records("deal", deleted):
                for n, person_id in enumerate(deal.contact_ids or ()):
                    person = people.get(person_id)
                    alive = person is not None and (deleted or not person.archived)
                    if alive and not person.is_lead_only:
                        yield RoleRow(deal, person, n == 0)

        def find(record_id: str) -> RoleRow | None:
            number = id_number(record_id)
            deal = self.world.records["deal"].get(number // ROLE_SHIFT)
            person = people.get(number % ROLE_SHIFT + PERSON_BASE)
            if deal is None or person is None or person.id not in (deal.contact_ids or ()):
                return None
            return RoleRow(deal, person, deal.contact_ids[0] == person.id)

        fields = fields_of(
            computed(
                "Id",
                "id",
                lambda r: sf_id("00K", r.deal.id * ROLE_SHIFT + r.person.id - PERSON_BASE),
                nillable=False,
            ),
            computed("IsDeleted", "boolean", lambda r: bool(r.deal.archived or r.person.archived)),
            reference(
                "OpportunityId", ("Opportunity",), "Opportunity", lambda r: sf_id("006", r.deal.id)
            ),
            reference("ContactId", ("Contact",), "Contact", lambda r: sf_id("003", r.person.id)),
            computed(
                "Role",
                "picklist",
                lambda r: "Decision Maker" if r.primary else "Business User",
                picklist=("Decision Maker", "Business User", "Influencer", "Other"),
            ),
            computed("IsPrimary", "boolean", lambda r: r.primary, nillable=False),
            *stamps(lambda r: r.deal),
        )
        return SObject(
            "OpportunityContactRole", rows, find, fields,
            is_deleted=lambda r: bool(r.deal.archived or r.person.archived),
        )  # fmt: skip


def _first(ids: Any) -> Any:
    return ids[0] if ids else None


def _maybe(prefix: str, number: int | None) -> str | None:
    return None if number is None else sf_id(prefix, number)


def _full_name(person: Any) -> str:
    return " ".join(n for n in (person.first_name, person.last_name or NOT_PROVIDED) if n)


def _forecast(stage: Any) -> str | None:
    if stage is None:
        return None
    if stage.is_closed:
        return "Closed" if stage.is_won else "Omitted"
    return "Pipeline"


def _set(attribute: str) -> Any:
    return lambda value: {attribute: value}


def _referrer(value: Any) -> dict[str, Any]:
    return {"referred_by": None if value is None else id_number(value), "referred_by_email": False}


def _lead_status(value: Any) -> dict[str, Any]:
    return {"lead_status": vocab.lead_status_code(value)}


def _stage(value: Any) -> dict[str, Any]:
    return {"__stage__": vocab.STAGE_IDS.get(str(value).casefold())}


def _entered(deal: Any) -> int | None:
    return (deal.entered or {}).get(deal.stage)
