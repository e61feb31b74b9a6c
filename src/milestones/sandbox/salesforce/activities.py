"""Activities seen as Salesforce objects: Task, Event, EmailMessage, EmailMessageRelation.

Mixed into ``salesforce.objects.WorldObjects``, whose row sources and id helpers these
builders use. See that module's docstring for how the world's activities map.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from milestones.sandbox.salesforce import vocab as vocab
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
from milestones.sandbox.world.store import kind_of

ARCHIVE_AFTER_MS = 365 * 86_400_000


class RelationRow:
    """One EmailMessageRelation: an email and one of its people."""

    __slots__ = ("email", "index", "person")

    def __init__(self, email: Any, person: Any, index: int) -> None:
        self.email, self.index, self.person = email, index, person


class ActivityObjects:
    """Builders for the activity objects (needs WorldObjects' helpers)."""

    world: Any
    people: Any

    def archive_horizon(self) -> int:
        """Closed tasks and past events older than a year before the world's anchor are
        archived: hidden from query, visible through queryAll (reference section 1.4)."""
        return int(self.world.anchor_ms) - ARCHIVE_AFTER_MS

    def activity_fields(self, prefix: str, archived: Any) -> list[FieldDef]:
        """Fields Task and Event share."""
        return [
            computed("Id", "id", lambda a: sf_id(prefix, a.id), nillable=False),
            attr("Subject", "string", "subject", updateable=True, write=_set("subject")),
            reference(
                "WhoId", ("Contact", "Lead"), "Who", lambda a: self.who_id(_first(a.contact_ids))
            ),
            reference("WhatId", ("Opportunity", "Account"), "What", self.what_id),
            reference(
                "AccountId",
                ("Account",),
                "Account",
                lambda a: self.account_of(_first(a.contact_ids)),
            ),
            computed("ActivityDate", "date", lambda a: iso_date(a.timestamp)),
            reference("OwnerId", ("User",), "Owner", lambda a: _maybe("005", a.owner_id)),
            computed("IsArchived", "boolean", archived, nillable=False),
            *stamps(),
        ]

    def task(self) -> SObject:
        def status(a: Any) -> str:
            if a.kind == "email":
                return "Completed"
            return vocab.call_status(a.status) if a.kind == "call" else vocab.task_status(a.status)

        horizon = self.archive_horizon()

        def archived(a: Any) -> bool:
            return bool(a.timestamp < horizon and status(a) == "Completed")

        subtype = {"email": "Email", "call": "Call", "task": "Task"}
        fields = fields_of(
            self.activity_fields("00T", archived),
            attr("IsDeleted", "boolean", "archived", nillable=False),
            computed(
                "Status",
                "picklist",
                status,
                picklist=vocab.TASK_STATUSES,
                updateable=True,
                nillable=False,
                restricted=True,
                write=lambda v: {"status": vocab.task_status_code(v)},
            ),
            computed("IsClosed", "boolean", lambda a: status(a) == "Completed", nillable=False),
            computed(
                "Priority",
                "picklist",
                lambda a: (a.extra or {}).get("Priority") or "Normal",
                picklist=vocab.TASK_PRIORITIES,
                updateable=True,
                restricted=True,
                write=lambda v: {"Priority": v},
            ),
            computed(
                "Description",
                "textarea",
                lambda a: (a.extra or {}).get("Description"),
                updateable=True,
                length=32_000,
                write=lambda v: {"Description": v},
            ),
            computed(
                "TaskSubtype",
                "picklist",
                lambda a: subtype[a.kind],
                picklist=("Task", "Email", "Call"),
            ),
            computed(
                "Type", "picklist", lambda a: subtype[a.kind] if a.kind != "task" else "Other"
            ),
            computed(
                "CallType",
                "picklist",
                lambda a: vocab.call_type(a.direction) if a.kind == "call" else None,
                picklist=("Internal", "Inbound", "Outbound"),
            ),
            computed("CallDisposition", "string", lambda a: vocab.call_disposition(a.disposition)),
            computed(
                "CallDurationInSeconds",
                "int",
                lambda a: a.duration_ms // 1000 if a.kind == "call" and a.duration_ms else None,
            ),
            computed(
                "CompletedDateTime",
                "datetime",
                lambda a: seconds(a.timestamp) if status(a) == "Completed" else None,
            ),
        )
        kinds = ("email", "call", "task")

        def rows(deleted: bool) -> Iterable[Any]:
            for kind in kinds:
                for a in self.records(kind, deleted):
                    if deleted or not archived(a):
                        yield a

        def find(record_id: str) -> Any:
            number = id_number(record_id)
            kind = kind_of(number)
            if record_id[:3] != "00T" or kind not in kinds:
                return None
            return self.world.records[kind].get(number)

        return SObject("Task", rows, find, fields, updateable=True, is_deleted=lambda a: a.archived)

    def event(self) -> SObject:
        anchor = self.world.anchor_ms

        def removed(a: Any) -> bool:
            upcoming = a.status == "SCHEDULED" and a.timestamp > anchor
            return bool(a.archived) or not (a.status in vocab.MEETINGS_HELD or upcoming)

        def end(a: Any) -> int | None:
            return seconds(a.timestamp + (a.duration_ms or 1_800_000))

        horizon = self.archive_horizon()

        def archived(a: Any) -> bool:
            return bool(a.timestamp + (a.duration_ms or 0) < horizon)

        fields = fields_of(
            self.activity_fields("00U", archived),
            computed("IsDeleted", "boolean", removed, nillable=False),
            computed("StartDateTime", "datetime", lambda a: seconds(a.timestamp)),
            computed("ActivityDateTime", "datetime", lambda a: seconds(a.timestamp)),
            computed("EndDateTime", "datetime", end),
            computed("DurationInMinutes", "int", lambda a: (a.duration_ms or 1_800_000) // 60_000),
            computed("IsAllDayEvent", "boolean", lambda a: False, nillable=False),
            computed("EventSubtype", "picklist", lambda a: "Event"),
            computed("Type", "picklist", lambda a: "Meeting"),
        )

        def rows(deleted: bool) -> Iterable[Any]:
            meetings = self.records("meeting", True)
            return (a for a in meetings if deleted or not (removed(a) or archived(a)))

        return SObject(
            "Event",
            rows,
            self.lookup("meeting", "00U"),
            fields,
            updateable=True,
            is_deleted=removed,
        )

    def email_message(self) -> SObject:
        owners = self.world.records["owner"]

        def person_email(a: Any) -> str | None:
            person = self.people.get(_first(a.contact_ids))
            return None if person is None else person.email

        def owner_email(a: Any) -> str | None:
            owner = owners.get(a.owner_id) if a.owner_id is not None else None
            return None if owner is None else owner.email

        def incoming(a: Any) -> bool:
            return vocab.is_incoming_email(a.direction)

        fields = fields_of(
            computed("Id", "id", lambda a: sf_id("02s", a.id), nillable=False),
            attr("IsDeleted", "boolean", "archived", nillable=False),
            attr("Subject", "string", "subject"),
            computed("Incoming", "boolean", incoming, nillable=False),
            computed(
                "FromAddress", "email", lambda a: person_email(a) if incoming(a) else owner_email(a)
            ),
            computed(
                "ToAddress", "string", lambda a: owner_email(a) if incoming(a) else person_email(a)
            ),
            computed("MessageDate", "datetime", lambda a: seconds(a.timestamp)),
            computed("Status", "picklist", lambda a: vocab.email_status(a.direction)),
            computed("IsBounced", "boolean", lambda a: a.status == "BOUNCED", nillable=False),
            reference("ActivityId", ("Task",), None, lambda a: sf_id("00T", a.id)),
            reference("RelatedToId", ("Opportunity", "Account"), "RelatedTo", self.what_id),
            *stamps(),
        )
        return SObject(
            "EmailMessage",
            lambda deleted: self.records("email", deleted),
            self.lookup("email", "02s"),
            fields,
            is_deleted=lambda a: a.archived,
        )

    def email_relation(self) -> SObject:
        people = self.people

        def rows(deleted: bool) -> Iterable[RelationRow]:
            for email in self.records("email", deleted):
                for n, person_id in enumerate(email.contact_ids or ()):
                    person = people.get(person_id)
                    if person is not None:
                        yield RelationRow(email, person, n)

        def find(record_id: str) -> RelationRow | None:
            email_id, index = divmod(id_number(record_id), 8)
            email = self.world.records["email"].get(email_id)
            ids = email.contact_ids if email is not None else ()
            person = people.get(ids[index]) if index < len(ids) else None
            return None if person is None else RelationRow(email, person, index)

        fields = fields_of(
            computed("Id", "id", lambda r: sf_id("0Ed", r.email.id * 8 + r.index), nillable=False),
            computed("IsDeleted", "boolean", lambda r: bool(r.email.archived), nillable=False),
            reference(
                "EmailMessageId",
                ("EmailMessage",),
                "EmailMessage",
                lambda r: sf_id("02s", r.email.id),
            ),
            reference(
                "RelationId",
                ("Contact", "Lead", "User"),
                "Relation",
                lambda r: self.who_id(r.person.id),
            ),
            computed(
                "RelationType",
                "picklist",
                lambda r: (
                    "FromAddress" if vocab.is_incoming_email(r.email.direction) else "ToAddress"
                ),
                picklist=("FromAddress", "ToAddress", "CcAddress", "BccAddress"),
            ),
            computed("RelationAddress", "email", lambda r: r.person.email),
            computed(
                "RelationObjectType",
                "string",
                lambda r: "Lead" if r.person.is_lead_only else "Contact",
            ),
            *stamps(lambda r: r.email),
        )
        return SObject(
            "EmailMessageRelation", rows, find, fields, is_deleted=lambda r: bool(r.email.archived)
        )


def _first(ids: Any) -> Any:
    return ids[0] if ids else None


def _maybe(prefix: str, number: int | None) -> str | None:
    return None if number is None else sf_id(prefix, number)


def _set(attribute: str) -> Any:
    return lambda value: {attribute: value}
