"""ContactHistory: one read-only row per change of a Contact field the org tracks.

With field history tracking on for Contact, Salesforce writes a row each time a tracked
field changes: ``Field`` (the field's API name), ``OldValue``, ``NewValue`` (anyType, a
checkbox as a JSON boolean) and ``CreatedDate`` (when it changed); rows are never updated,
and the child relationship from Contact is ``Histories``. LeadHistory is the same for Lead
(``LeadId``). Object reference:
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contacthistory.htm

The sandbox org tracks the reference flag (``Reference_Customer__c``); its rows come from
the world's change log (``World.changes``), the same one the HubSpot sandbox serves as
``propertiesWithHistory``. Its Leads carry no tracked field, so it serves no LeadHistory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from milestones.sandbox.salesforce.schema import (
    SObject,
    computed,
    fields_of,
    id_number,
    reference,
    seconds,
    sf_id,
)
from milestones.sandbox.world.store import World

TRACKED = {"is_reference": "Reference_Customer__c"}  # world attribute -> tracked field
STEP_SHIFT = 256  # ContactHistory number = person id * STEP_SHIFT + the change's position


class FieldChange:
    """One change of one tracked field of one person."""

    __slots__ = ("at", "field", "new", "old", "person", "step")

    def __init__(self, person: Any, step: int, change: tuple[int, str, Any, Any]) -> None:
        self.person, self.step = person, step
        self.at, attribute, self.old, self.new = change
        self.field = TRACKED[attribute]


def _changes(world: World, person: Any) -> list[FieldChange]:
    mine = sorted(
        (c for c in world.changes.get(person.id, ()) if c[1] in TRACKED), key=lambda c: c[0]
    )
    return [FieldChange(person, n, c) for n, c in enumerate(mine[:STEP_SHIFT])]


def contact_history(world: World) -> SObject:
    """The ContactHistory object over the world's contacts' tracked changes."""
    people = world.records["person"]

    def rows(deleted: bool) -> Iterable[FieldChange]:
        for person_id in sorted(world.changes):
            person = people.get(person_id)
            if person is None or person.is_lead_only or (person.archived and not deleted):
                continue
            yield from _changes(world, person)

    def find(record_id: str) -> FieldChange | None:
        if record_id[:3] != "017":
            return None
        number = id_number(record_id)
        person = people.get(number // STEP_SHIFT)
        found = _changes(world, person) if person is not None else []
        step = number % STEP_SHIFT
        return found[step] if step < len(found) else None

    fields = fields_of(
        computed("Id", "id", lambda r: sf_id("017", r.person.id * STEP_SHIFT + r.step)),
        computed("IsDeleted", "boolean", lambda r: bool(r.person.archived), nillable=False),
        reference("ContactId", ("Contact",), "Contact", lambda r: sf_id("003", r.person.id)),
        computed("Field", "picklist", lambda r: r.field, picklist=tuple(TRACKED.values())),
        computed("OldValue", "anyType", lambda r: r.old),
        computed("NewValue", "anyType", lambda r: r.new),
        computed("CreatedDate", "datetime", lambda r: seconds(r.at)),
    )
    return SObject(
        "ContactHistory", rows, find, fields, is_deleted=lambda r: bool(r.person.archived)
    )
