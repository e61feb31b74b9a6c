"""HubSpot associations: inline on v3 list/get, and the batch read (reference §4.2).

``batch_read`` answers the legacy v4 shape (207 when an input has no associations); the
2026-09 path serves the same rows with 200 (``api``, crm-api-changes-2026.md §2.3).

Type ids are HubSpot's HUBSPOT_DEFINED ones (reference §4.2 "Common type ids"). Contact,
deal and company links carry both the primary and the unlabeled type, as real portals
do, so inline v3 associations list the same id twice with two types.
"""

from __future__ import annotations

from typing import Any

from milestones.sandbox.hubspot.props import OBJECT_TYPES, SINGULAR, TYPE_NAMES
from milestones.sandbox.world.store import ACTIVITY_KINDS, World

V4_MAX_INPUTS = 1000
V4_PAGE = 500  # "Limit 500 per call"
# Inline v3 associations are paginated per type (reference §1.1); the page size is not
# documented, the sandbox uses 100 ids.
INLINE_MAX = 100

_TO_CONTACT = {"call": 194, "email": 198, "meeting": 200, "note": 202, "task": 204}
_TO_DEAL = {"call": 206, "email": 210, "meeting": 212, "note": 214, "task": 216}
# (from kind, to kind) -> [(typeId, label, v3 type name)]
TYPES: dict[tuple[str, str], list[tuple[int, str | None, str]]] = {
    ("person", "deal"): [(4, None, "contact_to_deal")],
    ("deal", "person"): [(3, None, "deal_to_contact")],
    ("person", "company"): [
        (1, "Primary", "contact_to_company"),
        (279, None, "contact_to_company_unlabeled"),
    ],
    ("company", "person"): [
        (2, "Primary", "company_to_contact"),
        (280, None, "company_to_contact_unlabeled"),
    ],
    ("deal", "company"): [
        (5, "Primary", "deal_to_company"),
        (341, None, "deal_to_company_unlabeled"),
    ],
    ("company", "deal"): [
        (6, "Primary", "company_to_deal"),
        (342, None, "company_to_deal_unlabeled"),
    ],
}
for _k in ACTIVITY_KINDS:
    TYPES[(_k, "person")] = [(_TO_CONTACT[_k], None, f"{_k}_to_contact")]
    TYPES[("person", _k)] = [(_TO_CONTACT[_k] - 1, None, f"contact_to_{_k}")]
    TYPES[(_k, "deal")] = [(_TO_DEAL[_k], None, f"{_k}_to_deal")]
    TYPES[("deal", _k)] = [(_TO_DEAL[_k] - 1, None, f"deal_to_{_k}")]


def targets(world: World, from_kind: str, rec: Any, to_kind: str) -> list[int]:
    """Ids of the live, unarchived ``to_kind`` records associated with ``rec``."""
    if (from_kind, to_kind) not in TYPES:
        return []
    if from_kind == "person":
        if to_kind == "deal":
            ids = world.deals_of(rec.id)
        elif to_kind == "company":
            ids = [rec.company_id] if rec.company_id is not None else []
        else:
            ids = world.activities_of(rec.id, to_kind)
    elif to_kind == "person":
        ids = world.people_of_company(rec.id) if from_kind == "company" else list(rec.contact_ids)
    elif from_kind == "company":
        ids = world.deals_of_company(rec.id)
    elif from_kind == "deal" and to_kind in ACTIVITY_KINDS:
        ids = world.activities_of_deal(rec.id, to_kind)
    elif to_kind == "company":
        ids = [rec.company_id] if rec.company_id is not None else []
    else:  # activity -> deal
        ids = [rec.deal_id] if rec.deal_id is not None else []
    found = [world.get(to_kind, i) for i in ids]
    return [r.id for r in found if r is not None and not r.archived]


def inline(world: World, kind: str, rec: Any, to_types: list[str]) -> dict[str, Any]:
    """The v3 ``associations`` member: only types that have any, each id once per type."""
    out: dict[str, Any] = {}
    for name in to_types:
        to_kind = OBJECT_TYPES.get(name)
        if to_kind is None:
            continue
        ids = targets(world, kind, rec, to_kind)
        if ids:
            results = [
                {"id": str(i), "type": t[2]}
                for i in ids[:INLINE_MAX]
                for t in TYPES[(kind, to_kind)]
            ]
            block: dict[str, Any] = {"results": results}
            if len(ids) > INLINE_MAX:  # the rest through the v4 associations endpoints
                after = str(INLINE_MAX)
                block["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
            out[TYPE_NAMES[to_kind]] = block
    return out


def batch_read(world: World, from_kind: str, to_kind: str, inputs: list[Any]) -> tuple[int, Any]:
    """(status, payload) of ``POST /crm/v4/associations/{from}/{to}/batch/read``."""
    results, errors = [], []
    for item in inputs:
        raw_id = str(item.get("id", "")) if isinstance(item, dict) else str(item)
        rec = world.get(from_kind, int(raw_id)) if raw_id.isdigit() else None
        ids = [] if rec is None or rec.archived else targets(world, from_kind, rec, to_kind)
        offset = int(item.get("after") or 0) if isinstance(item, dict) else 0
        page = ids[offset : offset + V4_PAGE]
        if not page:
            errors.append(_no_associations(from_kind, to_kind, raw_id))
            continue
        entry: dict[str, Any] = {
            "from": {"id": raw_id},
            "to": [{"toObjectId": i, "associationTypes": _types(from_kind, to_kind)} for i in page],
        }
        if offset + V4_PAGE < len(ids):
            entry["paging"] = {"next": {"after": str(offset + V4_PAGE), "link": None}}
        results.append(entry)
    payload: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors:
        payload.update(numErrors=len(errors), errors=errors)
    return (207 if errors else 200), payload


def _types(from_kind: str, to_kind: str) -> list[dict[str, Any]]:
    return [
        {"category": "HUBSPOT_DEFINED", "typeId": t, "label": label}
        for t, label, _ in TYPES[(from_kind, to_kind)]
    ]


def _no_associations(from_kind: str, to_kind: str, raw_id: str) -> dict[str, Any]:
    """Inputs without associations are errors, not empty results (reference §4.2)."""
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
        "message": f"No {SINGULAR[to_kind]} is associated with {SINGULAR[from_kind]} {raw_id}.",
        "context": {
            "fromObjectId": [raw_id],
            "fromObjectType": [SINGULAR[from_kind]],
            "toObjectType": [SINGULAR[to_kind]],
        },
    }


def single(world: World, from_kind: str, rec: Any, to_kind: str, after: int, limit: int) -> Any:
    """``GET /crm/v4/objects/{type}/{id}/associations/{toType}`` payload."""
    ids = targets(world, from_kind, rec, to_kind)
    page = ids[after : after + limit]
    out: dict[str, Any] = {
        "results": [{"toObjectId": i, "associationTypes": _types(from_kind, to_kind)} for i in page]
    }
    if after + limit < len(ids):
        out["paging"] = {"next": {"after": str(after + limit), "link": None}}
    return out
