"""Pipelines (reference §3), properties (§5) and owners endpoints of the HubSpot sandbox.

The same on legacy and 2026-09 paths except for properties (crm-api-changes-2026.md
§2.4): dated answers leave out ``currencyPropertyName``, ``numberDisplayHint`` and
``textDisplayHint``, and a dated create refuses an option without ``displayOrder``.
Stages always carry ``writePermissions``, as 2026-09 requires.
"""

from __future__ import annotations

import time
from typing import Any

from milestones.sandbox.hubspot import errors as err
from milestones.sandbox.hubspot.portal import Portal
from milestones.sandbox.hubspot.props import CATALOGUE, Prop, iso
from milestones.sandbox.hubspot.versions import LEGACY, is_dated, property_answer
from milestones.sandbox.server.http import Request, Response
from milestones.sandbox.world.store import Pipeline

PROPERTY_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool", "phone_number"}
FIELD_TYPES = {"text", "textarea", "number", "date", "select", "radio", "checkbox", "file",
               "booleancheckbox", "html", "phonenumber", "calculation_equation"}  # fmt: skip
EPOCH = "1970-01-01T00:00:00.000Z"  # default pipelines are created at epoch 0 (§3)


def _stage_json(stage: Any, created: str) -> dict[str, Any]:
    # metadata values are strings: {"isClosed": "false", "probability": "0.2"} (§3)
    return {
        "id": stage.id,
        "label": stage.label,
        "displayOrder": stage.display_order,
        "metadata": {
            "isClosed": "true" if stage.is_closed else "false",
            "probability": str(stage.probability),
        },
        "createdAt": created,
        "updatedAt": created,
        "archived": False,
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    }


def _pipeline_json(srv: Portal, p: Pipeline) -> dict[str, Any]:
    created = EPOCH if p.id == "default" else iso(srv.world.anchor_ms - 400 * 86_400_000)
    return {
        "id": p.id,
        "label": p.label,
        "displayOrder": p.display_order,
        "stages": [_stage_json(s, created or EPOCH) for s in p.stages],
        "createdAt": created,
        "updatedAt": created,
        "archived": False,
    }


def pipelines(srv: Portal, req: Request, object_type: str) -> Response:
    if object_type not in ("deals", "0-3"):
        return err.ok(200, {"results": []})
    return err.ok(200, {"results": [_pipeline_json(srv, p) for p in srv.world.pipelines]})


def pipeline(srv: Portal, req: Request, object_type: str, pipeline_id: str) -> Response:
    found = srv.world.pipeline(pipeline_id) if object_type in ("deals", "0-3") else None
    if found is None:
        return err.not_found(f"Unable to find pipeline {pipeline_id}")
    return err.ok(200, _pipeline_json(srv, found))


def _builtin_json(p: Prop) -> dict[str, Any]:
    return {
        "name": p.name,
        "label": p.label,
        "type": p.type,
        "fieldType": p.field_type,
        "description": "",
        "groupName": p.group,
        "options": [
            {"label": o, "value": o, "displayOrder": n, "hidden": False}
            for n, o in enumerate(p.options)
        ],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": p.name == "hs_object_id",
        "hidden": False,
        "hubspotDefined": True,
        "modificationMetadata": {
            "archivable": False,
            "readOnlyDefinition": True,
            "readOnlyValue": p.setter is None,
        },
        "formField": False,
        "createdAt": EPOCH,
        "updatedAt": EPOCH,
        "archived": False,
    }


def list_properties(srv: Portal, req: Request, kind: str, *, version: str = LEGACY) -> Response:
    results = [_builtin_json(p) for p in CATALOGUE[kind].values()]
    results += list(srv.world.defined_fields[kind].values())
    return err.ok(200, {"results": [property_answer(p, version) for p in results]})


def get_property(
    srv: Portal, req: Request, kind: str, name: str, *, version: str = LEGACY
) -> Response:
    builtin = CATALOGUE[kind].get(name)
    if builtin is not None:
        return err.ok(200, _builtin_json(builtin))
    defined = srv.world.defined_fields[kind].get(name)
    if defined is None:
        return err.not_found(f"Unable to find property {name}")
    return err.ok(200, property_answer(defined, version))


def _check_definition(body: dict[str, Any], partial: bool = False) -> str | None:
    required = () if partial else ("name", "label", "type", "fieldType", "groupName")
    missing = [k for k in required if not body.get(k)]
    if missing:
        return f"Missing required fields: {', '.join(missing)}"
    if "type" in body and body["type"] not in PROPERTY_TYPES:
        return f"Invalid property type {body['type']!r}"
    if "fieldType" in body and body["fieldType"] not in FIELD_TYPES:
        return f"Invalid fieldType {body['fieldType']!r}"
    if body.get("type") == "enumeration" and not body.get("options") and not partial:
        return "Enumeration properties need options"
    for option in body.get("options") or []:
        if not all(k in option for k in ("label", "value")):
            return "Each option needs a label and a value"
    return None


