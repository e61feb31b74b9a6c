"""Reading HubSpot object pages: list endpoints for full pulls, keyset search for increments.

Full pulls page ``GET /crm/objects/{version}/{type}`` 100 at a time behind its opaque ``after``
cursor; the property list rides in the URL, so when it would make the URL long enough to risk
a 414 (hubspot-api.md §1.1, §9.8) the list is read with ids only and each page's properties
come from ``batch/read``, whose body carries them.

Incremental pulls use ``POST /crm/objects/{version}/{type}/search``, which stops at 10,000 results
(§1.5, §9.1) and honours one sort rule. Offset paging (``after``) would also skip records: a
record modified while the pull runs leaves the window (its new time is past the cap) and every
later record slides one place towards the offset already read. So every page is a fresh query
(keyset paging): modified time ``>=`` the last time seen and ``<=`` the window's cap, sorted by
modified time, with the ids already seen at that last time excluded through ``NOT_IN``. No
offset is ever used, so the cap is never reached and nothing slides. When more records share
one timestamp than ``NOT_IN`` can carry (a bulk import), that timestamp is read on its own,
sorted by ``hs_object_id`` and paged by ``hs_object_id > last id``.

``SearchCursor`` is the position, serialisable into the engine's resume token.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from milestones.connectors.hubspot.http import HubSpotHttp, results_of
from milestones.connectors.hubspot.records import (
    MODIFIED_PROPERTY,
    parse_time,
    to_millis,
    url_length,
)

LIST_LIMIT = 100  # list endpoints and batch read: at most 100 per call (§1.1)
SEARCH_LIMIT = 200  # search: up to 200 per page since 2024 (§1.5)
NOT_IN_MAX = 100  # ids excluded through one NOT_IN filter before reading a tie on its own
URL_BUDGET = 3000  # characters of properties in a list URL; more goes through batch/read
# Search takes at most 5 filterGroups, 6 filters in a group and 18 in all (reference
# hubspot-api.md section 1.5); a keyset page needs one group of at most three.
MAX_FILTERS_PER_GROUP = 6


@dataclass(slots=True)
class SearchCursor:
    """Where a keyset search stands: ``lo`` (epoch ms) and what was already read there."""

    lo: int
    exclusive: bool = False  # True: lo itself is done, read > lo
    seen: list[str] = field(default_factory=list)  # ids read at exactly lo
    tie_after: str | None = None  # reading lo alone, by id: last id read
    in_tie: bool = False

    def to_json(self) -> dict[str, Any]:
        """A small JSON-able form for the resume token (``seen`` only while NOT_IN holds it)."""
        data: dict[str, Any] = {"lo": self.lo}
        if self.exclusive:
            data["x"] = True
        if self.in_tie:
            data["tie"] = self.tie_after or ""
        elif self.seen:
            data["seen"] = list(self.seen)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchCursor:
        """Back from ``to_json``; a resumed tie re-reads ids after ``tie`` (duplicates are fine)."""
        tie = data.get("tie")
        return cls(
            lo=int(data["lo"]),
            exclusive=bool(data.get("x")),
            seen=[str(i) for i in data.get("seen", [])],
            tie_after=tie or None,
            in_tie=tie is not None,
        )


def list_pages(
    http: HubSpotHttp,
    object_type: str,
    properties: Sequence[str],
    *,
    after: str | None = None,
    archived: bool = False,
) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
    """Yield ``(records, next_after)`` for every list page; ``next_after`` None on the last."""
    path = http.paths.objects(object_type)
    props = list(properties)
    via_batch = not archived and url_length(props) > URL_BUDGET
    seen = {after} if after else set()
    while True:
        query = {
            "limit": LIST_LIMIT,
            "after": after,
            "properties": ["hs_object_id"] if via_batch else props,
            "archived": archived,
        }
        response = http.call("read", "GET", path, query=query)
        records = list(results_of(response, path))
        after = next_after(response.data)
        if after is not None:
            if after in seen:  # a vendor that repeats itself would page forever
                raise http.stream_error(f"paging cursor after={after!r} came twice", path)
            seen.add(after)
        if via_batch and records:
            records = read_batch(http, object_type, [r["id"] for r in records], props)
        yield records, after
        if after is None:
            return


def next_after(data: dict[str, Any]) -> str | None:
    """The ``paging.next.after`` cursor of an answer, None on the last page."""
    after = ((data.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None


def read_batch(
    http: HubSpotHttp, object_type: str, ids: Sequence[str], properties: Sequence[str]
) -> list[dict[str, Any]]:
    """Records by id with their properties in the request body (no URL-length limit)."""
    response = http.call(
        "read",
        "POST",
        http.paths.batch_read(object_type),
        query={"archived": False},
        body={"inputs": [{"id": i} for i in ids], "properties": list(properties)},
    )
    by_id = {str(r["id"]): r for r in response.data.get("results") or []}
    return [by_id[i] for i in map(str, ids) if i in by_id]  # results are unordered (§1.3)


def search_pages(
    http: HubSpotHttp,
    object_type: str,
    properties: Sequence[str],
    cursor: SearchCursor,
    until_ms: int,
) -> Iterator[tuple[list[dict[str, Any]], SearchCursor | None]]:
    """Yield ``(records, cursor_after)`` pages of records modified in [cursor, until_ms].

    ``cursor_after`` is None on the last page. Each record comes once, in modified-time order
    (ties in any order).
    """
    prop = MODIFIED_PROPERTY[object_type]
    path = http.paths.search(object_type)
    while True:
        body = _search_body(prop, properties, cursor, until_ms)
        response = http.call("search", "POST", path, body=body)
        results = list(results_of(response, path))
        total = int(response.data.get("total") or 0)
        try:
            fresh, cursor, more = _advance(cursor, results, total, prop)
        except ValueError as exc:  # the server does not page the way we asked: stop
            raise http.stream_error(str(exc), path) from None
        yield fresh, (cursor if more else None)
        if not more:
            return


def _search_body(
    prop: str, properties: Sequence[str], cursor: SearchCursor, until_ms: int
) -> dict[str, Any]:
    if cursor.in_tie:
        filters: list[dict[str, Any]] = [
            {"propertyName": prop, "operator": "EQ", "value": str(cursor.lo)}
        ]
        if cursor.tie_after:
            filters.append(
                {"propertyName": "hs_object_id", "operator": "GT", "value": cursor.tie_after}
            )
        sort = "hs_object_id"
    else:
        low_op = "GT" if cursor.exclusive else "GTE"
        filters = [
            {"propertyName": prop, "operator": low_op, "value": str(cursor.lo)},
            {"propertyName": prop, "operator": "LTE", "value": str(until_ms)},
        ]
        if cursor.seen:
            filters.append(
                {"propertyName": "hs_object_id", "operator": "NOT_IN", "values": cursor.seen}
            )
        sort = prop
    assert len(filters) <= MAX_FILTERS_PER_GROUP  # one group, so within every search limit
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
        "properties": list(dict.fromkeys([*properties, prop])),
        "limit": SEARCH_LIMIT,
    }


def _advance(
    cursor: SearchCursor, results: list[dict[str, Any]], total: int, prop: str
) -> tuple[list[dict[str, Any]], SearchCursor, bool]:
    """The new records of one answer, the cursor after it, and whether more may follow."""
    is_full = len(results) >= SEARCH_LIMIT and total > len(results)
    if cursor.in_tie:
        seen = set(cursor.seen)
        fresh = [r for r in results if str(r["id"]) not in seen]
        if is_full:
            last = str(results[-1]["id"])
            if cursor.tie_after and int(last) <= int(cursor.tie_after):
                raise ValueError(f"search ignored hs_object_id > {cursor.tie_after}")
            return (
                fresh,
                SearchCursor(cursor.lo, seen=cursor.seen, tie_after=last, in_tie=True),
                True,
            )
        # The tie is read: go on strictly after it. The tie query's total counts that
        # timestamp only, so one more range query decides whether anything follows.
        return fresh, SearchCursor(cursor.lo, exclusive=True), True
    seen = set(cursor.seen)
    fresh = [r for r in results if str(r["id"]) not in seen]
    if not fresh:  # a full page of ids already read: read that timestamp on its own
        tie = SearchCursor(cursor.lo, seen=cursor.seen, in_tie=True)
        return fresh, tie, is_full and not cursor.exclusive
    stamps = [_stamp(r, prop, cursor.lo) for r in fresh]
    newest = max(stamps)
    at_newest = [str(r["id"]) for r, s in zip(fresh, stamps, strict=True) if s == newest]
    if newest == cursor.lo and not cursor.exclusive:
        nxt = SearchCursor(newest, seen=[*cursor.seen, *at_newest])
    else:
        nxt = SearchCursor(newest, seen=at_newest)
    if len(nxt.seen) > NOT_IN_MAX:
        nxt = SearchCursor(newest, seen=nxt.seen, in_tie=True)
    return fresh, nxt, is_full


def _stamp(record: dict[str, Any], prop: str, default: int) -> int:
    when = parse_time((record.get("properties") or {}).get(prop))
    return to_millis(when) if when is not None else default
