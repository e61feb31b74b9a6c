"""The written fields: check them, create the missing ones through the Tooling API, and
grant the integration user field-level access, idempotently and with a dry run.

A field made through the Tooling API has no field-level security, so it stays invisible to
the integration user (absent from describe, ``INVALID_FIELD`` in SOQL) until a
``FieldPermissions`` row on a permission set the user holds grants it (reference section
4). We keep one permission set, ``Milestones_Sync``, assigned to the running user, and
grant read and edit on every written field there.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from simple_salesforce.format import format_soql

from milestones.connectors.base import FieldStatus, StreamError
from milestones.connectors.fields import FIELD_TYPES, WriteSpec
from milestones.connectors.salesforce.client import SalesforceClient
from milestones.connectors.salesforce.grants import grant_edit
from milestones.connectors.salesforce.schema import Schema
from milestones.connectors.salesforce.write import SOBJECTS
from milestones.mapping.fields import (
    ACCOUNT_FIELDS,
    DEAL_FIELDS,
    PERSON_FIELDS,
    FieldKey,
    ObjectKind,
)
from milestones.mapping.records import Milestone

log = logging.getLogger(__name__)
PERMISSION_SET = "Milestones_Sync"
NOT_WRITABLE = (
    "exists but the integration user cannot edit it (field-level security); "
    "run `milestones fields --create` to grant access"
)


def field_metadata(key: FieldKey, name: str) -> dict[str, Any]:
    """The Tooling API ``Metadata`` of one written field (reference section 4)."""
    label = name.removesuffix("__c").replace("_", " ")
    kind = FIELD_TYPES[key]
    if kind == "milestone":
        values = [
            {"fullName": m.label, "label": m.label.title(), "default": False} for m in Milestone
        ]
        return {
            "label": label,
            "type": "Picklist",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {"sorted": False, "value": values},
            },
        }
    if kind == "date":
        return {"label": label, "type": "Date"}
    if kind == "boolean":
        return {"label": label, "type": "Checkbox", "defaultValue": "false"}
    if kind == "percent":
        return {"label": label, "type": "Percent", "precision": 3, "scale": 0}
    if kind == "number":
        return {"label": label, "type": "Number", "precision": 9, "scale": 0}
    return {"label": label, "type": "Text", "length": 255}


def picklist_problem(key: FieldKey, described: dict[str, Any]) -> str | None:
    """A restricted picklist that lacks milestone values refuses our writes; say which."""
    if FIELD_TYPES[key] != "milestone" or not described.get("restrictedPicklist"):
        return None
    values = {str(v.get("value")) for v in described.get("picklistValues") or []}
    missing = [m.label for m in Milestone if m.label not in values]
    if not missing:
        return None
    return f"restricted picklist lacks the values {', '.join(missing)}; add them in Setup"


class FieldManager:
    """Ensures each written field exists on its object and the integration user can edit it."""

    def __init__(self, client: SalesforceClient, schema: Schema, spec: WriteSpec) -> None:
        self.client = client
        self.schema = schema
        self.spec = spec
        self._tooling: dict[str, set[str]] = {}

    def person_keys(self) -> list[FieldKey]:
        """Person fields the spec names (Contact and Lead)."""
        return [k for k in PERSON_FIELDS if k in self.spec.names]

    def deal_keys(self) -> list[FieldKey]:
        """Deal fields the spec names (Opportunity)."""
        return [k for k in DEAL_FIELDS if k in self.spec.names]

    def account_keys(self) -> list[FieldKey]:
        """Account fields the spec names (only with ``[accounts] enabled``)."""
        return [k for k in ACCOUNT_FIELDS if k in self.spec.names]

    def targets(self) -> list[tuple[ObjectKind, FieldKey]]:
        """Every (object kind, field) the write-back touches."""
        pairs: list[tuple[ObjectKind, FieldKey]] = []
        for kind in self.spec.person_objects:
            if kind not in ("deal", "account"):
                pairs += [(kind, key) for key in self.person_keys()]
        pairs += [("deal", key) for key in self.deal_keys()]
        return pairs + [("account", key) for key in self.account_keys()]

    def ensure(self, dry_run: bool) -> list[FieldStatus]:
        """Check every field; unless ``dry_run``, create what is missing and grant access."""
        statuses = [self._check(kind, key) for kind, key in self.targets()]
        to_create = [s for s in statuses if not s.exists]
        to_grant = [s for s in statuses if not s.is_writable]
        if dry_run or not to_grant:
            return [self._planned(s) for s in statuses] if dry_run else statuses
        for status in to_create:
            self._create(status)
        self._grant(to_grant)
        for sobject in {SOBJECTS[s.object_kind] for s in to_grant}:
            self.schema.forget(sobject)
        return [self._after(s) for s in statuses]

    def _check(self, kind: ObjectKind, key: FieldKey) -> FieldStatus:
        sobject = SOBJECTS[kind]
        name = self.spec.name(key)
        described = self.schema.field(sobject, name)
        if described is not None:
            writable = bool(described.get("updateable"))
            return FieldStatus(
                kind,
                key,
                name,
                exists=True,
                is_writable=writable,
                problem=NOT_WRITABLE if not writable else picklist_problem(key, described),
            )
        exists = name in self._hidden_fields(sobject)
        problem = "exists but is invisible to the integration user" if exists else "missing"
        return FieldStatus(kind, key, name, exists=exists, is_writable=False, problem=problem)

    def _hidden_fields(self, sobject: str) -> set[str]:
        """Custom fields the Tooling API knows on ``sobject`` (describe may hide them)."""
        cache = self._tooling
        if sobject not in cache:
            soql = format_soql(
                "SELECT Id, DeveloperName FROM CustomField WHERE TableEnumOrId = {}", sobject
            )
            sf = self.client.sf
            answer = self.client.call(
                "meta", lambda: sf.toolingexecute("query/", params={"q": soql})
            )
            rows = answer.get("records", []) if isinstance(answer, dict) else []
            cache[sobject] = {f"{r['DeveloperName']}__c" for r in rows if r.get("DeveloperName")}
        return cache[sobject]

    @staticmethod
    def _planned(status: FieldStatus) -> FieldStatus:
        if status.is_writable:
            return status
        if not status.exists:
            return replace(status, action="would_create")
        return replace(status, action="would_grant")

    @staticmethod
    def _after(status: FieldStatus) -> FieldStatus:
        if status.is_writable:
            return status
        done = replace(status, exists=True, is_writable=True, problem=None)
        return replace(done, action="created" if not status.exists else "granted")

    def _create(self, status: FieldStatus) -> None:
        sobject = SOBJECTS[status.object_kind]
        payload = {
            "FullName": f"{sobject}.{status.name}",
            "Metadata": field_metadata(status.key, status.name),
        }
        sf = self.client.sf
        try:
            self.client.call(
                "meta",
                lambda: sf.toolingexecute("sobjects/CustomField", method="POST", data=payload),
            )
        except StreamError as error:
            if error.code != "DUPLICATE_DEVELOPER_NAME":  # made meanwhile: fine
                raise
        log.info("salesforce: created %s.%s", sobject, status.name)

    def _grant(self, statuses: list[FieldStatus]) -> None:
        pairs = [(SOBJECTS[s.object_kind], f"{SOBJECTS[s.object_kind]}.{s.name}") for s in statuses]
        grant_edit(self.client, PERMISSION_SET, pairs)
