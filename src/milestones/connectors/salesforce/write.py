"""Write-back through sObject Collections: 200 records a call, per-record results.

``PATCH composite/sobjects`` with ``allOrNone: false`` answers HTTP 200 even when some
records fail; every item must be read (reference section 2.1). Records are sent sorted by
object type and account so same-type records form few chunks (at most 10 per call) and
children of one account sit together, which keeps parent-row lock contention down
(reference sections 5.2 and 7.4). Rows that fail with ``UNABLE_TO_LOCK_ROW`` are sent
again, alone, after a backoff; other per-record errors are kept with their status code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from milestones.connectors.base import ConfigurationError, StreamError, WriteResult
from milestones.connectors.fields import FIELD_TYPES, FieldType, WriteSpec
from milestones.connectors.salesforce.client import CONNECTOR, SalesforceClient
from milestones.connectors.transport import Sleep, backoff_wait
from milestones.mapping.fields import Change, FieldKey

log = logging.getLogger(__name__)
SOBJECTS = {"contact": "Contact", "lead": "Lead", "deal": "Opportunity", "account": "Account"}
BATCH_SIZE = 200
LOCK_CODE = "UNABLE_TO_LOCK_ROW"
RULE_CODE = "FIELD_CUSTOM_VALIDATION_EXCEPTION"  # one of the org's validation rules said no
# Per-record codes that fail the same way on every retry: the value or the record itself
# is at fault. They are still kept (and the plan retries them next run if they change).
DATA_CODES = frozenset(
    {
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "MALFORMED_ID",
        "INVALID_ID_FIELD",
        "INVALID_CROSS_REFERENCE_KEY",
        "ENTITY_IS_DELETED",
        "CANNOT_UPDATE_CONVERTED_LEAD",
        "INVALID_FIELD",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_TYPE",
        "STRING_TOO_LONG",
        "INVALID_EMAIL_ADDRESS",
        "REQUIRED_FIELD_MISSING",
        "DUPLICATE_VALUE",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        "FIELD_INTEGRITY_EXCEPTION",
    }
)


def wire_value(key: FieldKey, value: str | None) -> Any:
    """A canonical string value as the field's Salesforce type takes it (None clears)."""
    if value is None:
        return None
    encode = _ENCODERS.get(FIELD_TYPES.get(key, "text"))
    return value if encode is None else encode(value)


def _boolean(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes")


def _number(value: str) -> int:
    return int(float(value))


# How a canonical string becomes each field type's JSON value; the types missing here
# (milestone, date, text) are sent as the string itself.
_ENCODERS: dict[FieldType, Callable[[str], Any]] = {
    "boolean": _boolean,
    "percent": int,
    "number": _number,
}


class CollectionWriter:
    """Writes batches of changes; one ``WriteResult`` per change, in the caller's order."""

    def __init__(self, client: SalesforceClient, spec: WriteSpec, sleep: Sleep) -> None:
        self.client = client
        self.spec = spec
        self._sleep = sleep
        # Each written key's field name and encoder, looked up once rather than per value.
        self._columns: dict[FieldKey, tuple[str, Callable[[str], Any] | None]] = {
            key: (name, _ENCODERS.get(FIELD_TYPES.get(key, "text")))
            for key, name in spec.names.items()
        }

    def record(self, change: Change, named: dict[str, Any] | None = None) -> dict[str, Any]:
        """The collection item for one change: type, id and the named fields (``named``:
        its values under their field names, when already built for an equal change)."""
        return {
            "attributes": {"type": SOBJECTS[change.object_kind]},
            "id": change.record_id,
            **(self.named(change.fields) if named is None else named),
        }

    def named(self, fields: Mapping[FieldKey, str | None]) -> dict[str, Any]:
        """Values under their field names, each as its field's type takes it."""
        out: dict[str, Any] = {}
        columns = self._columns
        for key, value in fields.items():
            name, encode = columns.get(key) or (self.spec.name(key), None)
            out[name] = value if value is None or encode is None else encode(value)
        return out

    def write(self, changes: Sequence[Change]) -> list[WriteResult]:
        """Send ``changes`` (at most 200) and retry lock failures with backoff."""
        if len(changes) > BATCH_SIZE:
            raise ValueError(f"at most {BATCH_SIZE} changes per call, got {len(changes)}")
        pending = sorted(
            range(len(changes)),
            key=lambda i: (
                SOBJECTS[changes[i].object_kind],
                changes[i].group or "",
                changes[i].record_id,
            ),
        )
        results: dict[int, WriteResult] = {}
        attempts = self.client.settings.pacing.max_attempts
        for attempt in range(1, attempts + 1):
            if not pending:
                break
            if attempt > 1:
                self._sleep(backoff_wait(attempt - 1, self.client.settings.pacing.max_wait_seconds))
            locked = self._send(changes, pending, results)
            if locked:
                log.info("salesforce: %d rows locked; retry %d", len(locked), attempt)
            pending = locked
        for index in pending:  # still locked after every try: kept, retried next run
            results[index] = WriteResult(
                changes[index].record_id,
                ok=False,
                code=LOCK_CODE,
                message="record stayed locked by another transaction",
                is_retryable=True,
            )
        return [results[i] for i in range(len(changes))]

    def _send(
        self, changes: Sequence[Change], indexes: list[int], results: dict[int, WriteResult]
    ) -> list[int]:
        # A batch's changes mostly share a few mappings of values (the outbox decodes each
        # distinct text once): each mapping's named values are built once per call.
        named: dict[int, dict[str, Any]] = {}
        records = []
        for i in indexes:
            fields = changes[i].fields
            values = named.get(id(fields))
            if values is None:
                values = named[id(fields)] = self.named(fields)
            records.append(self.record(changes[i], values))
        payload = {"allOrNone": False, "records": records}
        sf = self.client.sf
        try:
            answer = self.client.call(
                "write", lambda: sf.restful("composite/sobjects", method="PATCH", json=payload)
            )
        except StreamError as error:
            if error.code not in ("INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE"):
                raise
            # The whole request names a field the integration user cannot see or edit:
            # every batch would fail the same way (reference section 4, FLS).
            raise ConfigurationError(
                f"{error.message}; run `milestones fields --create` to create the written "
                "fields and grant the integration user access",
                connector=CONNECTOR,
                object_name="composite/sobjects",
                status=error.status,
                code=error.code,
            ) from None
        if not isinstance(answer, list) or len(answer) != len(indexes):
            raise StreamError(
                "sObject Collections answered with a different number of results",
                connector=CONNECTOR,
                object_name="composite/sobjects",
            )
        locked: list[int] = []
        for index, item in zip(indexes, answer, strict=True):
            outcome = result_of(changes[index].record_id, item)
            if outcome.code == LOCK_CODE:
                locked.append(index)
            else:
                results[index] = outcome
        return locked


def result_of(record_id: str, item: dict[str, Any]) -> WriteResult:
    """Read one SaveResult: errors carry ``statusCode`` (not ``errorCode``) and fields."""
    if item.get("success"):
        return WriteResult(record_id, ok=True)
    errors = item.get("errors") or [{}]
    first = errors[0]
    code = first.get("statusCode") or "UNKNOWN_EXCEPTION"
    message = str(first.get("message") or "")
    fields = first.get("fields") or []
    if fields:
        message = f"{message} (fields: {', '.join(map(str, fields))})"
    return WriteResult(
        record_id,
        ok=False,
        code=code,
        message=message[:500],
        is_retryable=code not in DATA_CODES,
        by_rule=code == RULE_CODE,
        field=str(fields[0]) if fields else None,
    )