def create_property(srv: Portal, req: Request, kind: str, *, version: str = LEGACY) -> Response:
    body = req.json() or {}
    problem = _check_definition(body)
    if not problem and is_dated(version):
        unordered = [o for o in body.get("options") or [] if "displayOrder" not in o]
        if unordered:
            problem = f"Option {unordered[0].get('value')!r} is missing required field displayOrder"
    if problem:
        return err.validation(problem)
    name = str(body["name"])
    if name in CATALOGUE[kind] or name in srv.world.defined_fields[kind]:
        # Duplicate create -> 409; body shape per the friendly-error convention (§5)
        return err.error(409, "OBJECT_ALREADY_EXISTS", f"A property named '{name}' already exists.")
    now = iso(int(time.time() * 1000))
    definition = {
        "description": "",
        "displayOrder": -1,
        "hidden": False,
        "formField": False,
        "hasUniqueValue": False,
        **body,
        "options": [
            {"hidden": False, "displayOrder": n, **o}
            for n, o in enumerate(body.get("options") or [])
        ],
        "calculated": False,
        "externalOptions": False,
        "hubspotDefined": False,
        "modificationMetadata": {
            "archivable": True,
            "readOnlyDefinition": False,
            "readOnlyValue": False,
        },
        "createdAt": now,
        "updatedAt": now,
        "archived": False,
        "createdUserId": "1",
        "updatedUserId": "1",
    }
    srv.world.define_field(kind, name, definition)
    return err.ok(201, property_answer(definition, version))


def update_property(
    srv: Portal, req: Request, kind: str, name: str, *, version: str = LEGACY
) -> Response:
    defined = srv.world.defined_fields[kind].get(name)
    if defined is None:
        if name in CATALOGUE[kind]:
            return err.validation(f"Property {name} is a HubSpot-defined property")
        return err.not_found(f"Unable to find property {name}")
    body = req.json() or {}
    problem = _check_definition(body, partial=True)
    if problem:
        return err.validation(problem)
    changed = {**defined, **{k: v for k, v in body.items() if k != "name"}}
    changed["updatedAt"] = iso(int(time.time() * 1000))
    srv.world.define_field(kind, name, changed)
    return err.ok(200, property_answer(changed, version))


# Groups every portal has; a portal's own groups come from create_property_group.
BUILTIN_GROUPS = {
    "person": ("contactinformation",),
    "deal": ("dealinformation",),
    "company": ("companyinformation",),
}


def _builtin_group(name: str) -> dict[str, Any]:
    return {"name": name, "label": name, "displayOrder": -1, "archived": False}


def get_property_group(srv: Portal, req: Request, kind: str, name: str) -> Response:
    group = srv.property_groups.get(kind, {}).get(name)
    if group is None and name in BUILTIN_GROUPS.get(kind, ()):
        group = _builtin_group(name)
    if group is None:
        return err.not_found(f"Unable to find property group {name}")
    return err.ok(200, group)


def list_property_groups(srv: Portal, req: Request, kind: str) -> Response:
    """Built-in groups, then the portal's own (served on 2026-09 paths only)."""
    results = [_builtin_group(n) for n in BUILTIN_GROUPS.get(kind, ())]
    results += list(srv.property_groups.get(kind, {}).values())
    return err.ok(200, {"results": results})


def create_property_group(srv: Portal, req: Request, kind: str) -> Response:
    body = req.json() or {}
    name, label = body.get("name"), body.get("label")
    if not name or not label:
        return err.validation("Missing required fields: name, label")
    groups = srv.property_groups.setdefault(kind, {})
    if name in groups or name in BUILTIN_GROUPS.get(kind, ()):
        return err.error(409, "OBJECT_ALREADY_EXISTS", f"A group named '{name}' already exists.")
    group = {
        "name": str(name),
        "label": str(label),
        "displayOrder": int(body.get("displayOrder", -1)),
        "archived": False,
    }
    groups[str(name)] = group
    return err.ok(201, group)


def owners(srv: Portal, req: Request) -> Response:
    results = [
        {
            "id": str(o.id),
            "email": o.email,
            "firstName": o.first_name,
            "lastName": o.last_name,
            "userId": o.id + 9_000_000,
            "createdAt": iso(o.created),
            "updatedAt": iso(o.touched),
            "archived": o.archived,
        }
        for o in srv.world.iter("owner")
    ]
    return err.ok(200, {"results": results})
