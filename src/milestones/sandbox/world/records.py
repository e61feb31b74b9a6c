"""Record classes, pipelines and constants of the sandbox world (see ``store``)."""

from __future__ import annotations

import bisect
from typing import Any

KINDS = ("owner", "company", "person", "deal", "email", "call", "meeting", "note", "task")
ACTIVITY_KINDS = ("email", "call", "meeting", "note", "task")
ID_BASE = {
    "owner": 100,
    "company": 1_000_000,
    "person": 2_000_000,
    "deal": 5_000_000,
    "email": 10_000_000,
    "call": 20_000_000,
    "meeting": 30_000_000,
    "note": 40_000_000,
    "task": 50_000_000,
}

# HubSpot's default call dispositions (reference/hubspot-api.md section 4.1).
CALL_DISPOSITIONS = {
    "BUSY": "9d9162e7-6cf3-4944-bf63-4dff82258764",
    "CONNECTED": "f240bbac-87c9-4f6e-bf70-924b57d47db7",
    "LEFT_LIVE_MESSAGE": "a4c4c377-d246-4b32-a13b-75a56a4cd0ff",
    "LEFT_VOICEMAIL": "b2cf5968-551e-4856-9783-52b3da59a7d0",
    "NO_ANSWER": "73a0d17f-1163-4015-bdd5-ec830791da20",
    "WRONG_NUMBER": "17b47fee-58de-441e-a44c-c6300d46f273",
}
CONNECTED_DISPOSITION = CALL_DISPOSITIONS["CONNECTED"]


class Stage:
    """One pipeline stage. ``probability`` is 0.0-1.0; the world's stage ids are HubSpot's."""

    __slots__ = ("display_order", "id", "is_closed", "is_won", "label", "probability")

    def __init__(
        self, id: str, label: str, probability: float, is_closed: bool, is_won: bool, order: int
    ) -> None:
        self.id, self.label, self.probability = id, label, probability
        self.is_closed, self.is_won, self.display_order = is_closed, is_won, order


class Pipeline:
    """A deal pipeline: an id, a label and its ordered stages."""

    __slots__ = ("display_order", "id", "label", "stages")

    def __init__(self, id: str, label: str, order: int, stages: list[Stage]) -> None:
        self.id, self.label, self.display_order, self.stages = id, label, order, stages

    def stage(self, stage_id: str) -> Stage | None:
        """The stage with this id, or None."""
        return next((s for s in self.stages if s.id == stage_id), None)


def _stages(rows: list[tuple[str, str, float, bool, bool]]) -> list[Stage]:
    return [Stage(i, label, p, c, w, n) for n, (i, label, p, c, w) in enumerate(rows)]


def default_pipelines() -> list[Pipeline]:
    """HubSpot's default sales pipeline (reference section 3) and a renewals pipeline.

    The renewals pipeline uses numeric custom-stage ids like real portals; its
    ``1038553762`` ("At risk") stage is mapped by no configuration on purpose.
    """
    sales = _stages(
        [
            ("appointmentscheduled", "Appointment scheduled", 0.2, False, False),
            ("qualifiedtobuy", "Qualified to buy", 0.4, False, False),
            ("presentationscheduled", "Presentation scheduled", 0.6, False, False),
            ("decisionmakerboughtin", "Decision maker bought-in", 0.8, False, False),
            ("contractsent", "Contract sent", 0.9, False, False),
            ("closedwon", "Closed won", 1.0, True, True),
            ("closedlost", "Closed lost", 0.0, True, False),
        ]
    )
    renewals = _stages(
        [
            ("1038553760", "Renewal due", 0.5, False, False),
            ("1038553761", "Renewal negotiation", 0.7, False, False),
            ("1038553762", "At risk", 0.3, False, False),
            ("1038553763", "Renewed", 1.0, True, True),
            ("1038553764", "Churned", 0.0, True, False),
        ]
    )
    return [
        Pipeline("default", "Sales Pipeline", 0, sales),
        Pipeline("renewals", "Renewals", 1, renewals),
    ]


class Record:
    """Fields every record has. ``extra`` holds properties written through an API."""

    __slots__ = ("archived", "created", "extra", "id", "modified", "touched")
    kind = ""

    def fields(self) -> dict[str, Any]:
        """Every slot as a plain dict (for inspection and tests)."""
        names: list[str] = []
        for cls in type(self).__mro__:
            names.extend(getattr(cls, "__slots__", ()))
        out = {n: getattr(self, n) for n in sorted(set(names))}
        out["kind"] = self.kind
        return out


