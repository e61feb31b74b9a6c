"""CRM object endpoints: list, get, create, update, archive, batch read/update/archive.

Reference/hubspot-api.md §1: lists page 100 at most (a larger ``limit`` is clamped to
100, the SDK's ``PAGE_MAX_SIZE``; 50 with ``propertiesWithHistory``) behind
``paging.next.after`` (the next record's id, opaque to clients), absent on the last page;
batches take 100 inputs (50 with history) and answer 207 with per-record errors on legacy
paths, 200 with the same ``errors``/``numErrors`` on 2026-09 (crm-api-changes-2026.md
§2.1). Writes are checked against the portal's validation rules (``rules``): on legacy
paths a broken format rule refuses the whole batch (400); on 2026-09 the input alone is
refused with a per-input ``VALIDATION_ERROR`` and conditional-required rules apply too.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from milestones.sandbox.hubspot import errors as err
from milestones.sandbox.hubspot.assoc import inline
from milestones.sandbox.hubspot.history import render_history
from milestones.sandbox.hubspot.portal import Portal
from milestones.sandbox.hubspot.props import OBJECT_TYPES, SINGULAR, default_properties, iso
from milestones.sandbox.hubspot.rules import Violation
from milestones.sandbox.hubspot.values import plan_write, render, value_of, written_values
from milestones.sandbox.hubspot.versions import LEGACY, batch_status, is_dated
from milestones.sandbox.server.http import Request, Response
from milestones.sandbox.world.store import ACTIVITY_KINDS, kind_of

LIST_MAX, HISTORY_MAX, BATCH_MAX = 100, 50, 100


def _names(req: Request, kind: str) -> list[str]:
    return req.params("properties") or list(default_properties(kind))


def _record(srv: Portal, kind: str, rec: Any, names: list[str], req: Request) -> Any:
    out = render(srv.world, kind, rec, names)
    history = req.params("propertiesWithHistory")
    if history:
        out["propertiesWithHistory"] = render_history(srv.world, kind, rec, history)
    assoc = req.params("associations")
    if assoc:
        links = inline(srv.world, kind, rec, assoc)
        if links:
            out["associations"] = links
    return out


def list_page(srv: Portal, req: Request, kind: str) -> Response:
    limit = to_int(req.param("limit"), 10)
    cap = HISTORY_MAX if req.params("propertiesWithHistory") else LIST_MAX
    if req.params("propertiesWithHistory"):
        srv.count_history_read(kind)
    limit = max(1, min(limit, cap))
    after = to_int(req.param("after"), 0)
    if not (req.param("after") or "0").isdigit():  # only cursors this server handed out
        return err.validation(f"Invalid paging cursor after={req.param('after')}")
    recs = srv.world.ids_after(kind, after - 1, req.flag("archived"), limit + 1)
    names = _names(req, kind)
    body: dict[str, Any] = {"results": [_record(srv, kind, r, names, req) for r in recs[:limit]]}
    if len(recs) > limit:
        nxt = str(recs[limit].id)
        body["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
    return err.ok(200, body)


def to_int(value: str | None, default: int) -> int:
    """A query parameter as an int, or the default when absent or malformed."""
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def find(srv: Portal, kind: str, raw_id: str, req: Request | None = None) -> Any:
    """A record by id (or by ``idProperty=email``); archived only when asked."""
    archived = req.flag("archived") if req is not None else False
    id_property = req.param("idProperty") if req is not None else None
    rec = None
    if id_property == "email" and kind == "person":
        want = raw_id.lower()
        rec = next(
            (p for p in srv.world.iter("person", archived) if (p.email or "").lower() == want), None
        )
    else:
        rec = live(srv, kind, raw_id)
    return rec if rec is not None and rec.archived == archived else None


def live(srv: Portal, kind: str, raw_id: str) -> Any:
    """The record an id names, archived included; a merged-away contact id names the record
    it was merged into, whose ``hs_merged_object_ids`` lists it: "both of the previous IDs
    will point to the resulting merged record, so fetching any records using the original IDs
    will return the new merged record with the new ID"
    (https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-
    companies). Updates through an old id reach the merged record too."""
    if not raw_id.isdigit():
        return None
    return srv.world.get(kind, srv.world.survivor_of(kind, int(raw_id)))


def get_one(srv: Portal, req: Request, kind: str, raw_id: str) -> Response:
    rec = find(srv, kind, raw_id, req)
    if rec is None:
        return err.not_found(f"Object not found.  objectId are usually numeric. id={raw_id}")
    return err.ok(200, _record(srv, kind, rec, _names(req, kind), req))


def _written(srv: Portal, kind: str, rec: Any, written: list[str]) -> dict[str, Any]:
    """Batch/PATCH results carry the written properties plus derived ones (reference §1.4)."""
    derived = ["lastmodifieddate"] if kind == "person" else ["hs_lastmodifieddate"]
    return render(srv.world, kind, rec, [*written, *derived, "hs_object_id"])


def _broken_rules(
    srv: Portal, kind: str, rec: Any, values: dict[str, Any], updates: Any, version: str
) -> list[Violation]:
    """The validation rules a planned write breaks (conditional ones on dated paths only)."""
    if not srv.rules.active:
        return []
    written = written_values(srv.world, kind, values, updates)
    current = partial(value_of, srv.world, kind, rec)
    return srv.rules.check(kind, written, current, conditional=is_dated(version))


def update_one(
    srv: Portal, req: Request, kind: str, raw_id: str, *, version: str = LEGACY
) -> Response:
    rec = find(srv, kind, raw_id, req)
    if rec is None:
        return err.not_found(f"Object not found.  objectId are usually numeric. id={raw_id}")
    values = (req.json() or {}).get("properties") or {}
    try:
        updates = plan_write(srv.world, kind, rec, values)
    except ValueError as exc:
        return err.property_errors([(str(exc).split('"')[1], str(exc))])
    broken = _broken_rules(srv, kind, rec, values, updates, version)
    if broken and is_dated(version):
        return err.rule_refusal(raw_id, broken)
    if broken:
        return err.property_errors([(v.name, v.message) for v in broken], [v.code for v in broken])
    srv.write(kind, rec.id, updates)
    return err.ok(200, _written(srv, kind, rec, list(values)))


def archive_one(srv: Portal, req: Request, kind: str, raw_id: str) -> Response:
    rec = find(srv, kind, raw_id)
    if rec is not None:
        srv.world.archive(kind, rec.id)
    return Response(204)  # HubSpot answers 204 for unknown ids too


def create(srv: Portal, req: Request, kind: str) -> Response:
    body = req.json() or {}
    planned = _plan_create(srv, kind, body)
    if isinstance(planned, Response):
        return planned
    return err.ok(201, _make(srv, kind, body, planned))


# HUBSPOT_DEFINED association type ids from an engagement to a contact (hubspot-api.md
# section 4.2; "Associations v4" type id list,
# https://developers.hubspot.com/docs/api/crm/associations#association-type-id-values).
TO_CONTACT_TYPE = {"call": 194, "email": 198, "meeting": 200, "note": 202, "task": 204}


def _plan_create(srv: Portal, kind: str, body: dict[str, Any]) -> Any:
    """The world updates for a create, or the 400 that refuses it (nothing is created)."""
    values = dict(body.get("properties") or {})
    if kind in ACTIVITY_KINDS and not values.get("hs_timestamp"):
        return err.validation('Property "hs_timestamp" is required for engagements')
    wrong = _wrong_association_type(kind, body.get("associations") or [])
    if wrong is not None:
        return err.validation(
            f"{wrong} is not a valid association type id from {kind} to contact",
            subCategory="crm.associations.INVALID_ASSOCIATION_TYPE",
        )
    try:
        return plan_write(srv.world, kind, None, values)
    except ValueError as exc:
        return err.property_errors([(str(exc).split('"')[1], str(exc))])


def _wrong_association_type(kind: str, associations: list[Any]) -> int | None:
    """A HUBSPOT_DEFINED type id that does not link this engagement to a contact."""
    expected = TO_CONTACT_TYPE.get(kind)
    for association in associations:
        target = str(((association or {}).get("to") or {}).get("id", ""))
        if expected is None or not target.isdigit() or kind_of(int(target)) != "person":
            continue
        for spec in (association or {}).get("types") or []:
            category = spec.get("associationCategory", "HUBSPOT_DEFINED")
            type_id = spec.get("associationTypeId")
            if category == "HUBSPOT_DEFINED" and type_id != expected:
                return int(type_id) if isinstance(type_id, int) else -1
    return None


def _make(srv: Portal, kind: str, body: dict[str, Any], updates: dict[str, Any]) -> Any:
    """Create the record with its associations (``[{"to": {"id": ...}, "types": [...]}]``)."""
    links = [str((a.get("to") or {}).get("id", "")) for a in body.get("associations") or []]
    people = [int(i) for i in links if i.isdigit() and kind_of(int(i)) == "person"]
    deals = [int(i) for i in links if i.isdigit() and kind_of(int(i)) == "deal"]
    w = srv.world
    if kind == "person":
        rec = w.add_person()
    elif kind in ACTIVITY_KINDS:
        rec = w.add_activity(kind, people, deals[0] if deals else None)
    else:
        rec = w.add(kind, **({"contact_ids": tuple(people)} if kind == "deal" else {}))
    srv.write(kind, rec.id, updates)
    names = [*default_properties(kind), *(body.get("properties") or {})]
    rendered = render(w, kind, rec, names)
    trace = body.get("objectWriteTraceId")
    if trace is not None:  # echoed per result, which come in no set order (batch create spec)
        rendered["objectWriteTraceId"] = str(trace)
    return rendered


def batch_create(srv: Portal, req: Request, kind: str) -> Response:
    """201 with every created record; one invalid input refuses the whole batch (400)."""
    started = iso(int(time.time() * 1000))
    inputs, _ = _inputs(req)
    too_many = _too_many(len(inputs), BATCH_MAX)
    if too_many:
        return too_many
    plans = [_plan_create(srv, kind, item) for item in inputs]
    refused = next((p for p in plans if isinstance(p, Response)), None)
    if refused is not None:
        return refused
    results = [_make(srv, kind, item, plan) for item, plan in zip(inputs, plans, strict=True)]
    response = _batch_response(results, [], started)
    response.status = 201
    return response


def _inputs(req: Request) -> tuple[list[Any], dict[str, Any]]:
    body = req.json() or {}
    return list(body.get("inputs") or []), body


def _too_many(n: int, cap: int) -> Response | None:
    if n > cap:
        return err.validation(
            f"The maximum number of inputs supported in a batch request is {cap}. "
            "Please reduce the number of items and try again"
        )
    return None


def batch_read(srv: Portal, req: Request, kind: str, *, version: str = LEGACY) -> Response:
    started = iso(int(time.time() * 1000))
    inputs, body = _inputs(req)
    history = body.get("propertiesWithHistory") or []
    too_many = _too_many(len(inputs), HISTORY_MAX if history else BATCH_MAX)
    if too_many:
        return too_many
    if history:
        srv.count_history_read(kind)
    names = body.get("properties") or list(default_properties(kind))
    archived = req.flag("archived")
    found, missing = [], []
    for item in inputs:
        raw = str(item.get("id", ""))
        rec = live(srv, kind, raw)
        if rec is None or rec.archived != archived:
            missing.append(raw)
        elif rec not in found:  # an old id and the merged record's own: one result
            found.append(rec)
    # results are not aligned with inputs (reference §1.3): serve them in id order
    found.sort(key=lambda r: r.id)
    errors = []
    if missing:
        message = (
            f"Could not get some {SINGULAR[kind].upper()} objects, they may be deleted or "
            "not exist. Check that ids are valid."
        )
        errors.append(err.batch_error("OBJECT_NOT_FOUND", message, missing))
    results = [render(srv.world, kind, r, names) for r in found]
    if history:
        for result, rec in zip(results, found, strict=True):
            result["propertiesWithHistory"] = render_history(srv.world, kind, rec, history)
    return _batch_response(results, errors, started, version)


def _batch_response(
    results: list[Any], errors: list[Any], started: str | None, version: str = LEGACY
) -> Response:
    payload: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors:
        payload["numErrors"] = len(errors)
        payload["errors"] = errors
    payload["startedAt"] = started
    payload["completedAt"] = iso(int(time.time() * 1000))
    return err.ok(batch_status(version, bool(errors)), payload)


def batch_update(srv: Portal, req: Request, kind: str, *, version: str = LEGACY) -> Response:
    started = iso(int(time.time() * 1000))
    inputs, _ = _inputs(req)
    too_many = _too_many(len(inputs), BATCH_MAX)
    if too_many:
        return too_many
    ids = [str(i.get("id", "")) for i in inputs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        return err.validation(f"Duplicate IDs found in batch input: {dupes}")
    w = srv.world
    plans, missing, refused = [], [], []
    problems: list[tuple[str, str]] = []
    codes: list[str | None] = []
    for item in inputs:
        raw = str(item.get("id", ""))
        rec = live(srv, kind, raw)  # a merged-away id: the write lands on the survivor
        values = item.get("properties") or {}
        if rec is None or rec.archived:
            missing.append(raw)
            continue
        try:
            updates = plan_write(w, kind, rec, values)
        except ValueError as exc:
            problems.append((str(exc).split('"')[1], str(exc)))
            codes.append(None)
            continue
        broken = _broken_rules(srv, kind, rec, values, updates, version)
        if broken and is_dated(version):  # 2026-09: this input alone is refused
            refused.append(err.rule_error(raw, broken))
            continue
        problems += [(v.name, v.message) for v in broken]
        codes += [v.code for v in broken]
        plans.append((rec, values, updates))
    if problems:  # one invalid property fails the whole batch (reference §1.4)
        return err.property_errors(problems, codes)
    results, errors = [], refused
    for rec, values, updates in plans:
        if srv.faults.fail_record():
            errors.append(_locked(kind, rec.id))
            continue
        srv.write(kind, rec.id, updates)
        results.append(_written(srv, kind, rec, list(values)))
    if missing:
        message = f"Could not update some {SINGULAR[kind].upper()} objects: they do not exist."
        errors.append(err.batch_error("OBJECT_NOT_FOUND", message, missing))
    return _batch_response(results, errors, started, version)


def _locked(kind: str, record_id: int) -> dict[str, Any]:
    """A transient per-record failure (the ``record`` fault); the text is the sandbox's own."""
    return err.batch_error(
        "CONFLICT",
        f"Unable to update {SINGULAR[kind].upper()} {record_id}: the record is locked by "
        "another update. Please try again.",
        [str(record_id)],
        subCategory="crm.objects.RECORD_LOCKED",
    )


