"""Write-back to HubSpot: batch update, 100 records a call, one result per change.

A batch answers with ``results`` (the records written) and, when some inputs failed,
``errors[]`` naming them: in a 207 on the legacy paths (hubspot-api.md §1.4), in a 200 on dated
versions (crm-api-changes-2026.md §2.1), so a 200 is not "all written": an input counts as
written only when ``results`` holds it, and one that neither list names is failed and kept
for a retry. A 4xx rejects the whole batch for one bad record (§1.4: an invalid value fails
everyone). A rejected batch is split: the ids the error names are failed
with its reason and the rest resent; when the error names none, the batch is halved until the
bad records stand alone, so the good ones land and each bad one keeps its own reason.
A ``VALIDATION_ERROR`` is a refusal by the portal's own rules (its property validations, and
on dated versions its conditional requirements): kept with the property it names, and not
retried until the record or the rules change.

Only our fields are written, under their configured names; None clears a property (an empty
string, §1.4). With ``lifecycle_mirror`` set, a contact's milestone also sets
``lifecyclestage``. HubSpot only moves that field forward; with ``lifecycle_allow_backwards``
the contacts whose current stage is ahead of the mirrored one are cleared first (one batch
read and, when needed, one clearing write per batch), then set.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from milestones.connectors.base import ConfigurationError, RetryableError, WriteResult
from milestones.connectors.fields import WriteSpec
from milestones.connectors.hubspot.http import HubSpotApiError, HubSpotHttp
from milestones.connectors.hubspot.paging import read_batch
from milestones.connectors.hubspot.settings import HubSpotSettings
from milestones.mapping.fields import Change

log = logging.getLogger(__name__)

BATCH_LIMIT = 100
OBJECT_TYPES = {"contact": "contacts", "deal": "deals", "account": "companies"}
LIFECYCLE = "lifecyclestage"
# HubSpot's default lifecycle order (§2); portals may add stages, read from the property.
DEFAULT_LIFECYCLE_ORDER = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
RULE_CATEGORY = "VALIDATION_ERROR"
PERMANENT_CATEGORIES = frozenset({RULE_CATEGORY, "OBJECT_NOT_FOUND", "INVALID_INPUT"})

Item = tuple[int, str, dict[str, str]]  # position in the call, record id, properties


class HubSpotWriter:
    """Sends changes as batch updates and maps every answer back to its record."""

    def __init__(self, http: HubSpotHttp, settings: HubSpotSettings, spec: WriteSpec) -> None:
        self._http = http
        self._settings = settings
        self._spec = spec
        self._lifecycle_rank: dict[str, int] | None = None

    def write(self, changes: Sequence[Change]) -> list[WriteResult]:
        """One result per change, in order; batches of 100 per object type."""
        results: list[WriteResult | None] = [None] * len(changes)
        by_type: dict[str, list[Item]] = {}
        # A batch's changes mostly share a few mappings of values (the outbox decodes each
        # distinct text once): their properties are built once per mapping and object kind,
        # and the inputs share them (they are only read and serialised).
        shared: dict[tuple[str, int], dict[str, str]] = {}
        for index, change in enumerate(changes):
            object_type = OBJECT_TYPES.get(change.object_kind)
            if object_type is None:
                results[index] = WriteResult(
                    change.record_id,
                    ok=False,
                    code="UNSUPPORTED",
                    message=f"HubSpot has no {change.object_kind} records",
                    is_retryable=False,
                )
                continue
            key = (change.object_kind, id(change.fields))
            props = shared.get(key)
            if props is None:
                props = shared[key] = self._properties(change)
            by_type.setdefault(object_type, []).append((index, change.record_id, props))
        for object_type, items in by_type.items():
            for start in range(0, len(items), BATCH_LIMIT):
                chunk = items[start : start + BATCH_LIMIT]
                if object_type == "contacts" and self._settings.lifecycle_allow_backwards:
                    self._clear_backwards(chunk)
                for index, result in self._send(object_type, chunk):
                    results[index] = result
        return [r for r in results if r is not None]

    def _properties(self, change: Change) -> dict[str, str]:
        names = self._spec.names  # once per change, not once per field
        props = {
            names[key]: "" if value is None else str(value) for key, value in change.fields.items()
        }
        if self._settings.lifecycle_mirror:
            mirrored = self._mirrored(change)
            if mirrored is not None:
                props[LIFECYCLE] = mirrored
        return props

    def _mirrored(self, change: Change) -> str | None:
        milestone = change.fields.get("milestone")
        if change.object_kind != "contact" or not milestone:
            return None
        return self._settings.lifecycle_mirror.get(milestone)

    # -- sending and splitting ---------------------------------------------------------------

    def _send(self, object_type: str, items: list[Item]) -> list[tuple[int, WriteResult]]:
        path = self._http.paths.batch_update(object_type)
        body = {"inputs": [{"id": rid, "properties": props} for _, rid, props in items]}
        try:
            response = self._http.call("write", "POST", path, body=body)
        except RetryableError as exc:
            failed = WriteResult(
                "", ok=False, code=exc.code or str(exc.status), message=exc.message
            )
            return [(i, _for(rid, failed)) for i, rid, _ in items]
        except HubSpotApiError as exc:
            missing = _missing_properties(exc)
            if missing:  # a field deleted in HubSpot: every record would fail the same way
                raise ConfigurationError(
                    f"{object_type} property {', '.join(missing)} does not exist in HubSpot "
                    "(deleted?): run `milestones fields --create`; the writes stay queued",
                    connector="hubspot",
                    object_name=object_type,
                    status=exc.status,
                    code="PROPERTY_DOESNT_EXIST",
                ) from None
            return self._split(object_type, items, exc)
        written = {str(r.get("id")) for r in response.data.get("results") or []}
        errors = _errors_by_id(response.data.get("errors") or [])
        # A merged-away id is an alias of the record it was merged into: the update lands
        # there and the result carries that record's id, not the one asked for (HubSpot's
        # changelog "Updated merge functionality for contacts and companies"). The next pull
        # sees the merge and plans the surviving record's own fields.
        is_merged_answer = bool(written - {rid for _, rid, _ in items})
        out = []
        for index, rid, _ in items:
            if rid in errors:
                error, message = errors[rid]
                out.append((index, _failure(rid, error, message)))
            elif rid in written:
                out.append((index, WriteResult(rid, ok=True)))
            elif is_merged_answer:
                out.append((index, WriteResult(rid, ok=True, code="MERGED")))
            else:
                out.append((index, _failure(rid, {}, "not in HubSpot's answer")))
        return out

    def _split(
        self, object_type: str, items: list[Item], exc: HubSpotApiError
    ) -> list[tuple[int, WriteResult]]:
        if len(items) == 1:
            index, rid, _ = items[0]
            return [(index, _failure(rid, exc.body, exc.message, status=exc.status))]
        named = _named_ids(exc.body) & {rid for _, rid, _ in items}
        if named:
            bad = [
                (i, _failure(rid, exc.body, exc.message, status=exc.status))
                for i, rid, _ in items
                if rid in named
            ]
            rest = [item for item in items if item[1] not in named]
            return bad + (self._send(object_type, rest) if rest else [])
        half = len(items) // 2
        return self._send(object_type, items[:half]) + self._send(object_type, items[half:])

    # -- lifecycle stage, moved backwards on request -------------------------------------------

    def _clear_backwards(self, items: list[Item]) -> None:
        targets = {rid: props[LIFECYCLE] for _, rid, props in items if props.get(LIFECYCLE)}
        if not targets:
            return
        try:
            current = read_batch(self._http, "contacts", list(targets), [LIFECYCLE])
        except HubSpotApiError as exc:
            log.warning("hubspot: reading lifecyclestage failed: %s", exc)
            return
        rank = self._ranks()
        behind = []
        for raw in current:
            now = (raw.get("properties") or {}).get(LIFECYCLE)
            want = targets.get(str(raw["id"]))
            if now and want and rank.get(now, -1) > rank.get(want, -1):
                behind.append(str(raw["id"]))
        if not behind:
            return
        body = {"inputs": [{"id": rid, "properties": {LIFECYCLE: ""}} for rid in behind]}
        path = self._http.paths.batch_update("contacts")
        try:
            self._http.call("write", "POST", path, body=body)
        except (HubSpotApiError, RetryableError) as exc:
            log.warning("hubspot: clearing lifecyclestage failed: %s", exc)

    def _ranks(self) -> dict[str, int]:
        if self._lifecycle_rank is None:
            rank = {v: i for i, v in enumerate(DEFAULT_LIFECYCLE_ORDER)}
            path = self._http.paths.property("contacts", LIFECYCLE)
            try:
                response = self._http.call("meta", "GET", path)
                options = response.data.get("options") or []
                if options:
                    ordered = sorted(options, key=lambda o: int(o.get("displayOrder") or 0))
                    rank = {str(o.get("value")): i for i, o in enumerate(ordered)}
            except HubSpotApiError as exc:
                log.warning("hubspot: lifecyclestage options unreadable: %s", exc)
            self._lifecycle_rank = rank
        return self._lifecycle_rank


def _missing_properties(exc: HubSpotApiError) -> list[str]:
    """Properties a whole-batch 400 says do not exist (hubspot-api.md §1.4: the message
    embeds a JSON list of ``{"error": "PROPERTY_DOESNT_EXIST", "name": ...}``)."""
    text = exc.message
    if "PROPERTY_DOESNT_EXIST" not in text or "[" not in text:
        return []
    try:
        details = json.loads(text[text.index("[") :])
    except ValueError:
        return ["(unnamed)"]
    names = [
        str(d.get("name"))
        for d in details
        if isinstance(d, Mapping) and d.get("error") == "PROPERTY_DOESNT_EXIST"
    ]
    return list(dict.fromkeys(names))


def _errors_by_id(errors: list[Mapping[str, Any]]) -> dict[str, tuple[Mapping[str, Any], str]]:
    """``errors[]`` -> record id -> (the error, its message)."""
    out: dict[str, tuple[Mapping[str, Any], str]] = {}
    for error in errors:
        for rid in _named_ids(error):
            out[rid] = (error, str(error.get("message") or "rejected"))
    return out


def _named_ids(error: Mapping[str, Any]) -> set[str]:
    """The record ids an error body names (``id``, ``context.ids``/``id``/``objectId``)."""
    ids: set[str] = set()
    if error.get("id") is not None:
        ids.add(str(error["id"]))
    context = error.get("context") or {}
    for key in ("ids", "id", "objectId", "objectIds"):
        values = context.get(key) or []
        ids.update(str(v) for v in (values if isinstance(values, list) else [values]))
    for detail in error.get("errors") or []:
        if isinstance(detail, Mapping):
            ids.update(_named_ids(detail))
    return ids


def _failure(
    rid: str, error: Mapping[str, Any], message: str, *, status: int | None = None
) -> WriteResult:
    category = error.get("category")
    category = str(category) if category is not None else None
    permanent = category in PERMANENT_CATEGORIES or status in (400, 404)
    by_rule = category == RULE_CATEGORY
    return WriteResult(
        rid,
        ok=False,
        code=category or (str(status) if status else None),
        message=message,
        is_retryable=not permanent,
        by_rule=by_rule,
        field=_named_property(error, message) if by_rule else None,
    )


def _named_property(error: Mapping[str, Any], message: str) -> str | None:
    """The property a validation error names: ``context.propertyName`` on dated versions, the
    ``name`` of the JSON list a legacy 400's message embeds (§2.2), else None."""
    context = error.get("context") or {}
    names = context.get("propertyName") or context.get("propertyNames") or []
    if isinstance(names, list) and names:
        return str(names[0])
    if "[" in message:
        try:
            details = json.loads(message[message.index("[") :])
        except ValueError:
            return None
        for detail in details if isinstance(details, list) else []:
            if isinstance(detail, Mapping) and detail.get("name"):
                return str(detail["name"])
    return None


def _for(rid: str, template: WriteResult) -> WriteResult:
    return WriteResult(rid, ok=False, code=template.code, message=template.message)
