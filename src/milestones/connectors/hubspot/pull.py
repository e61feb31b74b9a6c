"""Turning HubSpot pages into the engine's ``Page`` stream, associations included.

A kind is read as a list of segments: one object type (contacts; deals; emails, calls,
meetings, notes) in one phase. A full pull (``Window.since`` None) reads each type's live list
and then its archived list, whose ids become ``Page.deleted_ids``; an incremental pull searches
each type by modified time. Incremental pulls cannot see archiving (it does not bump the
modified time, hubspot-api.md §9.4), so deletions are found on full pulls only: one list call
per type and 100 archived records, which keeps an incremental run in proportion to what
changed; schedule a periodic ``sync --full`` to retire archived evidence sooner.

Deals need their contacts and activities their contacts and deals: these come from the
association batch read (§4.2; v4 on the legacy paths), 1,000 ids a call, so pages are
gathered until 1,000 records before one read per association type. Deals whose
``num_associated_contacts`` is ``0`` are not asked about. Merged-away contact ids
(``hs_merged_object_ids`` on the survivor, §9.5) are reported as deleted with the survivor's
page.

The resume token is JSON: ``{"type", "phase", "pos"}``, the position after the page it came
with (a list ``after`` cursor or a ``SearchCursor``), or the start of the next segment.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from milestones.connectors.base import Page, RecordKind, StreamError, Window
from milestones.connectors.hubspot.http import (
    PROVIDER,
    HubSpotHttp,
    results_of,
)
from milestones.connectors.hubspot.paging import (
    LIST_LIMIT,
    SEARCH_LIMIT,
    SearchCursor,
    list_pages,
    next_after,
    search_pages,
)
from milestones.connectors.hubspot.records import (
    PropertyPlan,
    rollup_activities,
    to_activity,
    to_contact,
    to_deal,
    to_millis,
)
from milestones.mapping.records import Stage

log = logging.getLogger(__name__)

ASSOCIATION_BATCH = 1000  # batch read inputs per call (§4.2, since 2025-02-10)
KIND_TYPES: dict[str, tuple[str, ...]] = {
    "contacts": ("contacts",),
    "deals": ("deals",),
    "activities": ("emails", "calls", "meetings", "notes"),
}
RawPage = tuple[list[dict[str, Any]], Any]  # records and the position after them


class HubSpotPuller:
    """Reads one kind inside one window as ``Page``s, resumable after any page."""

    def __init__(
        self,
        http: HubSpotHttp,
        plan: Callable[[], PropertyPlan],
        stages: Callable[[], Mapping[str, Stage]],
    ) -> None:
        self._http = http
        self._plan = plan
        self._stages = stages

    def pull(self, kind: RecordKind, window: Window, resume: str | None) -> Iterator[Page]:
        """Yield ``kind``'s pages; each carries the token to restart right after it."""
        if kind not in KIND_TYPES:
            raise StreamError(f"HubSpot has no {kind!r} stream", connector=PROVIDER)
        phases = ("live", "archived") if window.is_full else ("search",)
        segments = [(t, p) for t in KIND_TYPES[kind] for p in phases]
        start, position = 0, None
        if resume:
            start, position = _resume_point(segments, json.loads(resume))
        for index in range(start, len(segments)):
            object_type, phase = segments[index]
            following = segments[index + 1] if index + 1 < len(segments) else None
            end_token = _token(*following, None) if following else None
            pages = self._segment(kind, object_type, phase, window, position)
            for records, deleted, merges, after in pages:
                token = _token(object_type, phase, after) if after is not None else end_token
                yield Page(kind, records, token, deleted, merges)
            position = None

    def _segment(
        self, kind: str, object_type: str, phase: str, window: Window, position: Any
    ) -> Iterator[tuple[list[Any], list[str], list[tuple[str, str]], Any]]:
        plan = self._plan()
        props = plan.for_type(object_type)
        if phase == "archived":
            for records, after in list_pages(
                self._http, object_type, ["hs_object_id"], after=position, archived=True
            ):
                yield [], [str(r["id"]) for r in records], [], after
            return
        raw_pages: Iterator[RawPage]
        if phase == "live":
            raw_pages = list_pages(self._http, object_type, props, after=position)
            page_size = LIST_LIMIT
        else:
            if position is not None:
                cursor = SearchCursor.from_json(position)
            else:
                assert window.since is not None
                cursor = SearchCursor(to_millis(window.since))
            searched = search_pages(self._http, object_type, props, cursor, to_millis(window.until))
            raw_pages = ((r, c.to_json() if c else None) for r, c in searched)
            page_size = SEARCH_LIMIT
        if kind == "contacts":
            for records, after in raw_pages:
                yield (*self._contacts(records, plan), after)
            return
        for group in _grouped(raw_pages, page_size):
            yield from self._with_associations(object_type, group, plan)

    def _contacts(
        self, records: list[dict[str, Any]], plan: PropertyPlan
    ) -> tuple[list[Any], list[str], list[tuple[str, str]]]:
        out: list[Any] = []
        merges: list[tuple[str, str]] = []
        for raw in records:
            out.append(to_contact(raw, plan))
            if plan.rollups:
                out.extend(rollup_activities(raw, plan))
            ids = (raw.get("properties") or {}).get("hs_merged_object_ids")
            if ids:  # most contacts have absorbed no other
                survivor = str(raw["id"])
                merges.extend(
                    (i.strip(), survivor)
                    for i in str(ids).split(";")
                    if i.strip() and i.strip() != survivor
                )
        return out, [gone for gone, _ in merges], merges

    def _with_associations(
        self, object_type: str, group: list[RawPage], plan: PropertyPlan
    ) -> Iterator[tuple[list[Any], list[str], list[tuple[str, str]], Any]]:
        raws = [r for records, _ in group for r in records]
        if object_type == "deals":
            asked = [
                str(r["id"])
                for r in raws
                if (r.get("properties") or {}).get("num_associated_contacts") != "0"
            ]
            contacts = self.associations("deals", "contacts", asked)
            stages = self._stages()
            for records, after in group:
                deals = [to_deal(r, plan, contacts.get(str(r["id"]), ()), stages) for r in records]
                yield deals, [], [], after
            return
        ids = [str(r["id"]) for r in raws]
        people = self.associations(object_type, "contacts", ids)
        linked_deals = self.associations(object_type, "deals", ids)
        for records, after in group:
            activities = []
            for r in records:
                rid = str(r["id"])
                activities.append(
                    to_activity(r, object_type, people.get(rid, ()), linked_deals.get(rid, ()))
                )
            yield activities, [], [], after

    def associations(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, tuple[str, ...]]:
        """``from id -> associated ids`` through the batch read, every page of every id.

        Ids without associations come back as ``NO_ASSOCIATIONS_FOUND`` errors rather than
        empty results (§4.2: in a 207 on v4, in a 200 on dated versions); they have none.
        """
        found: dict[str, dict[str, None]] = {}
        path = self._http.paths.associations(from_type, to_type)
        seen: set[tuple[str, str]] = set()  # (from id, after): each may come once
        for start in range(0, len(ids), ASSOCIATION_BATCH):
            pending: list[dict[str, str]] = [
                {"id": i} for i in ids[start : start + ASSOCIATION_BATCH]
            ]
            while pending:
                response = self._http.call("associations", "POST", path, body={"inputs": pending})
                pending = []
                for result in results_of(response, path):
                    source = str((result.get("from") or {}).get("id"))
                    targets = found.setdefault(source, {})
                    for target in result.get("to") or ():
                        targets[str(target.get("toObjectId"))] = None
                    # A thousand results a call, nearly all on one page: look before reading.
                    after = next_after(result) if "paging" in result else None
                    if after is not None:
                        if (source, after) in seen:  # repeated: it would page forever
                            raise self._http.stream_error(
                                f"association paging cursor after={after!r} for {from_type} "
                                f"{source} came twice",
                                path,
                            )
                        seen.add((source, after))
                        pending.append({"id": source, "after": after})
                _log_association_errors(response.data.get("errors") or [])
        return {k: tuple(v) for k, v in found.items()}