class Owner(Record):
    """A sales rep (HubSpot owner, Salesforce User)."""

    __slots__ = ("email", "first_name", "last_name")
    kind = "owner"


class Company(Record):
    """A company (Salesforce Account). ``domain`` may be None."""

    __slots__ = ("domain", "industry", "name", "owner_id")
    kind = "company"


class Person(Record):
    """A person. See the module docstring for the contact / lead-only / converted split.

    ``referred_by``: the referrer's person id or None; ``referred_by_email``: HubSpot shows
    the referrer's email instead of its id in ``referred_by`` (both forms exist in portals).
    ``lead_status``: HubSpot hs_lead_status code or None. ``lifecycle``: HubSpot
    lifecyclestage. ``nps``: 0-10 or None, ``nps_ms`` the survey date.
    ``merged_ids``: ids of people merged into this one (their records are deleted).
    ``journey``: the milestone the generator meant this person to reach (target ...
    advocate), for tests and benchmarks only; no API serves it.
    """

    __slots__ = (
        "company_id",
        "converted_ms",
        "email",
        "first_name",
        "is_lead_only",
        "is_reference",
        "job_title",
        "journey",
        "last_name",
        "lead_source",
        "lead_status",
        "lifecycle",
        "merged_ids",
        "nps",
        "nps_ms",
        "opted_out",
        "owner_id",
        "phone",
        "referred_by",
        "referred_by_email",
    )
    kind = "person"


class Deal(Record):
    """A deal (Salesforce Opportunity). ``close_ms``: expected or actual close date.

    ``entered``: stage id -> epoch ms the deal last entered that stage; an entry stays when
    the deal moves on (HubSpot's ``hs_v2_date_entered_<stage>``; Salesforce shows the
    current stage's as ``LastStageChangeDate``).
    """

    __slots__ = (
        "amount",
        "close_ms",
        "company_id",
        "contact_ids",
        "entered",
        "name",
        "owner_id",
        "pipeline",
        "referred_by",
        "stage",
    )
    kind = "deal"


class Activity(Record):
    """An email, call, meeting, note or task (``kind`` is per instance).

    ``timestamp``: when it happened (HubSpot hs_timestamp). ``direction``: email
    INCOMING_EMAIL/EMAIL/FORWARDED_EMAIL, call INBOUND/OUTBOUND, else None. ``status``:
    email SENT/BOUNCED..., call COMPLETED/NO_ANSWER/..., meeting outcome, task status, note
    None. ``disposition``: call outcome GUID or None. ``duration_ms``: calls and meetings.
    """

    __slots__ = (
        "contact_ids",
        "deal_id",
        "direction",
        "disposition",
        "duration_ms",
        "kind",
        "owner_id",
        "status",
        "subject",
        "timestamp",
    )


RECORD_CLASSES: dict[str, type[Record]] = {
    "owner": Owner,
    "company": Company,
    "person": Person,
    "deal": Deal,
    **{k: Activity for k in ACTIVITY_KINDS},
}


class SortedIndex:
    """(timestamp, id) pairs kept sorted, for "changed since, oldest first" queries."""

    def __init__(self, pairs: list[tuple[int, int]]) -> None:
        self.pairs = sorted(pairs)

    def add(self, ts: int, id: int) -> None:
        bisect.insort(self.pairs, (ts, id))

    def remove(self, ts: int, id: int) -> None:
        i = bisect.bisect_left(self.pairs, (ts, id))
        if i < len(self.pairs) and self.pairs[i] == (ts, id):
            del self.pairs[i]

    def since(self, ts: int, id: int = -1) -> int:
        """Position of the first pair >= (ts, id)."""
        return bisect.bisect_left(self.pairs, (ts, id))

    def __len__(self) -> int:
        return len(self.pairs)


_BASES = sorted((base, kind) for kind, base in ID_BASE.items())
_TIME_ATTRS = ("modified", "touched")


def kind_of(record_id: int) -> str:
    """The kind a world id belongs to (ids are unique across kinds, see ``ID_BASE``)."""
    i = bisect.bisect_right(_BASES, (record_id, "~")) - 1
    return _BASES[max(i, 0)][1]
