"""Creating Tasks: the fields a to-do carries, checked as an org checks an insert.

Task fields (Salesforce Object Reference, Task:
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm):
``WhoId`` a Contact or Lead, ``OwnerId`` a User (the running user when left out),
``Subject``, ``Description`` (32,000 characters), ``ActivityDate`` (the due date, a date),
``Status`` (a restricted picklist, default Not Started), ``Priority`` (High, Normal, Low,
default Normal) and ``TaskSubtype`` (set on create only). A reference to a record that does
not exist fails the record with ``INVALID_CROSS_REFERENCE_KEY``; one of the wrong type with
``FIELD_INTEGRITY_EXCEPTION``. Created through ``POST sobjects/Task`` or sObject Collections
(``POST composite/sobjects``), each record on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from milestones.sandbox.salesforce.ids import normalize_id
from milestones.sandbox.salesforce.query import Catalog
from milestones.sandbox.salesforce.schema import id_number, sf_id
from milestones.sandbox.salesforce.vocab import task_status_code
from milestones.sandbox.salesforce.writes import RequestError, coerce
from milestones.sandbox.world.store import World

PLAIN = ("Subject", "Description", "Status", "Priority")
CREATE_ONLY = {"TaskSubtype": ("Task",)}  # the sandbox models to-dos only


def create_task(world: World, catalog: Catalog, body: dict[str, Any]) -> str:
    """Insert one Task from its wire fields; returns the new id or raises RequestError."""
    obj = catalog.object_named("Task")
    values: dict[str, Any] = {"Status": "Not Started", "Priority": "Normal"}
    for name, value in body.items():
        definition = catalog.visible_field(obj, name)
        if definition is None:
            raise RequestError(
                400, "INVALID_FIELD", f"No such column '{name}' on sobject of type Task", [name]
            )
        canonical = definition.name
        if canonical in CREATE_ONLY:
            if value not in CREATE_ONLY[canonical]:
                raise RequestError(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{canonical}: bad value for restricted picklist field: {value}",
                    [canonical],
                )
            continue
        if canonical in ("WhoId", "OwnerId", "ActivityDate"):
            values[canonical] = value
            continue
        if canonical not in PLAIN:
            raise RequestError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {canonical}.",
                [canonical],
            )
        problem, stored = coerce(definition, value)
        if problem is not None:
            raise RequestError(400, problem[0], problem[1], [canonical])
        values[canonical] = stored
    person = _reference(catalog, values.get("WhoId"), "WhoId", ("Contact", "Lead"))
    owner = _reference(catalog, values.get("OwnerId"), "OwnerId", ("User",))
    due = _due(values.get("ActivityDate"))
    extra = {k: values[k] for k in ("Priority", "Description") if values.get(k) is not None}
    task = world.add_activity(
        "task",
        [person] if person is not None else [],
        subject=values.get("Subject"),
        status=task_status_code(values["Status"]),
        owner_id=owner,
        **({"timestamp": due} if due is not None else {}),
        **extra,
    )
    return sf_id("00T", task.id)


def _reference(catalog: Catalog, raw: Any, name: str, sobjects: tuple[str, ...]) -> int | None:
    """The world number of the live record ``raw`` names, among ``sobjects``."""
    if raw is None:
        return None
    normal = normalize_id(str(raw))
    targets = [catalog.object_named(s) for s in sobjects]
    target = next((t for t in targets if normal is not None and normal[:3] == t.prefix), None)
    if normal is None or target is None:
        raise RequestError(
            400, "FIELD_INTEGRITY_EXCEPTION", f"{name}: id value of incorrect type: {raw}", [name]
        )
    row = target.lookup(normal)
    if row is None or (target.is_deleted is not None and target.is_deleted(row)):
        raise RequestError(
            400, "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {normal}", [name]
        )
    return id_number(normal)


def _due(raw: Any) -> int | None:
    """``ActivityDate`` (YYYY-MM-DD) as the world's epoch milliseconds, at noon UTC."""
    if raw is None:
        return None
    try:
        day = datetime.strptime(str(raw), "%Y-%m-%d").replace(hour=12, tzinfo=UTC)
    except ValueError:
        raise RequestError(
            400,
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"ActivityDate: value not of required type: {raw!r}",
            ["ActivityDate"],
        ) from None
    return int(day.timestamp() * 1000)
