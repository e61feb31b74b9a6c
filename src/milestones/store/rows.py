"""The named rows that cross the store's boundary: what callers read and hand back.

No caller indexes a tuple by position: each row the store returns or takes is one of these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from milestones.mapping.derive import Derived
from milestones.mapping.records import Bundle, Deal

RUN_FIGURES = ("records_read", "changed", "written", "failed", "api_calls")


@dataclass(slots=True)
class Cursor:
    """Where one (provider, kind, lane) pull stands.

    ``committed`` is the ``until`` of the last completed pull; while a pull runs (or after it
    crashed) ``window_since``/``window_until``, ``resume`` and ``pull_id`` describe it.
    """

    provider: str
    kind: str
    lane: str
    committed: datetime | None = None
    window_since: datetime | None = None
    window_until: datetime | None = None
    resume: str | None = None
    pull_id: int | None = None
    is_running: bool = False
    pages: int = 0


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run log row, as ``status`` shows it."""

    id: int
    command: str
    provider: str | None
    started_at: str
    finished_at: str | None
    records_read: int | None
    changed: int | None
    written: int | None
    failed: int | None
    api_calls: int | None
    duration: float | None
    outcome: str | None
    detail: str | None

    def as_dict(self) -> dict[str, Any]:
        """The row as a plain dict (for ``--json``)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One milestone reached by one record: from where, when, on what evidence, in which run."""

    record_kind: str
    record_id: str
    from_milestone: str | None
    to_milestone: str
    reached_on: str | None
    evidence: str | None
    run_id: int | None
    recorded_at: str
    basis: str | None = None  # observed | inferred; None on rows from before 0.3.0

    def as_history(self) -> dict[str, Any]:
        """The entry as ``explain`` lists it (the record is the one explained)."""
        data = asdict(self)
        del data["record_id"]
        return data


@dataclass(frozen=True, slots=True)
class WriteRow:
    """A planned write that is pending or failed, with its reason.

    ``fields`` is the stored JSON text of the values, as ``status --json`` has always shown it.
    """

    object_kind: str
    record_id: str
    grp: str
    fields: str
    status: str
    attempts: int
    is_retryable: int
    code: str | None
    message: str | None
    run_id: int | None
    updated_at: str | None
    field: str | None = None  # the field a refusing validation rule names

    def as_dict(self) -> dict[str, Any]:
        """The row as a plain dict (for ``--json``)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class FailedWrite:
    """What the CRM said about one write it did not take.

    ``by_rule``: the CRM's own validation rule refused it (kept as ``refused``, with the
    ``field`` the rule names, until the record or the rules change).
    """

    record_id: str
    code: str | None
    message: str
    is_retryable: bool
    by_rule: bool = False
    field: str | None = None


@dataclass(slots=True)
class Person:
    """One person to derive: the bundle, the prior result, the CRM's values of our fields."""

    bundle: Bundle
    prior: Derived | None
    crm: dict[str, str | None]


@dataclass(slots=True)
class PeopleChunk:
    """The people of a chunk, and the dirty ids that need no derivation (gone or converted)."""

    people: list[Person] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoredDeal:
    """A deal as the mirror holds it: the record, its last derived level, the CRM's values."""

    deal: Deal
    level: int | None
    crm: dict[str, str | None]
    is_deleted: bool = False


@dataclass(frozen=True, slots=True)
class StoredPerson:
    """A person's last derived result and the CRM's values of our fields."""

    derived: Derived | None
    crm: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class Counts:
    """What ``status`` counts in the state."""

    people: int
    dirty: int
    writes_pending: int
    writes_failed: int
    writes_refused: int = 0