def _grouped(pages: Iterator[RawPage], page_size: int) -> Iterator[list[RawPage]]:
    """Gather pages while one more could still fit in one association read."""
    group: list[RawPage] = []
    count = 0
    for records, after in pages:
        group.append((records, after))
        count += len(records)
        if count + page_size > ASSOCIATION_BATCH:
            yield group
            group, count = [], 0
    if group:
        yield group


def _log_association_errors(errors: list[dict[str, Any]]) -> None:
    for error in errors:
        sub = str(error.get("subCategory") or "")
        if not sub.endswith("NO_ASSOCIATIONS_FOUND"):
            log.warning(
                "hubspot: association read error %s: %s",
                error.get("category"),
                error.get("message"),
            )


def _resume_point(segments: list[tuple[str, str]], state: dict[str, Any]) -> tuple[int, Any]:
    """Where a token restarts; a token from another kind of pull (full vs incremental)
    restarts its object type from the beginning of this pull's phases."""
    key = (state.get("type"), state.get("phase"))
    if key in segments:
        return segments.index(key), state.get("pos")
    types = [t for t, _ in segments]
    return (types.index(key[0]) if key[0] in types else 0), None


def _token(object_type: str, phase: str, position: Any) -> str:
    return json.dumps({"type": object_type, "phase": phase, "pos": position}, sort_keys=True)
