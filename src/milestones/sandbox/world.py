"""The sandbox's demo world: a provider-neutral, mutable, in-memory CRM.

Both API flavours (HubSpot in ``hubspot_api``, Salesforce in ``salesforce_api``) serve
the same ``World``; each one translates these neutral records into its own wire format.

Build one with ``World.generate(seed=7, contacts=500)`` (deterministic from
``(seed, contacts, anchor_ms)``; see ``world_gen``). Scales to 200,000 people: every
record is a ``__slots__`` object whose categorical fields point at shared interned
strings, and per-record dicts exist only for properties written through an API.

Record kinds (``World.KINDS``) and their classes:

- ``owner``   -> ``Owner``   sales reps.
- ``company`` -> ``Company`` (Salesforce: one Account per company).
- ``person``  -> ``Person``  everyone. ``person.is_lead_only``: never converted (HubSpot: a
  contact with lifecyclestage ``lead``; Salesforce: an unconverted Lead). ``person.converted_ms``
  set: a contact that came from a Lead (Salesforce also shows the Lead row, with
  ``ConvertedContactId``). Otherwise a plain contact.
- ``deal``    -> ``Deal``    ``pipeline``/``stage`` are ids from ``World.pipelines``;
  ``contact_ids[0]`` is the primary contact (Salesforce: OpportunityContactRole IsPrimary).
- ``email``, ``call``, ``meeting``, ``note``, ``task`` -> ``Activity`` (Salesforce: meetings
  are Events, the rest Tasks; emails also EmailMessages).

Categorical values use HubSpot's vocabulary as the neutral code (documented on each class):
email ``direction`` INCOMING_EMAIL/EMAIL/FORWARDED_EMAIL; call ``direction`` INBOUND/OUTBOUND,
``status`` COMPLETED/NO_ANSWER/BUSY/FAILED/..., ``disposition`` a HubSpot GUID (see
``CALL_DISPOSITIONS``); meeting ``status`` = outcome SCHEDULED/COMPLETED/RESCHEDULED/NO_SHOW/
CANCELED; task ``status`` NOT_STARTED/COMPLETED/...; person ``lead_status`` NEW/OPEN/
UNQUALIFIED/...; pipeline stage ids appointmentscheduled ... closedlost.

Timestamps are integer epoch milliseconds (UTC). Every record has ``created``,
``modified`` (user-visible last change: HubSpot ``lastmodifieddate``, Salesforce
``LastModifiedDate``) and ``touched`` (every change, system-driven ones too: HubSpot
``hs_lastmodifieddate``, Salesforce ``SystemModstamp``), ``touched >= modified``. The
generator makes some records share one timestamp exactly (bulk imports), so consumers
must break ties by id; Salesforce truncates to seconds, which ties even more.

Ids are ints, unique across the whole world (each kind has its own range, see ``ID_BASE``).

Store API (all methods are thread-safe; take ``world.lock`` yourself to read several
records consistently):

- ``get(kind, id)`` -> record or None (archived included; deleted records are gone).
- ``ids(kind)`` -> sorted list of live ids (archived included), for paging by id:
  ``ids_after(kind, after_id, archived=False, limit)``.
- ``by_time(kind, attr)`` -> ``SortedIndex`` of (``modified`` or ``touched``, id), kept up to
  date by every mutation, for "changed since" searches without scanning.
- ``deals_of(person_id)``, ``activities_of(person_id)``, ``people_of_company(company_id)``:
  reverse associations.
- Mutations (each bumps ``modified`` and ``touched`` like the CRM does, and also ``touched``
  on records whose roll-ups change, e.g. a person when a deal is associated):
  ``update(kind, id, values)`` (attributes or custom properties), ``move_deal(deal_id, stage,
  pipeline=None)``, ``add_activity(kind, person_ids, deal_id=None, **fields)``,
  ``add_inbound_email(person_id)``, ``add_person(**fields)``, ``add(kind, **fields)`` (owner,
  company, deal), ``record_referral(referrer_id,
  person_id=None)``, ``archive(kind, id)``, ``delete(kind, id)``.
- Custom fields the product writes (``sales_milestone``, ``Sales_Milestone__c``, ...): each
  flavour defines them with ``define_field(kind, name, definition)`` and stores values in
  ``record.extra`` (a dict, None until first written) via ``update``; the world keeps
  whatever value the flavour stores (HubSpot: strings or None).
- ``describe(kind, id)`` -> plain JSON-able dict of every field, for inspection surfaces.
- ``clock()`` -> "now" in ms for writes: wall-clock time, but never earlier than the
  world's anchor and never going backwards. Tests may replace ``world.clock``.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from milestones.sandbox.world_records import (
    ACTIVITY_KINDS,
    CALL_DISPOSITIONS,
    CONNECTED_DISPOSITION,
    ID_BASE,
    KINDS,
    RECORD_CLASSES,
    Activity,
    Company,
    Deal,
    Owner,
    Person,
    Pipeline,
    Record,
    SortedIndex,
    Stage,
    default_pipelines,
)

__all__ = [
    "ACTIVITY_KINDS",
    "CALL_DISPOSITIONS",
    "CONNECTED_DISPOSITION",
    "ID_BASE",
    "KINDS",
    "Activity",
    "Company",
    "Deal",
    "Owner",
    "Person",
    "Pipeline",
    "Record",
    "SortedIndex",
    "Stage",
    "World",
    "default_pipelines",
    "kind_of",
]

_BASES = sorted((base, kind) for kind, base in ID_BASE.items())
_TIME_ATTRS = ("modified", "touched")


def kind_of(record_id: int) -> str:
    """The kind a world id belongs to (ids are unique across kinds, see ``ID_BASE``)."""
    i = bisect.bisect_right(_BASES, (record_id, "~")) - 1
    return _BASES[max(i, 0)][1]


class World:
    """The mutable in-memory CRM. See the module docstring for the API."""

    def __init__(self, seed: int = 0, anchor_ms: int = 0, pipelines: list[Pipeline] | None = None):
        self.seed = seed
        self.anchor_ms = anchor_ms
        self.pipelines = pipelines if pipelines is not None else default_pipelines()
        self.lock = threading.RLock()
        self.records: dict[str, dict[int, Any]] = {k: {} for k in KINDS}
        self._ids: dict[str, list[int]] = {k: [] for k in KINDS}
        self._archived: dict[str, list[int]] = {k: [] for k in KINDS}
        self._next_id = {k: ID_BASE[k] + 1 for k in KINDS}
        self._deals_of: dict[int, list[int]] = {}
        self._acts_of: dict[int, list[int]] = {}
        self._people_of: dict[int, list[int]] = {}
        self._time_index: dict[tuple[str, str], SortedIndex] = {}
        self.defined_fields: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        self.deleted_log: list[tuple[str, int, int]] = []
        self.version = 0
        self._last_clock = anchor_ms
        self.clock: Callable[[], int] = self._wall_clock
        self.meta: dict[str, Any] = {}

    @classmethod
    def generate(
        cls,
        seed: int = 7,
        contacts: int = 500,
        anchor_ms: int | None = None,
        bulk_edit_share: float = 0.05,
    ) -> World:
        """A deterministic demo world; see ``world_gen.generate``."""
        from milestones.sandbox.world_gen import generate

        return generate(seed, contacts, anchor_ms, bulk_edit_share)

    # ---- clock and ids -------------------------------------------------------------------

    def _wall_clock(self) -> int:
        now = max(int(time.time() * 1000), self._last_clock)
        self._last_clock = now
        return now

    def new_id(self, kind: str) -> int:
        """Allocate the next id of a kind (ids only grow, so id order is creation order)."""
        rid = self._next_id[kind]
        self._next_id[kind] = rid + 1
        return rid

    # ---- reading -------------------------------------------------------------------------

    def pipeline(self, pipeline_id: str) -> Pipeline | None:
        return next((p for p in self.pipelines if p.id == pipeline_id), None)

    def stage(self, stage_id: str) -> tuple[Pipeline, Stage] | None:
        """The pipeline and stage of a stage id (stage ids are unique across pipelines)."""
        for p in self.pipelines:
            s = p.stage(stage_id)
            if s is not None:
                return p, s
        return None

    def get(self, kind: str, record_id: int) -> Any:
        """The record, archived included, or None."""
        return self.records[kind].get(record_id)

    def count(self, kind: str, archived: bool = False) -> int:
        n_arch = len(self._archived[kind])
        return n_arch if archived else len(self._ids[kind]) - n_arch

    def ids(self, kind: str) -> list[int]:
        """Sorted ids of every stored record of a kind (archived included). Do not mutate."""
        return self._ids[kind]

    def ids_after(
        self, kind: str, after_id: int = 0, archived: bool = False, limit: int = 100
    ) -> list[Any]:
        """Up to ``limit`` records with id > after_id in id order, archived or not."""
        source = self._archived[kind] if archived else self._ids[kind]
        recs = self.records[kind]
        out: list[Any] = []
        i = bisect.bisect_right(source, after_id)
        while i < len(source) and len(out) < limit:
            rec = recs[source[i]]
            if rec.archived == archived:
                out.append(rec)
            i += 1
        return out

    def iter(self, kind: str, archived: bool = False) -> Iterable[Any]:
        """Records of a kind in id order (a snapshot of the id list)."""
        recs = self.records[kind]
        for rid in list(self._ids[kind]):
            rec = recs.get(rid)
            if rec is not None and rec.archived == archived:
                yield rec

    def by_time(self, kind: str, attr: str = "touched") -> SortedIndex:
        """(``attr``, id) of the kind's live, unarchived records, sorted; kept current."""
        key = (kind, attr)
        index = self._time_index.get(key)
        if index is None:
            pairs = [
                (getattr(r, attr), r.id) for r in self.records[kind].values() if not r.archived
            ]
            index = self._time_index[key] = SortedIndex(pairs)
        return index

    def deals_of(self, person_id: int) -> list[int]:
        return self._deals_of.get(person_id, [])

    def activities_of(self, person_id: int, kind: str | None = None) -> list[int]:
        ids = self._acts_of.get(person_id, [])
        return ids if kind is None else [i for i in ids if kind_of(i) == kind]

    def people_of_company(self, company_id: int) -> list[int]:
        return self._people_of.get(company_id, [])

    def describe(self, kind: str, record_id: int) -> dict[str, Any] | None:
        """Every field of a record as a JSON-able dict, or None."""
        rec = self.get(kind, record_id)
        return None if rec is None else rec.fields()

    def summary(self) -> dict[str, Any]:
        """Counts per kind (live and archived) and the generator's metadata."""
        counts = {k: {"live": self.count(k), "archived": self.count(k, True)} for k in KINDS}
        return {"seed": self.seed, "anchor_ms": self.anchor_ms, "counts": counts, **self.meta}

    # ---- building (generator and mutations) ----------------------------------------------

    def insert(self, rec: Any) -> Any:
        """Store a new record (its id from ``new_id``) and index its associations."""
        kind = rec.kind
        self.records[kind][rec.id] = rec
        ids = self._ids[kind]
        if not ids or ids[-1] < rec.id:
            ids.append(rec.id)
        else:
            bisect.insort(ids, rec.id)
        if rec.archived:
            bisect.insort(self._archived[kind], rec.id)
        self._link(rec)
        for attr in _TIME_ATTRS:
            index = self._time_index.get((kind, attr))
            if index is not None and not rec.archived:
                index.add(getattr(rec, attr), rec.id)
        return rec

    def _link(self, rec: Any) -> None:
        if isinstance(rec, Deal):
            for pid in rec.contact_ids:
                self._deals_of.setdefault(pid, []).append(rec.id)
        elif isinstance(rec, Activity):
            for pid in rec.contact_ids:
                self._acts_of.setdefault(pid, []).append(rec.id)
        elif isinstance(rec, Person) and rec.company_id is not None:
            self._people_of.setdefault(rec.company_id, []).append(rec.id)

    def _unlink(self, rec: Any) -> None:
        pairs: list[tuple[dict[int, list[int]], int | None]] = []
        if isinstance(rec, Deal):
            pairs = [(self._deals_of, pid) for pid in rec.contact_ids]
        elif isinstance(rec, Activity):
            pairs = [(self._acts_of, pid) for pid in rec.contact_ids]
        elif isinstance(rec, Person):
            pairs = [(self._people_of, rec.company_id)]
        for index, key in pairs:
            ids = index.get(key, []) if key is not None else []
            if rec.id in ids:
                ids.remove(rec.id)

    # ---- mutations ----------------------------------------------------------------------

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
            self._unlink(rec)
            for name, value in values.items():
                if name in slots and name not in _PROTECTED:
                    setattr(rec, name, value)
                else:
                    if rec.extra is None:
                        rec.extra = {}
                    rec.extra[name] = value
            self._link(rec)
            ts = self.bump(rec)
            after = set(getattr(rec, "contact_ids", ()) or ())
            self._touch_people(before ^ after, ts)
            return rec

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
            self.version += 1
            self._touch_people(getattr(rec, "contact_ids", ()) or (), ts)

    def merge(self, survivor_id: int, merged_id: int) -> Person:
        """Merge one person into another: the merged one is deleted, its links move over."""
        with self.lock:
            survivor = self._require("person", survivor_id)
            self._require("person", merged_id)
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
            survivor.merged_ids = (*(survivor.merged_ids or ()), merged_id)
            self.bump(survivor)
            return survivor

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
