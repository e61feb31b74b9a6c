"""``ensure_fields`` for HubSpot: the written properties on contacts and deals, idempotently.

Per object type: one read of the ``milestones`` property group (created when missing), one
read of all properties, then a create for each written field that is missing (hubspot-api.md
§5: 201 on create, 409 when it already exists, which counts as present). A second run finds
everything and changes nothing. ``dry_run`` reads only and reports ``would_create``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from milestones.connectors.base import FieldAction, FieldStatus
from milestones.connectors.fields import FIELD_TYPES, WriteSpec
from milestones.connectors.hubspot.http import HubSpotApiError, HubSpotHttp
from milestones.mapping.fields import (
    ACCOUNT_FIELDS,
    DEAL_FIELDS,
    PERSON_FIELDS,
    FieldKey,
    ObjectKind,
)
from milestones.mapping.records import Milestone

log = logging.getLogger(__name__)

GROUP = "milestones"
GROUP_LABEL = "Sales milestones"
LABELS: dict[FieldKey, str] = {
    "milestone": "Sales milestone",
    "milestone_date": "Sales milestone reached on",
    "next_milestone": "Next sales milestone",
    "disqualified": "Disqualified",
    "disqualified_reason": "Disqualified reason",
    "is_advocate": "Is an advocate",
    "advocate_since": "Advocate since",
    "deal_milestone": "Deal milestone",
    "next_milestone_likelihood": "Next milestone likelihood (% in 90 days)",
    "account_milestone": "Account milestone",
    "account_milestone_date": "Account milestone reached on",
    "account_advocates": "Advocates at the account",
    "account_contacts_engaged": "People engaged at the account",
}
# Our field type -> HubSpot (type, fieldType) and options (§5: valid pairs).
HUBSPOT_TYPES = {
    "milestone": ("enumeration", "select"),
    "date": ("date", "date"),
    "boolean": ("bool", "booleancheckbox"),
    "text": ("string", "text"),
    "percent": ("number", "number"),
    "number": ("number", "number"),
}


def definition(key: FieldKey, name: str) -> dict[str, Any]:
    """The ``PropertyCreate`` body for one written field."""
    kind = FIELD_TYPES[key]
    hs_type, field_type = HUBSPOT_TYPES[kind]
    body: dict[str, Any] = {
        "name": name,
        "label": LABELS[key],
        "groupName": GROUP,
        "type": hs_type,
        "fieldType": field_type,
        "description": "Written by crm-milestones.",
    }
    if kind == "milestone":
        body["options"] = [
            {"label": m.label.title(), "value": m.label, "displayOrder": int(m), "hidden": False}
            for m in Milestone
        ]
    elif kind == "boolean":
        body["options"] = [
            {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
            {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
        ]
    return body


# What the worker writes where: object kind, HubSpot object type, its type id, the keys.
# Account fields go on companies (type 0-2) only when ``[accounts]`` names them in the spec;
# creating a company property needs the crm.schemas.companies.write scope.
TARGETS: tuple[tuple[ObjectKind, str, str, tuple[FieldKey, ...]], ...] = (
    ("contact", "contacts", "0-1", PERSON_FIELDS),
    ("deal", "deals", "0-3", DEAL_FIELDS),
    ("account", "companies", "0-2", ACCOUNT_FIELDS),
)


def ensure_fields(http: HubSpotHttp, spec: WriteSpec, dry_run: bool) -> list[FieldStatus]:
    """Check, and unless ``dry_run`` create, the group and properties on contacts and deals."""
    statuses: list[FieldStatus] = []
    for object_kind, object_type, _type_id, keys in TARGETS:
        keys = tuple(k for k in keys if k in spec.names)
        if not keys:
            continue  # e.g. companies while [accounts] is off: no call at all
        existing = _properties(http, object_type)
        missing = [k for k in keys if spec.name(k) not in existing]
        if missing and not dry_run:
            _ensure_group(http, object_type)
        for key in keys:
            name = spec.name(key)
            if name in existing:
                statuses.append(_present(object_kind, key, name, existing[name]))
            elif dry_run:
                statuses.append(FieldStatus(object_kind, key, name, False, False, "would_create"))
            else:
                statuses.append(_create(http, object_kind, object_type, key, name))
    return statuses


def rules_version(http: HubSpotHttp, spec: WriteSpec) -> str | None:
    """A fingerprint of the portal's validation rules on the properties we write.

    Read from the property-validations API (dated versions only: None on the legacy paths),
    one call per object type. Rules the API does not show (conditional requirements) are
    not in it: a record's own change still lets its refused write be tried again.
    """
    found: list[tuple[str, str, Any]] = []
    for _kind, _type, type_id, keys in TARGETS:
        path = http.paths.property_validations(type_id)
        if path is None:
            return None
        ours = {spec.name(k) for k in keys if k in spec.names}
        if not ours:
            continue
        try:
            response = http.call("meta", "GET", path)
        except HubSpotApiError as exc:
            log.warning("hubspot: the portal's validation rules are unreadable: %s", exc.message)
            return None
        for entry in response.data.get("results") or []:
            name = str(entry.get("propertyName"))
            if name in ours:
                found.append((type_id, name, entry.get("propertyValidationRules") or []))
    text = json.dumps(sorted(found, key=lambda f: (f[0], f[1])), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _properties(http: HubSpotHttp, object_type: str) -> dict[str, Mapping[str, Any]]:
    path = http.paths.properties(object_type)
    response = http.call("meta", "GET", path, query={"archived": False})
    return {str(p.get("name")): p for p in response.data.get("results") or []}


def _ensure_group(http: HubSpotHttp, object_type: str) -> None:
    """Make sure the ``milestones`` group exists; a failure here is logged, not fatal.

    Property creation names the group; when the group truly is missing, that call says so
    on each field (``FieldStatus.problem``).
    """
    try:
        http.call("meta", "GET", http.paths.group(object_type, GROUP))
        return
    except HubSpotApiError as exc:
        if exc.status != 404:
            log.warning("hubspot: reading property group %s failed: %s", GROUP, exc.message)
            return
    body = {"name": GROUP, "label": GROUP_LABEL, "displayOrder": -1}
    try:
        http.call("meta", "POST", http.paths.groups(object_type), body=body)
    except HubSpotApiError as exc:
        if exc.status != 409:  # 409: created meanwhile, fine
            log.warning("hubspot: creating property group %s failed: %s", GROUP, exc.message)


def _create(
    http: HubSpotHttp, object_kind: ObjectKind, object_type: str, key: FieldKey, name: str
) -> FieldStatus:
    path = http.paths.properties(object_type)
    try:
        response = http.call("meta", "POST", path, body=definition(key, name))
    except HubSpotApiError as exc:
        if exc.status == 409:  # exists after all (created meanwhile): present
            return FieldStatus(object_kind, key, name, True, True)
        return FieldStatus(object_kind, key, name, False, False, problem=exc.message)
    return _present(object_kind, key, name, response.data, action="created")


def _present(
    object_kind: ObjectKind,
    key: FieldKey,
    name: str,
    prop: Mapping[str, Any],
    action: FieldAction = "none",
) -> FieldStatus:
    meta = prop.get("modificationMetadata") or {}
    writable = not bool(meta.get("readOnlyValue")) and not bool(prop.get("calculated"))
    expected, _ = HUBSPOT_TYPES[FIELD_TYPES[key]]
    actual = prop.get("type")
    problem = None
    if actual is not None and actual != expected and not _compatible(expected, str(actual)):
        problem = f"{name} is a {actual} property; expected {expected}"
    elif not writable:
        problem = f"{name} is read-only"
    return FieldStatus(
        object_kind,
        key,
        name,
        True,
        writable,
        action,
        problem=problem,
    )


def _compatible(expected: str, actual: str) -> bool:
    # A text or datetime property holds our values too (a date as YYYY-MM-DD).
    return (expected, actual) in {
        ("date", "datetime"),
        ("date", "string"),
        ("string", "enumeration"),
    }
