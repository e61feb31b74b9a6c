"""The sandbox's demo world: a provider-neutral, mutable, in-memory CRM.

Both API flavours (HubSpot in ``hubspot.api``, Salesforce in ``salesforce.api``) serve
the same ``World``; each one translates these neutral records into its own wire format.

Build one with ``world.gen.generate_world(seed=7, contacts=500)`` (deterministic from
``(seed, contacts, anchor_ms)``). Scales to 200,000 people: every
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

Store API (mutations take ``world.lock`` themselves; a reader running beside writers,
such as a server thread, holds ``world.lock`` while it reads):

- ``get(kind, id)`` -> record or None (archived included; deleted records are gone).
- ``ids(kind)`` -> sorted list of live ids (archived included), for paging by id:
  ``ids_after(kind, after_id, archived=False, limit)``.
- ``by_time(kind, attr)`` -> ``SortedIndex`` of (``modified`` or ``touched``, id), kept up to
  date by every mutation, for "changed since" searches without scanning.
- ``deals_of(person_id)``, ``activities_of(person_id)``, ``people_of_company(company_id)``,
  ``activities_of_deal(deal_id)``, ``deals_of_company(company_id)``: reverse associations.
- Mutations (each bumps ``modified`` and ``touched`` like the CRM does, and also ``touched``
  on records whose roll-ups change, e.g. a person when a deal is associated):
  ``update(kind, id, values)`` (attributes or custom properties), ``move_deal(deal_id, stage,
  pipeline=None)``, ``add_activity(kind, person_ids, deal_id=None, **fields)``,
  ``add_inbound_email(person_id)``, ``add_person(**fields)``, ``add(kind, **fields)`` (owner,
  company, deal), ``record_referral(referrer_id,
  person_id=None)``, ``archive(kind, id)``, ``delete(kind, id)`` (kept in ``deleted_log`` and
  ``deleted_records``), ``merge(survivor, merged)`` (the survivor keeps its id),
  ``merge_as_new(primary, other)`` (HubSpot's merge: a new record; old ids stay aliases, see
  ``survivor_of``), ``touch_hidden(kind, id)`` (an internal property changed: only
  ``object_touched``, HubSpot's ``hs_lastmodifieddate``, moves).
- Custom fields the product writes (``sales_milestone``, ``Sales_Milestone__c``, ...): each
  flavour defines them with ``define_field(kind, name, definition)`` and stores values in
  ``record.extra`` (a dict, None until first written) via ``update``; the world keeps
  whatever value the flavour stores (HubSpot: strings or None).
- ``value_history(rec, name)``: each value an attribute or custom property held and since
  when (``record_change`` keeps them; ``update`` records every change it makes).
- ``describe(kind, id)`` -> plain JSON-able dict of every field, for inspection surfaces.
- ``clock()`` -> "now" in ms for writes: wall-clock time, but never earlier than the
  world's anchor and never going backwards. Tests may replace ``world.clock``.
"""

from __future__ import annotations

import bisect
import gc
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from milestones.sandbox.world.mutate import TIME_ATTRS as _TIME_ATTRS
from milestones.sandbox.world.mutate import WorldMutations
from milestones.sandbox.world.records import (
    ACTIVITY_KINDS,
    CALL_DISPOSITIONS,
    CONNECTED_DISPOSITION,
    ID_BASE,
    KINDS,
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
    kind_of,
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


class World(WorldMutations):
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
        self._acts_of_deal: dict[int, list[int]] = {}
        self._deals_of_company: dict[int, list[int]] = {}
        self._time_index: dict[tuple[str, str], SortedIndex] = {}
        self.defined_fields: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        self.deleted_log: list[tuple[str, int, int]] = []
        self.deleted_records: dict[int, Any] = {}  # hard-deleted records, for delete logs
        self.merged_into: dict[int, int] = {}  # merged-away person id -> the one it went into
        self.hidden_touched: dict[int, int] = {}  # record id -> its last hidden-property change
        # record id -> (ms, attribute or custom property, old value, new value), each change
        self.changes: dict[int, list[tuple[int, str, Any, Any]]] = {}
        self.version = 0
        self._last_clock = anchor_ms
        self.clock: Callable[[], int] = self._wall_clock
        self.meta: dict[str, Any] = {}

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

    def object_touched(self, rec: Any) -> int:
        """``touched`` or the record's last change of a hidden (internal) property, whichever
        is later: HubSpot's ``hs_lastmodifieddate`` (and ``updatedAt``) on contacts."""
        return max(rec.touched, self.hidden_touched.get(rec.id, 0))

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
            collecting = gc.isenabled()
            gc.disable()  # 100k fresh tuples would trigger full collections of the world
            try:
                recs = self.records[kind].values()
                pairs = [(getattr(r, attr), r.id) for r in recs if not r.archived]
                index = self._time_index[key] = SortedIndex(pairs)
            finally:
                if collecting:
                    gc.enable()
        return index

    def deals_of(self, person_id: int) -> list[int]:
        return self._deals_of.get(person_id, [])

    def activities_of(self, person_id: int, kind: str | None = None) -> list[int]:
        ids = self._acts_of.get(person_id, [])
        return ids if kind is None else [i for i in ids if kind_of(i) == kind]

    def activities_of_deal(self, deal_id: int, kind: str | None = None) -> list[int]:
        ids = self._acts_of_deal.get(deal_id, [])
        return ids if kind is None else [i for i in ids if kind_of(i) == kind]

    def deals_of_company(self, company_id: int) -> list[int]:
        return self._deals_of_company.get(company_id, [])

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

    def _links(self, rec: Any) -> list[tuple[dict[int, list[int]], int]]:
        """The reverse indexes (and keys) a record appears in."""
        if isinstance(rec, Deal):
            links = [(self._deals_of, pid) for pid in rec.contact_ids]
            if rec.company_id is not None:
                links.append((self._deals_of_company, rec.company_id))
            return links
        if isinstance(rec, Activity):
            links = [(self._acts_of, pid) for pid in rec.contact_ids]
            if rec.deal_id is not None:
                links.append((self._acts_of_deal, rec.deal_id))
            return links
        if isinstance(rec, Person) and rec.company_id is not None:
            return [(self._people_of, rec.company_id)]
        return []

    def _link(self, rec: Any) -> None:
        for index, key in self._links(rec):
            index.setdefault(key, []).append(rec.id)

    def _unlink(self, rec: Any) -> None:
        for index, key in self._links(rec):
            ids = index.get(key, [])
            if rec.id in ids:
                ids.remove(rec.id)
