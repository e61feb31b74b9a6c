"""What every connector offers the sync engine, and the errors it raises.

A connector is a small class satisfying ``Connector``: it speaks one CRM's wire format and
turns it into the canonical records of ``milestones.mapping.records`` and back. The engine
owns order, cursors and checkpoints; a connector owns HTTP, auth, paging, pacing and retries.

Errors are grouped by what the caller does next (STYLE.md): ``RetryableError`` is retried
inside the connector's request path and only escapes once its tries are spent; a record
that cannot be written is no exception but a failed ``WriteResult`` kept with its reason;
``StreamError`` aborts the current stream; ``QuotaExhausted`` stops the run cleanly so it
can checkpoint and resume; ``ConfigurationError`` asks the user to fix the config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol, runtime_checkable

from milestones.mapping.fields import Change, FieldKey, ObjectKind
from milestones.mapping.records import Activity, Contact, Deal, Link, Stage

RecordKind = Literal["contacts", "deals", "deal_contacts", "activities"]
FieldAction = Literal["none", "created", "would_create", "granted", "would_grant"]


Record = Contact | Deal | Activity | Link


@dataclass(frozen=True, slots=True)
class Window:
    """The span of modification times one pull covers.

    ``since`` is inclusive (the stored cursor minus the lookback) and None for a full pull;
    ``until`` is the cap, the run's start minus a small lag, so records changing while the
    run reads are left for the next run rather than half-read.
    """

    since: datetime | None
    until: datetime

    @property
    def is_full(self) -> bool:
        """True when the pull reads everything (and can find deletions by absence)."""
        return self.since is None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of pulled records.

    ``resume`` is an opaque token the same pull can restart from after this page (the engine
    stores it with the page in one transaction); None on the last page of the stream.
    ``deleted_ids`` are records of this kind found deleted, archived or merged away;
    ``merges`` pairs each merged-away id with the id of the record it was merged into (that
    record is on this page), so the state can carry its history over before erasing it.
    """

    kind: RecordKind
    records: Sequence[Record]
    resume: str | None = None
    deleted_ids: Sequence[str] = ()
    merges: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of one record's write: kept with its reason when it failed.

    ``by_rule`` marks a refusal by a validation rule the customer keeps in the CRM (a
    HubSpot property validation, a Salesforce validation rule): the same write fails the same
    way until the record or the rule changes. ``field`` is the field the refusal names.
    """

    record_id: str
    ok: bool
    code: str | None = None
    message: str | None = None
    is_retryable: bool = True
    by_rule: bool = False
    field: str | None = None


@dataclass(frozen=True, slots=True)
class FieldStatus:
    """One written field as the CRM has it: present, writable, created or to be created."""

    object_kind: ObjectKind
    key: FieldKey
    name: str
    exists: bool
    is_writable: bool
    action: FieldAction = "none"
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ApiSupport:
    """One API the worker speaks to a CRM, and when the vendor stops supporting it.

    ``ends`` is the vendor's announced end of support (None when none is announced);
    ``warn_days`` is how long before it ``check`` and every run warn; ``next_step`` says what
    to change (a config key, an auth mode) to move on, and ``source`` where the date comes from.
    """

    connector: str
    api: str
    ends: date | None
    warn_days: int
    next_step: str
    source: str

    def days_left(self, today: date) -> int | None:
        """Days from ``today`` to the end of support (negative once past), or None."""
        return None if self.ends is None else (self.ends - today).days

    def is_due(self, today: date) -> bool:
        """Whether ``today`` falls inside the warning window (or past the end)."""
        left = self.days_left(today)
        return left is not None and left <= self.warn_days

    def warning(self, today: date) -> str:
        """One line for a person: what ends when, and what to do."""
        left = self.days_left(today)
        if left is None:
            return f"{self.connector}: {self.api} has no announced end of support"
        when = f"ended on {self.ends}" if left < 0 else f"ends on {self.ends} ({left} days)"
        return f"{self.connector}: support for {self.api} {when}; {self.next_step}"


@dataclass(slots=True)
class Usage:
    """API calls this connector spent, and what the CRM says is left of its quota."""

    calls: dict[str, int] = field(default_factory=dict)
    daily_remaining: int | None = None
    daily_limit: int | None = None
    rate_limited: int = 0  # 429s (or the vendor's equivalent) seen

    @property
    def total(self) -> int:
        """All calls made."""
        return sum(self.calls.values())

    def count(self, category: str) -> None:
        """Record one call in ``category`` (read, search, write, meta, auth...)."""
        self.calls[category] = self.calls.get(category, 0) + 1


OnWait = Callable[[str, float], None]
"""Told before a connector waits: why (a rate limit's name, a retry's cause) and how long."""


class Connector(Protocol):
    """The few methods the engine needs from a CRM."""

    provider: str
    write_batch_size: int
    # Whether a batch should keep a parent's records together: Salesforce locks the parent
    # account's row while it updates its contacts, so writes go in account order there;
    # elsewhere they go in id order, which touches the fewest pages of the state.
    writes_by_parent: bool
    kinds: tuple[RecordKind, ...]  # in pull order

    def stages(self) -> list[Stage]:
        """The stage catalogue of every deal pipeline, read from the CRM."""
        ...

    def use_stages(self, stages: Sequence[Stage]) -> None:
        """Take the catalogue the state kept from an earlier read instead of reading it."""
        ...

    def pull(self, kind: RecordKind, window: Window, resume: str | None = None) -> Iterator[Page]:
        """Yield pages of ``kind`` modified inside ``window``, ordered so ``resume`` works."""
        ...

    def write(self, changes: Sequence[Change]) -> list[WriteResult]:
        """Write one batch (at most ``write_batch_size``); one result per change, in order."""
        ...

    def property_history(
        self, ids: Sequence[str], names: Sequence[str]
    ) -> dict[str, dict[str, list[tuple[datetime, str | None]]]]:
        """Contact id -> property -> its (moment, value) changes, for contacts whose pull did
        not carry them; ``{}`` where the CRM gives no history apart from the pull."""
        ...

    def owners(self) -> dict[str, str]:
        """Owner (sales rep) id -> name, every owner the CRM lists."""
        ...

    def ensure_fields(self, dry_run: bool) -> list[FieldStatus]:
        """Check, and unless ``dry_run`` create, the written fields and their permissions."""
        ...

    def usage(self) -> Usage:
        """Calls spent so far by this connector instance."""
        ...

    def rules_version(self) -> str | None:
        """A fingerprint of the CRM's validation rules on the written fields, or None when
        the CRM does not let us read them; a change lets refused writes be tried again."""
        ...

    def watch_waits(self, on_wait: OnWait | None) -> None:
        """Call ``on_wait`` before each wait for a rate limit or a retry (None: stop)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True, slots=True)
