"""Index plans for HubSpot search: answer keyset-style searches without scanning.

An incremental sync searches one filter group such as ``lastmodifieddate GTE a``,
``lastmodifieddate LTE b``, ``hs_object_id NOT_IN [...]`` sorted by the modified time, or
``lastmodifieddate EQ t``, ``hs_object_id GT x`` sorted by id (reading a timestamp tie).
Both are slices of the world's sorted ``(touched, id)`` index (or of its id list), minus
a few excluded ids, so page and exact ``total`` come from bisection. Anything else falls
back to testing every record of the slice.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

from milestones.sandbox.world.store import World

TIME_PROPS = {"lastmodifieddate", "hs_lastmodifieddate"}  # both read ``touched``
RANGE_OPS = ("GT", "GTE", "LT", "LTE", "EQ", "BETWEEN")
INF = float("inf")


class Plan:
    """Bounds on time and id, ids excluded, and whether nothing else filters (``pure``)."""

    def __init__(self) -> None:
        self.time: list[int | None] = [None, None]
        self.ids: list[int | None] = [None, None]
        self.excluded: set[int] = set()
        self.pure = True
        self.visible_until: int | None = None

    def lag(self, visible_until: int | None) -> None:
        """Hide records changed after ``visible_until`` (the search index lag)."""
        if visible_until is None:
            return
        self.visible_until = visible_until
        if self.time[1] is None or self.time[1] > visible_until:
            self.time[1] = visible_until

    @property
    def one_time(self) -> bool:
        return self.time[0] is not None and self.time[0] == self.time[1]


def plan_index(body: dict[str, Any], number: Callable[[Any], Any]) -> Plan:
    """Read the request's single filter group into a Plan (several groups: not pure)."""
    plan = Plan()
    groups = body.get("filterGroups") or []
    plan.pure = len(groups) <= 1 and not body.get("query")
    for f in groups[0].get("filters") or [] if len(groups) == 1 else []:
        name, op = f.get("propertyName") or "", str(f.get("operator", "")).upper()
        if name in TIME_PROPS and op in RANGE_OPS:
            _narrow(plan.time, op, f, number)
        elif name == "hs_object_id" and op in RANGE_OPS:
            _narrow(plan.ids, op, f, number)
        elif name == "hs_object_id" and op in ("NOT_IN", "NEQ"):
            values = f.get("values") if op == "NOT_IN" else [f.get("value")]
            plan.excluded.update(int(number(v)) for v in values or [])
        else:
            plan.pure = False
    return plan


def _narrow(bounds: list[int | None], op: str, f: dict[str, Any], number: Callable) -> None:
    v = int(number(f.get("value")))
    if op in ("GT", "GTE", "EQ", "BETWEEN"):
        lo = v + 1 if op == "GT" else v
        bounds[0] = lo if bounds[0] is None else max(bounds[0], lo)
    if op in ("LT", "LTE", "EQ", "BETWEEN"):
        hi = int(number(f.get("highValue"))) if op == "BETWEEN" else v
        hi = hi - 1 if op == "LT" else hi
        bounds[1] = hi if bounds[1] is None else min(bounds[1], hi)


def run_indexed(
    world: World,
    kind: str,
    sort_attr: str,
    plan: Plan,
    matches: Callable[[Any], bool],
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[int, list[Any]]:
    """(total, page) for a search sorted by ``touched`` or by id."""
    recs = world.records[kind]
    pure = plan.pure
    if sort_attr == "touched" or (sort_attr == "id" and plan.one_time):
        pairs = world.by_time(kind, "touched").pairs
        t_lo, t_hi = plan.time
        id_lo, id_hi = plan.ids if plan.one_time else (None, None)
        pure = pure and (plan.one_time or plan.ids == [None, None])
        lo_key = (-INF if t_lo is None else t_lo, -INF if id_lo is None else id_lo)
        hi_key = (INF if t_hi is None else t_hi, INF if id_hi is None else id_hi)
        lo, hi = bisect.bisect_left(pairs, lo_key), bisect.bisect_right(pairs, hi_key)
        hidden = 0  # the time index holds no archived record

        def record_at(i: int) -> Any:
            return recs[pairs[i][1]]

        def inside(r: Any) -> bool:
            return lo_key <= (r.touched, r.id) <= hi_key
    else:
        ids = world.ids(kind)
        id_lo, id_hi = plan.ids
        pure = pure and plan.time == [None, None] and plan.visible_until is None
        lo = 0 if id_lo is None else bisect.bisect_left(ids, id_lo)
        hi = len(ids) if id_hi is None else bisect.bisect_right(ids, id_hi)
        archived = world._archived[kind]
        hidden = _archived_between(archived, ids, lo, hi)

        def record_at(i: int) -> Any:
            return recs[ids[i]]

        def inside(r: Any) -> bool:
            return (id_lo is None or r.id >= id_lo) and (id_hi is None or r.id <= id_hi)

    span = range(hi - 1, lo - 1, -1) if descending else range(lo, hi)
    if not pure:
        return _scan(span, record_at, matches, offset, limit)
    gone = sum(1 for i in plan.excluded if (r := recs.get(i)) and not r.archived and inside(r))
    total = max(0, hi - lo - hidden - gone)
    if not hidden and not plan.excluded:
        return total, [record_at(i) for i in span[offset : offset + limit]]
    page: list[Any] = []
    seen = 0
    for i in span:
        rec = record_at(i)
        if rec.archived or rec.id in plan.excluded:
            continue
        if seen >= offset:
            page.append(rec)
            if len(page) == limit:
                break
        seen += 1
    return total, page


def _archived_between(archived: list[int], ids: list[int], lo: int, hi: int) -> int:
    if hi <= lo:
        return 0
    return bisect.bisect_right(archived, ids[hi - 1]) - bisect.bisect_left(archived, ids[lo])


def _scan(
    span: range, record_at: Callable[[int], Any], matches: Callable[[Any], bool], offset: int,
    limit: int,
) -> tuple[int, list[Any]]:  # fmt: skip
    """Test every record of the slice: exact total, page at the offset."""
    total, page = 0, []
    for i in span:
        rec = record_at(i)
        if matches(rec):
            if offset <= total < offset + limit:
                page.append(rec)
            total += 1
    return total, page
