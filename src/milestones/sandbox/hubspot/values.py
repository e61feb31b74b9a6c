"""Reading and writing HubSpot property values on world records, through the catalogue.

Built-in properties go through their ``Prop`` getter and setter (``props``); properties
created through the properties API are stored, normalised, in ``record.extra``.
"""

from __future__ import annotations

import time
from typing import Any

from milestones.sandbox.hubspot.props import CATALOGUE, as_wire, iso, parse_bool, parse_time
from milestones.sandbox.world.store import World

STAGE_ENTERED = "hs_v2_date_entered_"


def stage_entered(world: World, kind: str, rec: Any, name: str) -> tuple[bool, str | None]:
    """Whether ``name`` is a deal's stage-entry date, and its value.

    HubSpot calculates one ``hs_v2_date_entered_<stage id>`` per stage of the deal pipelines,
    set when the deal enters the stage and kept after it leaves, plus
    ``hs_v2_date_entered_current_stage``; they are absent from the properties API and must
    be asked for by name. The legacy ``hs_date_entered_<stage id>`` names were sunset in
    Nov 2024, so they are not served (reference/hubspot-api.md section 2, "Stage timing
    props").
    """
    if kind != "deal" or not name.startswith(STAGE_ENTERED):
        return False, None
    stage_id: str | None = name.removeprefix(STAGE_ENTERED)
    if stage_id == "current_stage":
        stage_id = rec.stage
    elif world.stage(str(stage_id)) is None:
        return False, None
    return True, iso((rec.entered or {}).get(stage_id))


def property_type(world: World, kind: str, name: str) -> str | None:
    """The HubSpot type of a property (built-in or created), None if unknown."""
    prop = CATALOGUE[kind].get(name)
    if prop is not None:
        return prop.type
    if kind == "deal" and name.startswith(STAGE_ENTERED):
        return (
            "datetime"
            if name.endswith("current_stage") or world.stage(name.removeprefix(STAGE_ENTERED))
            else None
        )
    custom = world.defined_fields[kind].get(name)
    return None if custom is None else str(custom.get("type", "string"))


def value_of(world: World, kind: str, rec: Any, name: str) -> str | None:
    """The wire value (string or None) of one property of a record."""
    prop = CATALOGUE[kind].get(name)
    if prop is not None:
        return prop.getter(world, rec)
    is_stage_date, entered = stage_entered(world, kind, rec, name)
    if is_stage_date:
        return entered
    return None if rec.extra is None else as_wire(rec.extra.get(name))


def render(world: World, kind: str, rec: Any, names: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """A SimplePublicObject: requested properties (unset ones as null, unknown ones left out)."""
    catalogue, defined, extra = CATALOGUE[kind], world.defined_fields[kind], rec.extra
    props: dict[str, str | None] = {}
    for name in names:
        prop = catalogue.get(name)
        if prop is not None:
            props[name] = prop.getter(world, rec)
        elif name in defined:
            props[name] = None if extra is None else as_wire(extra.get(name))
        else:
            is_stage_date, entered = stage_entered(world, kind, rec, name)
            if is_stage_date:
                props[name] = entered
    out = {
        "id": str(rec.id),
        "properties": props,
        "createdAt": iso(rec.created),
        "updatedAt": iso(world.object_touched(rec)),
        "archived": rec.archived,
    }
    if rec.archived:
        out["archivedAt"] = iso(rec.touched)
    return out


def plan_write(world: World, kind: str, rec: Any, values: dict[str, Any]) -> dict[str, Any]:
    """World updates for a write of wire properties; ValueError names what is invalid.

    "Read-only and non-existent properties will result in an error. Properties values
    can be cleared by passing an empty string." (reference §1.4)
    """
    updates: dict[str, Any] = {}
    for name, raw in values.items():
        value = None if raw is None or raw == "" else as_wire(raw)
        prop = CATALOGUE[kind].get(name)
        if prop is not None:
            if prop.setter is None:
                raise ValueError(f'Property "{name}" is read-only')
            try:
                updates.update(prop.setter(world, rec, value))
            except ValueError as exc:
                raise ValueError(f'Property "{name}": {exc}') from None
        elif stage_entered(world, kind, rec, name)[0]:
            raise ValueError(f'Property "{name}" is read-only')
        elif name in world.defined_fields[kind]:
            try:
                updates[name] = normalize(world.defined_fields[kind][name], name, value)
            except ValueError as exc:
                raise ValueError(f'Property "{name}": {exc}') from None
        else:
            raise ValueError(f'Property "{name}" does not exist')
    if kind == "deal" and "stage" in updates:
        _plan_stage(world, updates)
    return updates


def written_values(
    world: World, kind: str, values: dict[str, Any], updates: dict[str, Any]
) -> dict[str, str | None]:
    """The wire value each written property holds after a planned write (None: empty).

    Created properties read back normalised (``updates`` holds that); built-in ones as
    written.
    """
    out: dict[str, str | None] = {}
    for name, raw in values.items():
        if name not in CATALOGUE[kind] and name in world.defined_fields[kind]:
            out[name] = as_wire(updates.get(name))
        else:
            out[name] = None if raw is None or raw == "" else as_wire(raw)
    return out


def _plan_stage(world: World, updates: dict[str, Any]) -> None:
    """A stage write checks the stage exists; closing sets closedate (reference §2 Deals)."""
    found = world.stage(str(updates["stage"]))
    if found is None:
        raise ValueError(f'{updates["stage"]} was not one of the allowed options for "dealstage"')
    pipeline, stage = found
    if updates.get("pipeline") not in (None, pipeline.id):
        raise ValueError(f"dealstage {stage.id} is not in pipeline {updates['pipeline']}")
    updates["pipeline"] = pipeline.id
    if stage.is_closed and "close_ms" not in updates:
        updates["close_ms"] = world.clock()


def normalize(definition: dict[str, Any], name: str, value: str | None) -> str | None:
    """A created property's value as HubSpot stores it; ValueError when invalid.

    Dates read back as ``YYYY-MM-DD`` (written as that or as midnight-UTC epoch ms),
    datetimes as ISO with ms and ``Z``, booleans as ``true``/``false``; enumerations
    must name options (``;`` separates checkbox values).
    """
    if value is None:
        return None
    ptype = definition.get("type")
    if ptype == "enumeration":
        options = {o.get("value") for o in definition.get("options") or []}
        for part in value.split(";"):
            if options and part not in options:
                raise ValueError(f'{part} was not one of the allowed options for "{name}"')
    elif ptype == "bool":
        return "true" if parse_bool(value) else "false"
    elif ptype == "number":
        float(value)
    elif ptype == "datetime":
        return iso(parse_time(value))
    elif ptype == "date":
        ms = parse_time(value)
        if value.strip().isdigit() and ms % 86_400_000:
            raise ValueError(f"{value} is not a midnight UTC timestamp (a date property)")
        return time.strftime("%Y-%m-%d", time.gmtime(ms // 1000))
    return value
