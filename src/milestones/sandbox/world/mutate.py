"""Mutations of the sandbox world, mixed into ``World`` (see ``store`` for the API).

Each one bumps ``modified``/``touched`` the way a CRM does, keeps the time indexes and
reverse associations current, and bumps ``world.version``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

from milestones.sandbox.world.records import (
    ACTIVITY_KINDS,
    RECORD_CLASSES,
    Activity,
    Deal,
    Person,
    kind_of,
)

TIME_ATTRS = ("modified", "touched")
_TIME_ATTRS = TIME_ATTRS


class WorldMutations:
    """The mutation half of ``World``; relies on its stores, indexes, lock and clock."""

    records: dict[str, dict[int, Any]]
    lock: Any
    version: int
    _time_index: dict[tuple[str, str], Any]
    _archived: dict[str, list[int]]
    _ids: dict[str, list[int]]
    _next_id: dict[str, int]
    deleted_log: list[tuple[str, int, int]]
    deleted_records: dict[int, Any]
    merged_into: dict[int, int]
    hidden_touched: dict[int, int]
    changes: dict[int, list[tuple[int, str, Any, Any]]]
    defined_fields: dict[str, dict[str, dict[str, Any]]]

    def bump(self, rec: Any, user: bool = True, ts: int | None = None) -> int:
        """Set ``touched`` (and ``modified`` for a user-visible change) to now; reindex."""
        ts = self.clock() if ts is None else ts
        with self.lock:
            for attr in _TIME_ATTRS if user else ("touched",):
                index = self._time_index.get((rec.kind, attr))
                if index is not None and not rec.archived:
                    index.remove(getattr(rec, attr), rec.id)
                    index.add(ts, rec.id)
                setattr(rec, attr, ts)
            self.version += 1
        return ts

    def _require(self, kind: str, record_id: int) -> Any:
        rec = self.get(kind, record_id)
        if rec is None:
            raise KeyError(f"no {kind} {record_id}")
        return rec

    def update(self, kind: str, record_id: int, values: dict[str, Any]) -> Any:
        """Set attributes (slot names) or custom properties (anything else, in ``extra``).

        Setting a deal's ``contact_ids`` or a person's ``company_id`` keeps the reverse
        associations current and touches the people whose roll-ups change.
        """
        with self.lock:
            rec = self._require(kind, record_id)
            slots = _slot_names(type(rec))
            before = set(getattr(rec, "contact_ids", ()) or ())
            moved = kind == "deal" and "stage" in values and values["stage"] != rec.stage
            ts = self.clock()
            self._unlink(rec)
            for name, value in values.items():
                if name in slots and name not in _PROTECTED:
                    self.record_change(rec.id, ts, name, getattr(rec, name), value)
                    setattr(rec, name, value)
                else:
                    if rec.extra is None:
                        rec.extra = {}
                    self.record_change(rec.id, ts, name, rec.extra.get(name), value)
                    rec.extra[name] = value
            self._link(rec)
            self.bump(rec, ts=ts)
            if moved:
                rec.entered = {**(rec.entered or {}), rec.stage: ts}
            after = set(getattr(rec, "contact_ids", ()) or ())
            self._touch_people(before ^ after, ts)
            return rec

    def record_change(self, record_id: int, ts: int, name: str, old: Any, new: Any) -> None:
        """Keep a value change in the record's property history (``changes``), as both CRMs
        do: HubSpot's ``propertiesWithHistory``, Salesforce's field history objects."""
        if old != new:
            self.changes.setdefault(record_id, []).append((ts, name, old, new))

    def value_history(self, rec: Any, name: str) -> list[tuple[int, Any]]:
        """(ms, value) of an attribute or custom property since the record's creation,
        oldest first; the value it was created with comes first (at ``created``)."""
        mine = sorted((c for c in self.changes.get(rec.id, ()) if c[1] == name), key=lambda c: c[0])
        if mine:
            first = mine[0][2]
        elif name in _slot_names(type(rec)):
            first = getattr(rec, name)
        else:
            first = (rec.extra or {}).get(name)
        return [(rec.created, first), *((ts, new) for ts, _name, _old, new in mine)]

    def _touch_people(self, person_ids: Iterable[int], ts: int) -> None:
        for pid in person_ids:
            person = self.get("person", pid)
            if person is not None:
                self.bump(person, user=False, ts=ts)

    def move_deal(self, deal_id: int, stage_id: str, pipeline_id: str | None = None) -> Deal:
        """Move a deal to a stage (closing it sets its close date to now)."""
        with self.lock:
            deal = self._require("deal", deal_id)
            found = self.stage(stage_id)
            if found is None:
                raise KeyError(f"no stage {stage_id}")
            pipeline, stage = found
            if pipeline_id is not None and pipeline_id != pipeline.id:
                raise KeyError(f"stage {stage_id} is not in pipeline {pipeline_id}")
            deal.stage, deal.pipeline = stage.id, pipeline.id
            ts = self.clock()
            deal.entered = {**(deal.entered or {}), stage.id: ts}
            if stage.is_closed:
                deal.close_ms = ts
            self.bump(deal, ts=ts)
            # Deal roll-ups on the contacts change (HubSpot recent_deal_close_date, ...).
            self._touch_people(deal.contact_ids, ts)
            return deal

    def add_activity(
        self, kind: str, person_ids: Iterable[int], deal_id: int | None = None, **fields: Any
    ) -> Activity:
        """Log an activity now (``timestamp`` defaults to now); touches its people."""
        if kind not in ACTIVITY_KINDS:
            raise KeyError(f"not an activity kind: {kind}")
        with self.lock:
            ts = self.clock()
            act = Activity()
            act.kind, act.id = kind, self.new_id(kind)
            act.created = act.modified = act.touched = ts
            act.archived, act.extra = False, None
            act.contact_ids = tuple(person_ids)
            act.deal_id = deal_id
            act.timestamp = fields.pop("timestamp", ts)
            for name in ("direction", "status", "disposition", "duration_ms", "owner_id"):
                setattr(act, name, fields.pop(name, None))
            act.subject = fields.pop("subject", None)
            if fields:
                act.extra = dict(fields)
            self.insert(act)
            self.version += 1
            self._touch_people(act.contact_ids, ts)
            return act

    def add_inbound_email(self, person_id: int, subject: str = "Re: following up") -> Activity:
        """The person replied by email: an INCOMING_EMAIL, i.e. two-way contact."""
        self._require("person", person_id)
        return self.add_activity(
            "email", [person_id], direction="INCOMING_EMAIL", status="SENT", subject=subject
        )

    def add_person(self, **fields: Any) -> Person:
        """Create a contact now; unspecified fields are None/False."""
        with self.lock:
            ts = self.clock()
            p = Person()
            for name in _slot_names(Person):
                setattr(p, name, None)
            p.id = self.new_id("person")
            p.created = p.modified = p.touched = ts
            p.archived = p.is_lead_only = p.opted_out = p.is_reference = False
            p.referred_by_email = False
            p.lifecycle, p.journey = "lead", "target"
            for name, value in fields.items():
                setattr(p, name, value)
            self.insert(p)
            self.version += 1
            return p

    def add(self, kind: str, **fields: Any) -> Any:
        """Create an owner, company or deal now (people: ``add_person``; activities:
        ``add_activity``); unspecified fields are None, a deal's ``contact_ids`` ()."""
        if kind in ACTIVITY_KINDS or kind == "person":
            raise KeyError(f"use add_activity or add_person for {kind}")
        with self.lock:
            ts = self.clock()
            rec = RECORD_CLASSES[kind]()
            for name in _slot_names(type(rec)):
                setattr(rec, name, None)
            rec.id = self.new_id(kind)
            rec.created = rec.modified = rec.touched = ts
            rec.archived = False
            if kind == "deal":
                rec.contact_ids = ()
            for name, value in fields.items():
                setattr(rec, name, value)
            if kind == "deal" and rec.stage is not None and rec.entered is None:
                rec.entered = {rec.stage: ts}
            self.insert(rec)
            self.version += 1
            self._touch_people(getattr(rec, "contact_ids", ()), ts)
            return rec

    def record_referral(
        self, referrer_id: int, person_id: int | None = None, by_email: bool = False
    ) -> Person:
        """Mark a person (a new one if None) as referred by ``referrer_id``."""
        with self.lock:
            referrer = self._require("person", referrer_id)
            values = {"referred_by": referrer.id, "referred_by_email": by_email}
            if person_id is None:
                n = self._next_id["person"]
                return self.add_person(
                    first_name="Referred",
                    last_name=f"Friend {n}",
                    email=f"referred.{n}@example.org",
                    owner_id=referrer.owner_id,
                    lead_source="REFERRALS",
                    **values,
                )
            return self.update("person", person_id, values)

    def archive(self, kind: str, record_id: int, archived: bool = True) -> Any:
        """Soft-delete (HubSpot archive, Salesforce recycle bin) or restore a record."""
        with self.lock:
            rec = self._require(kind, record_id)
            if rec.archived == archived:
                return rec
            ts = self.clock()
            for attr in _TIME_ATTRS:
                index = self._time_index.get((kind, attr))
                if index is not None:
                    if archived:
                        index.remove(getattr(rec, attr), rec.id)
                    else:
                        index.add(ts, rec.id)
                setattr(rec, attr, ts)
            rec.archived = archived
            if archived:
                bisect.insort(self._archived[kind], rec.id)
            else:
                self._archived[kind].remove(rec.id)
            self.version += 1
            self._touch_people(getattr(rec, "contact_ids", ()) or (), ts)
            return rec

    def delete(self, kind: str, record_id: int) -> None:
        """Remove a record for good (GDPR delete, hard delete); logged in ``deleted_log``."""
        with self.lock:
            rec = self._require(kind, record_id)
            if not rec.archived:
                for attr in _TIME_ATTRS:
                    index = self._time_index.get((kind, attr))
                    if index is not None:
                        index.remove(getattr(rec, attr), rec.id)
            else:
                self._archived[kind].remove(rec.id)
            self._unlink(rec)
            del self.records[kind][record_id]
            ids = self._ids[kind]
            del ids[bisect.bisect_left(ids, record_id)]
            ts = self.clock()
            self.deleted_log.append((kind, record_id, ts))
            self.deleted_records[record_id] = rec
            self.version += 1
            self._touch_people(getattr(rec, "contact_ids", ()) or (), ts)

    def merge(self, survivor_id: int, merged_id: int) -> Person:
        """Merge one person into another: the merged one is deleted, its links move over."""
        with self.lock:
            if survivor_id == merged_id:
                raise ValueError(f"cannot merge person {merged_id} into itself")
            survivor = self._require("person", survivor_id)
            merged = self._require("person", merged_id)
            earlier = merged.merged_ids or ()  # a chain: the survivor lists them all
            for deal_id in list(self.deals_of(merged_id)):
                deal = self.records["deal"][deal_id]
                ids = tuple(survivor_id if i == merged_id else i for i in deal.contact_ids)
                self.update("deal", deal_id, {"contact_ids": tuple(dict.fromkeys(ids))})
            for act_id in list(self.activities_of(merged_id)):
                act = self.records[kind_of(act_id)][act_id]
                self._unlink(act)
                ids = tuple(survivor_id if i == merged_id else i for i in act.contact_ids)
                act.contact_ids = tuple(dict.fromkeys(ids))
                self._link(act)
            self.delete("person", merged_id)
            self.merged_into[merged_id] = survivor_id
            survivor.merged_ids = (*(survivor.merged_ids or ()), *earlier, merged_id)
            self.bump(survivor)
            return survivor

    def merge_as_new(self, primary_id: int, other_id: int) -> Person:
        """Merge two people as HubSpot merges contacts since 2023: a new record with a new id
        takes the primary's values (the other's where the primary has none) and both links,
        and both old ids become aliases of it (``merged_into``), listed in its ``merged_ids``.

        Source: https://developers.hubspot.com/changelog/updated-merge-functionality-for-
        contacts-and-companies ("a new record with a new ID will be created for the resulting
        merged record ... fetching any records using the original IDs will return the new
        merged record with the new ID").
        """
        with self.lock:
            primary = self._require("person", primary_id)
            other = self._require("person", other_id)
            if primary is other:
                raise ValueError(f"cannot merge person {other_id} into itself")
            values = {}
            for name in _slot_names(Person):
                if name in _PROTECTED or name == "merged_ids":
                    continue
                mine = getattr(primary, name)
                values[name] = getattr(other, name) if mine is None else mine
            merged = self.add_person(**values)
            extra = {**(other.extra or {}), **(primary.extra or {})}
            merged.extra = extra or None
            for old in (primary_id, other_id):
                self.merge(merged.id, old)
            return merged

    def touch_hidden(self, kind: str, record_id: int, ts: int | None = None) -> int:
        """Change a hidden (internal) property of a record, as HubSpot does on its own: only
        its ``hs_lastmodifieddate`` moves, not ``lastmodifieddate`` (``World.object_touched``).
        """
        with self.lock:
            self._require(kind, record_id)
            ts = self.clock() if ts is None else ts
            self.hidden_touched[record_id] = ts
            self.version += 1
            return ts

    def survivor_of(self, kind: str, record_id: int) -> int:
        """The id a (possibly merged-away) id now stands for: merges are followed to the end."""
        seen = {record_id}
        while kind == "person" and record_id in self.merged_into:
            record_id = self.merged_into[record_id]
            if record_id in seen:  # pragma: no cover - merge refuses cycles
                break
            seen.add(record_id)
        return record_id

    def define_field(self, kind: str, name: str, definition: dict[str, Any]) -> None:
        """Remember a custom field created through an API (its values go in ``extra``)."""
        with self.lock:
            self.defined_fields[kind][name] = definition
            self.version += 1


_PROTECTED = frozenset({"id", "kind", "created", "modified", "touched", "archived", "extra"})
_SLOTS_CACHE: dict[type, frozenset[str]] = {}


def _slot_names(cls: type) -> frozenset[str]:
    names = _SLOTS_CACHE.get(cls)
    if names is None:
        found: set[str] = set()
        for c in cls.__mro__:
            found.update(getattr(c, "__slots__", ()))
        names = _SLOTS_CACHE[cls] = frozenset(found)
    return names