def batch_archive(srv: Portal, req: Request, kind: str) -> Response:
    inputs, _ = _inputs(req)
    too_many = _too_many(len(inputs), BATCH_MAX)
    if too_many:
        return too_many
    for item in inputs:
        rec = find(srv, kind, str(item.get("id", "")))
        if rec is not None:
            srv.world.archive(kind, rec.id)
    return Response(204)


def merge(srv: Portal, req: Request, kind: str) -> Response:
    """``POST /crm/v3/objects/contacts/merge`` (and ``/crm/objects/2026-09/contacts/merge``):
    ``{"primaryObjectId", "objectIdToMerge"}`` as strings; 200 with the primary record.

    Source: https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/
    post-crm-v3-objects-contacts-merge (crm-api-changes-2026.md §2 for the dated path). As
    HubSpot does since its 2023 change (``World.merge_as_new``), the answer is a new record
    with a new id; both old ids are gone from lists and search and stay aliases (``live``).
    """
    if kind != "person":
        return err.validation(f"The sandbox merges contacts only, not {SINGULAR[kind]}s")
    body = req.json() or {}
    primary, other = str(body.get("primaryObjectId", "")), str(body.get("objectIdToMerge", ""))
    if not primary or not other:
        return err.validation("primaryObjectId and objectIdToMerge are required")
    with srv.world.lock:
        recs = [live(srv, kind, raw) for raw in (primary, other)]
        for raw, rec in zip((primary, other), recs, strict=True):
            if rec is None or rec.archived:
                return err.not_found(f"Object not found.  objectId are usually numeric. id={raw}")
        if recs[0].id == recs[1].id:
            return err.validation(f"Cannot merge contact {other} into itself")
        survivor = srv.world.merge_as_new(recs[0].id, recs[1].id)
        return err.ok(200, render(srv.world, kind, survivor, list(default_properties(kind))))


def object_kind(object_type: str) -> str | None:
    return OBJECT_TYPES.get(object_type.lower())
