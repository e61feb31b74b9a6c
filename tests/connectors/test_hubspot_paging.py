"""Keyset search paging, checked against an in-memory evaluator of the search body.

The end-to-end tests run the same code against the sandbox over HTTP; this one drives the
cases a sandbox world rarely produces (thousands of records on one millisecond, records
leaving the window mid-pull) through the real request-building and cursor code.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from milestones.connectors.hubspot.http import Response
from milestones.connectors.hubspot.paging import (
    MAX_FILTERS_PER_GROUP,
    SEARCH_LIMIT,
    SearchCursor,
    _search_body,
    search_pages,
)
from milestones.connectors.hubspot.versions import DEFAULT_VERSION, Paths


class _Index:
    """Evaluates the filters and the single sort rule the connector sends."""

    def __init__(self, stamps: dict[str, int]) -> None:
        self.stamps = stamps
        self.calls = 0
        self.paths = Paths(DEFAULT_VERSION)
        self.on_call: Any = None

    def call(
        self, category: str, method: str, path: str, *, body: dict[str, Any] | None = None
    ) -> Response:
        assert (category, method, path) == ("search", "POST", self.paths.search("contacts"))
        assert body is not None
        return self.search(body)

    def search(self, body: dict[str, Any]) -> Response:
        self.calls += 1
        if self.on_call:
            self.on_call(self)
        [group] = body["filterGroups"]
        rows = [(rid, ts) for rid, ts in self.stamps.items() if _match(rid, ts, group["filters"])]
        [sort] = body["sorts"]
        if sort["propertyName"] == "hs_object_id":
            rows.sort(key=lambda r: int(r[0]))
        else:  # one sort rule: ties come in no particular order
            random.Random(self.calls).shuffle(rows)
            rows.sort(key=lambda r: r[1])
        page = rows[: body["limit"]]
        results = [{"id": rid, "properties": {"lastmodifieddate": str(ts)}} for rid, ts in page]
        return Response(200, {"total": len(rows), "results": results})


def _match(rid: str, ts: int, filters: list[dict[str, Any]]) -> bool:
    for f in filters:
        value = int(rid) if f["propertyName"] == "hs_object_id" else ts
        op = f["operator"]
        if op == "NOT_IN":
            if rid in f["values"]:
                return False
            continue
        other = int(f["value"])
        ok = {
            "GTE": value >= other,
            "GT": value > other,
            "LTE": value <= other,
            "EQ": value == other,
        }[op]
        if not ok:
            return False
    return True


def _pull(index: _Index, since: int, until: int) -> list[str]:
    ids: list[str] = []
    for records, _ in search_pages(index, "contacts", ["email"], SearchCursor(since), until):
        ids.extend(r["id"] for r in records)
    return ids


def test_distinct_times_cost_one_call_per_full_page() -> None:
    index = _Index({str(i): 1000 + i for i in range(1, 1001)})
    ids = _pull(index, 0, 10**6)
    assert sorted(ids, key=int) == [str(i) for i in range(1, 1001)]
    assert len(ids) == len(set(ids))
    assert index.calls == 1000 // SEARCH_LIMIT  # total tells the last page: no empty call


def test_more_than_ten_thousand_changes_and_a_bulk_tie() -> None:
    stamps = {str(i): 5000 + i // 3 for i in range(1, 12001)}  # triples share a time
    stamps.update({str(i): 9999 for i in range(20000, 20450)})  # 450 on one millisecond
    index = _Index(stamps)
    ids = _pull(index, 0, 10**6)
    assert sorted(ids) == sorted(stamps)
    assert len(ids) == len(stamps)


def test_records_modified_during_the_pull_are_neither_lost_nor_doubled() -> None:
    stamps = {str(i): 1000 + i for i in range(1, 801)}
    index = _Index(stamps)
    moved: list[str] = []

    def touch(idx: _Index) -> None:  # each call, one not-yet-read record moves past the cap
        if idx.calls in (2, 3):
            rid = str(300 * idx.calls)
            idx.stamps[rid] = 10**7
            moved.append(rid)

    index.on_call = touch
    ids = _pull(index, 0, 10**6)
    expected = {r for r in stamps if r not in moved}
    assert set(ids) == expected and len(ids) == len(expected)


@pytest.mark.parametrize("cursor", [SearchCursor(5, seen=["1", "2"]), SearchCursor(7, True)])
def test_cursor_survives_its_json_form(cursor: SearchCursor) -> None:
    assert SearchCursor.from_json(cursor.to_json()) == cursor


@pytest.mark.parametrize(
    "cursor",
    [
        SearchCursor(lo=5),
        SearchCursor(lo=5, exclusive=True, seen=["1", "2"]),
        SearchCursor(lo=5, in_tie=True),
        SearchCursor(lo=5, in_tie=True, tie_after="7"),
    ],
)
def test_every_search_page_stays_within_hubspots_filter_limits(cursor: SearchCursor) -> None:
    body = _search_body("lastmodifieddate", ["email"], cursor, until_ms=9)
    [group] = body["filterGroups"]  # 5 groups, 6 filters each, 18 in all (reference 1.5)
    assert 1 <= len(group["filters"]) <= MAX_FILTERS_PER_GROUP == 6
