"""CRM search (``POST /crm/v3/objects/{type}/search``), reference/hubspot-api.md §1.5.

Filter groups are OR'ed, filters inside a group AND'ed; at most 5 groups, 6 filters
per group, 18 in all (more is 400 VALIDATION_ERROR); ``limit`` up to 200; ``after`` is a
stringified offset and an offset of 10,000 or more is a 400 (``total`` may still exceed
10,000). Archived records never match; search returns no associations.

Searches sorted by ``hs_object_id`` or by a modified-time property walk a sorted index
from the first bound instead of scanning; when every filter is on that property the
total is counted by bisection too, so a 100k-record incremental sync stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from milestones.sandbox.hubspot.props import default_properties, parse_time
from milestones.sandbox.hubspot.search_index import plan_index, run_indexed
from milestones.sandbox.hubspot.values import property_type, render, value_of
from milestones.sandbox.world.store import World

# HubSpot's search documentation today: 5 filterGroups, 6 filters in a group, 18 in all
# (reference/hubspot-api.md section 1.5, which notes that the 2024 changelog once said
# 5/10/25 and the spec "up to 6 groups"; the sandbox holds clients to the strictest).
MAX_GROUPS, MAX_PER_GROUP, MAX_FILTERS = 5, 6, 18
MAX_LIMIT = 200
# Search hits carry the created and modified times and the id whether asked for or not, as
# the recorded search hit in reference/hubspot-api.md section 1.2 shows (createdate,
# hs_object_id and lastmodifieddate beside the asked-for properties); "" is engagements.
ALWAYS = {
    "person": ("createdate", "hs_object_id", "lastmodifieddate"),
    "deal": ("createdate", "hs_lastmodifieddate", "hs_object_id"),
    "company": ("createdate", "hs_lastmodifieddate", "hs_object_id"),
    "": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}
RESULT_CAP = 10_000
# properties backed by an integer attribute: compared and indexed without formatting
RAW_ATTRS = {
    "lastmodifieddate": "touched",
    "hs_lastmodifieddate": "touched",
    "createdate": "created",
    "hs_createdate": "created",
    "hs_object_id": "id",
    "hs_timestamp": "timestamp",
}
INDEXED = {"touched"}  # world.by_time keeps these sorted
QUERY_PROPS = ("email", "firstname", "lastname", "name", "dealname", "domain", "phone")
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
             "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}  # fmt: skip


class SearchError(ValueError):
    """A request HubSpot answers 400 VALIDATION_ERROR."""


Getter = Callable[[Any], Any]


def search(
    world: World, kind: str, body: dict[str, Any], visible_until: int | None = None
) -> dict[str, Any]:
    """Run one search request; returns the response payload or raises SearchError.

    ``visible_until`` models the search index lag (reference §1.5 "Index lag"): records
    changed after it are not found yet.
    """
    limit = _int(body.get("limit"), 10, "limit")
    if not 0 < limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}")
    offset = _int(body.get("after"), 0, "after")
    if offset >= RESULT_CAP:
        # "Attempting to page beyond 10,000 will result in a 400 error." (§1.5)
        raise SearchError(
            "There was a problem with the request. Paging is limited to 10000 results."
        )
    groups = [_group(world, kind, g) for g in _groups(body.get("filterGroups") or [])]
    query = str(body.get("query") or "").strip().lower()
    names = [*(body.get("properties") or default_properties(kind)), *ALWAYS.get(kind, ALWAYS[""])]
    names = list(dict.fromkeys(names))
    sort_name, descending = _sort(body.get("sorts") or [])
    attr = RAW_ATTRS.get(sort_name or "hs_object_id")
    if sort_name is not None and attr is None and property_type(world, kind, sort_name) is None:
        raise SearchError(f"Unable to sort by unknown property {sort_name}")

    def matches(rec: Any) -> bool:
        if rec.archived or (query and not _query_hit(world, kind, rec, query)):
            return False
        if visible_until is not None and rec.touched > visible_until:
            return False
        return not groups or any(all(f(rec) for f in g) for g in groups)

    if kind == "person" and _names_hidden_time(body):  # not the index's time: scan
        attr = None
    if attr == "id" or attr in INDEXED:
        plan = plan_index(body, lambda v: _coerce(v, "number", "hs_object_id"))
        plan.lag(visible_until)
        total, page = run_indexed(world, kind, attr, plan, matches, descending, offset, limit)
    else:
        recs = [r for r in world.iter(kind) if matches(r)]
        recs.sort(key=_sort_key(world, kind, sort_name or "hs_object_id"), reverse=descending)
        total, page = len(recs), recs[offset : offset + limit]
    out: dict[str, Any] = {
        "total": total,
        "results": [render(world, kind, r, names) for r in page],
    }
    if page and offset + len(page) < total:
        out["paging"] = {"next": {"after": str(offset + len(page)), "link": None}}
    return out


def _int(value: Any, default: int, name: str) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        msg = f"Cannot deserialize value of type `int` from String {value!r} ({name})"
        raise SearchError(msg) from None


def _groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = [len(g.get("filters") or []) for g in groups]
    if (
        len(groups) > MAX_GROUPS
        or sum(counts) > MAX_FILTERS
        or any(c > MAX_PER_GROUP for c in counts)
    ):
        raise SearchError(
            f"Too many filters: at most {MAX_GROUPS} filterGroups, {MAX_PER_GROUP} filters "
            f"per group and {MAX_FILTERS} in total"
        )
    return groups


def _sort(sorts: list[Any]) -> tuple[str | None, bool]:
    """First sort only (docs: one sort rule is honoured); objects or ``"-name"`` strings."""
    if not sorts:
        return None, False
    first = sorts[0]
    if isinstance(first, str):
        return first.lstrip("-"), first.startswith("-")
    return first.get("propertyName"), str(first.get("direction", "")).upper() == "DESCENDING"


def _names_hidden_time(body: dict[str, Any]) -> bool:
    """Whether a contact search filters or sorts on ``hs_lastmodifieddate`` (not indexed)."""
    names = [
        f.get("propertyName")
        for g in body.get("filterGroups") or []
        for f in g.get("filters") or []
    ]
    names.append(_sort(body.get("sorts") or [])[0])
    return "hs_lastmodifieddate" in names


def _getter(world: World, kind: str, name: str) -> tuple[Getter, str]:
    if kind == "person" and name == "hs_lastmodifieddate":
        return world.object_touched, "number"
    attr = RAW_ATTRS.get(name)
    if attr is not None and (name in ("hs_object_id",) or hasattr(_sample(world, kind), attr)):
        return (lambda r: getattr(r, attr)), "number"
    ptype = property_type(world, kind, name)
    if ptype is None:
        raise SearchError(f"Unable to filter on unknown property {name}")
    if ptype in ("datetime", "date"):
        return (lambda r: _opt_time(value_of(world, kind, r, name))), "number"
    if ptype == "number":
        return (lambda r: _opt_float(value_of(world, kind, r, name))), "number"
    return (lambda r: _lower(value_of(world, kind, r, name))), "string"


def _sample(world: World, kind: str) -> Any:
    ids = world.ids(kind)
    return world.get(kind, ids[0]) if ids else None


def _opt_time(v: str | None) -> int | None:
    return None if v is None else parse_time(v)


def _opt_float(v: str | None) -> float | None:
    return None if v is None else float(v)


def _lower(v: str | None) -> str | None:
    return None if v is None else v.lower()


def _coerce(value: Any, vtype: str, name: str) -> Any:
    if value is None:
        raise SearchError(f"Filter on {name} needs a value")
    try:
        if vtype == "number":
            text = str(value).strip()
            return float(text) if not text.lstrip("-").isdigit() else int(text)
        return str(value).lower()
    except ValueError:
        try:
            return parse_time(str(value))
        except ValueError:
            raise SearchError(f"{value!r} is not a valid value for {name}") from None


def _filter(world: World, kind: str, f: dict[str, Any]) -> Callable[[Any], bool]:
    name, op = f.get("propertyName") or "", str(f.get("operator", "EQ")).upper()
    if op not in OPERATORS:
        raise SearchError(f"Unknown operator {op}")
    get, vtype = _getter(world, kind, name)
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        want = op == "HAS_PROPERTY"
        return lambda r: (get(r) not in (None, "")) == want
    if op in ("IN", "NOT_IN"):
        values = {_coerce(v, vtype, name) for v in f.get("values") or []}
        inside = op == "IN"
        return lambda r: (get(r) in values) == inside
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token, want = str(f.get("value", "")).strip("*").lower(), op == "CONTAINS_TOKEN"
        return lambda r: (token in str(get(r) or "")) == want
    value = _coerce(f.get("value"), vtype, name)
    if op == "BETWEEN":
        high = _coerce(f.get("highValue"), vtype, name)
        return lambda r: (v := get(r)) is not None and value <= v <= high
    if op in ("EQ", "NEQ"):
        equal = op == "EQ"
        return lambda r: (get(r) == value) == equal
    key: Callable[[Any], Any] = lambda v: v  # noqa: E731
    if vtype == "string":  # numeric-looking strings (the NPS enumeration) compare as numbers
        key = _ordered
    bound = key(value)
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "LT": lambda v, b: v < b,
        "LTE": lambda v, b: v <= b,
        "GT": lambda v, b: v > b,
        "GTE": lambda v, b: v >= b,
    }
    test = compare[op]
    return lambda r: (v := get(r)) is not None and test(key(v), bound)


def _ordered(v: Any) -> Any:
    try:
        return (0, float(v), "")
    except (TypeError, ValueError):
        return (1, 0.0, v)


def _group(world: World, kind: str, group: dict[str, Any]) -> list[Callable[[Any], bool]]:
    return [_filter(world, kind, f) for f in group.get("filters") or []]


def _query_hit(world: World, kind: str, rec: Any, query: str) -> bool:
    return any(query in (value_of(world, kind, rec, p) or "").lower() for p in QUERY_PROPS)


def _sort_key(world: World, kind: str, name: str) -> Callable[[Any], Any]:
    get, _ = _getter(world, kind, name)
    return lambda r: ((v := get(r)) is None, v if v is not None else 0, r.id)