class DeletedRecords:
    """Records of one kind a CRM's delete log lists as deleted in a window.

    ``covered_until`` is where the log's answer ends (the next read starts there);
    ``earliest`` is how far back the log reached, for a read that asked for more.
    """

    ids: Sequence[str]
    covered_until: datetime
    earliest: datetime | None = None


@runtime_checkable
class DeletionLog(Protocol):
    """A CRM that keeps a log of deleted records (Salesforce's ``deleted`` resource): hard
    deletes, which incremental pulls cannot see, are found without a full pull."""

    log_days: int  # how many days back the log answers
    log_kinds: tuple[RecordKind, ...]  # the kinds it can list

    def deleted(self, kind: RecordKind, start: datetime, end: datetime) -> DeletedRecords:
        """The ids of ``kind`` deleted in [start, end) as the CRM's delete log lists them."""
        ...


class ConnectorError(Exception):
    """Base of connector errors; carries what an operator needs, never a secret."""

    def __init__(
        self,
        message: str,
        *,
        connector: str,
        object_name: str | None = None,
        status: int | None = None,
        code: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.connector = connector
        self.object_name = object_name
        self.status = status
        self.code = code
        self.url = url

    def __str__(self) -> str:
        parts = [f"{self.connector}: {self.message}"]
        detail = ", ".join(
            f"{label} {value}"
            for label, value in (
                ("object", self.object_name),
                ("status", self.status),
                ("code", self.code),
                ("url", self.url),
            )
            if value is not None
        )
        return f"{parts[0]} ({detail})" if detail else parts[0]


class RetryableError(ConnectorError):
    """A passing fault (rate limit, 5xx, reset connection); retried with backoff."""

    def __init__(
        self,
        message: str,
        *,
        connector: str,
        retry_after: float | None = None,
        object_name: str | None = None,
        status: int | None = None,
        code: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(
            message, connector=connector, object_name=object_name, status=status, code=code, url=url
        )
        self.retry_after = retry_after


class StreamError(ConnectorError):
    """The current stream cannot go on (a malformed answer, a missing object)."""


class QuotaExhausted(ConnectorError):
    """The daily quota, or the configured share of it, is spent: checkpoint and stop."""


class ConfigurationError(ConnectorError):
    """Credentials, URLs or field names are wrong: the user must fix the config."""
