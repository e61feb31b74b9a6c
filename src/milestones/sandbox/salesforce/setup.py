"""Org setup the sandbox keeps beside the world: users, stages, custom fields and FLS.

Custom fields created through the Tooling API (`POST tooling/sobjects/CustomField`) are
invisible to the integration user (absent from describe, `INVALID_FIELD` in SOQL and
writes) until a `FieldPermissions` row with `PermissionsRead` on a permission set
assigned to that user grants them; `PermissionsEdit` makes them writable
(reference/salesforce-api.md, section 4). The integration user starts with its
profile's permission set; more permission sets and assignments can be created.
Values of custom fields live in the world record's ``extra`` under the field name.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from typing import Any

from milestones.sandbox.salesforce import vocab as vocab
from milestones.sandbox.salesforce.schema import FieldDef, SObject, computed, fields_of, sf_id
from milestones.sandbox.world.store import World

INTEGRATION_USER = 99  # below the world's owner ids (they start at 101)
PROFILE_PERMISSION_SET = 1
CUSTOMIZABLE = ("Account", "Contact", "Lead", "Opportunity")
# Tooling Metadata.type -> describe type
FIELD_TYPES = {
    "Picklist": "picklist",
    "Checkbox": "boolean",
    "Date": "date",
    "DateTime": "datetime",
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Number": "double",
    "Percent": "percent",
    "Currency": "currency",
    "Email": "email",
    "Url": "url",
    "Lookup": "reference",
}
PERMISSION_SET = [("Name", "string"), ("Label", "string"), ("IsOwnedByProfile", "boolean")]
ASSIGNMENT = [("AssigneeId", "reference"), ("PermissionSetId", "reference")]
FIELD_PERMISSION = [
    ("ParentId", "reference"),
    ("SobjectType", "string"),
    ("Field", "string"),
    ("PermissionsRead", "boolean"),
    ("PermissionsEdit", "boolean"),
]


class SetupError(Exception):
    """A refused setup call: HTTP status, Salesforce errorCode, message."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []


def dict_field(name: str, kind: str, **options: Any) -> FieldDef:
    return computed(name, kind, lambda row: row.get(name), **options)


class OrgSetup:
    """Setup objects (dict rows) and the field-level security the integration user has."""

    def __init__(self, world: World, username: str = "integration@sandbox.example") -> None:
        self.world = world
        self.username = username  # the integration user's login name (User.Username)
        self.created_ms = world.anchor_ms - 3 * 365 * 86_400_000
        self.numbers = itertools.count(10)
        self.user_id = sf_id("005", INTEGRATION_USER)
        base = {"CreatedDate": self.created_ms, "SystemModstamp": self.created_ms}
        self.permission_sets: list[dict[str, Any]] = [
            {
                "Id": sf_id("0PS", PROFILE_PERMISSION_SET),
                "Name": "X00e_Integration_Profile",
                "Label": "Integration Profile",
                "IsOwnedByProfile": True,
                **base,
            }
        ]
        self.assignments: list[dict[str, Any]] = [
            {
                "Id": sf_id("0Pa", 1),
                "AssigneeId": self.user_id,
                "PermissionSetId": self.permission_sets[0]["Id"],
                **base,
            }
        ]
        self.field_permissions: list[dict[str, Any]] = []
        self.custom_fields: list[dict[str, Any]] = []  # Tooling CustomField rows
        self.changed_at = time.time()  # last change describe can see (fields, permissions)

    # ---- field-level security --------------------------------------------------------------

    def _grants(self, sobject: str, name: str) -> Iterable[dict[str, Any]]:
        mine = {a["PermissionSetId"] for a in self.assignments if a["AssigneeId"] == self.user_id}
        wanted = f"{sobject}.{name}".lower()
        for row in self.field_permissions:
            if row["ParentId"] in mine and row["Field"].lower() == wanted:
                yield row

    def can_read(self, sobject: str, definition: FieldDef) -> bool:
        if not definition.needs_permission:
            return True
        return any(g["PermissionsRead"] for g in self._grants(sobject, definition.name))

    def can_edit(self, sobject: str, definition: FieldDef) -> bool:
        if not definition.needs_permission:
            return definition.updateable
        return any(g["PermissionsEdit"] for g in self._grants(sobject, definition.name))

    # ---- tooling: custom fields ----------------------------------------------------------

    def create_custom_field(self, objects: dict[str, SObject], body: Any) -> dict[str, Any]:
        """Define `Object.Name__c` from a Tooling CustomField payload; returns the row."""
        if not isinstance(body, dict) or not isinstance(body.get("Metadata"), dict):
            raise SetupError(400, "JSON_PARSER_ERROR", "CustomField needs FullName and Metadata")
        full_name = str(body.get("FullName") or "")
        sobject, _, name = full_name.partition(".")
        if sobject not in CUSTOMIZABLE or not name.endswith("__c") or len(name) < 4:
            raise SetupError(400, "INVALID_FIELD", f"invalid FullName: {full_name!r}")
        metadata = body["Metadata"]
        kind = FIELD_TYPES.get(str(metadata.get("type")))
        if kind is None:
            raise SetupError(
                400, "FIELD_INTEGRITY_EXCEPTION", f"unsupported type {metadata.get('type')!r}"
            )
        if objects[sobject].field(name) is not None:
            raise SetupError(
                400,
                "DUPLICATE_DEVELOPER_NAME",
                "You cannot create a custom object or custom field with a duplicate developer name",
            )
        values = _picklist_values(metadata) if kind == "picklist" else ()
        restricted = bool((metadata.get("valueSet") or {}).get("restricted"))
        reference_to = (metadata["referenceTo"],) if kind == "reference" else ()
        objects[sobject].add(
            FieldDef(
                name,
                kind,
                _extra_getter(name),
                label=str(metadata.get("label") or name),
                updateable=True,
                custom=True,
                needs_permission=True,
                picklist=values,
                restricted=restricted,
                reference_to=reference_to,
                relationship=name.removesuffix("__c") + "__r" if reference_to else None,
                length=int(metadata.get("length") or 0),
                write=lambda value, name=name: {name: value},
            )
        )
        now = self.world.clock()
        row = {
            "Id": sf_id("00N", next(self.numbers)),
            "DeveloperName": name.removesuffix("__c"),
            "FullName": full_name,
            "TableEnumOrId": sobject,
            "NamespacePrefix": None,
            "CreatedDate": now,
            "LastModifiedDate": now,
            "SystemModstamp": now,
            "Metadata": metadata,
        }
        self.custom_fields.append(row)
        self.world.define_field(_world_kind(sobject), full_name, {"type": kind, **metadata})
        self.changed_at = time.time()
        return row

    # ---- setup records created through the REST API ----------------------------------------

    def create(self, objects: dict[str, SObject], sobject: str, body: dict[str, Any]) -> str:
        """Create a PermissionSet, PermissionSetAssignment or FieldPermissions row."""
        now = self.world.clock()
        stamps = {"CreatedDate": now, "LastModifiedDate": now, "SystemModstamp": now}
        if sobject == "PermissionSet":
            row = {"Name": body.get("Name"), "Label": body.get("Label"), "IsOwnedByProfile": False}
            target, prefix = self.permission_sets, "0PS"
        elif sobject == "PermissionSetAssignment":
            self._require(body, "AssigneeId", "PermissionSetId")
            row = {"AssigneeId": body["AssigneeId"], "PermissionSetId": body["PermissionSetId"]}
            target, prefix = self.assignments, "0Pa"
        elif sobject == "FieldPermissions":
            row = self._field_permission(objects, body)
            target, prefix = self.field_permissions, "01k"
        else:
            raise SetupError(400, "INVALID_TYPE_FOR_OPERATION", f"cannot create {sobject} here")
        row.update(stamps, Id=sf_id(prefix, next(self.numbers)))
        target.append(row)
        self.changed_at = time.time()
        return str(row["Id"])

    def _require(self, body: dict[str, Any], *names: str) -> None:
        missing = [n for n in names if not body.get(n)]
        if missing:
            raise SetupError(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: {missing}", missing
            )

    def _field_permission(
        self, objects: dict[str, SObject], body: dict[str, Any]
    ) -> dict[str, Any]:
        self._require(body, "ParentId", "SobjectType", "Field")
        sobject, _, name = str(body["Field"]).partition(".")
        definition = objects[sobject].field(name) if sobject in objects else None
        if definition is None or not definition.custom:
            raise SetupError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Field Name: bad value for restricted picklist field: {body['Field']}",
                ["Field"],
            )
        read, edit = bool(body.get("PermissionsRead")), bool(body.get("PermissionsEdit"))
        if edit and not read:
            raise SetupError(
                400, "FIELD_INTEGRITY_EXCEPTION", "Permission Edit depends on permission(s): Read"
            )
        if any(
            r["ParentId"] == body["ParentId"] and r["Field"].lower() == str(body["Field"]).lower()
            for r in self.field_permissions
        ):
            raise SetupError(400, "DUPLICATE_VALUE", "duplicate value found: Field")
        return {
            "ParentId": body["ParentId"],
            "SobjectType": sobject,
            "Field": f"{sobject}.{definition.name}",
            "PermissionsRead": read,
            "PermissionsEdit": edit,
        }

    def update_field_permission(self, record_id: str, body: dict[str, Any]) -> None:
        for row in self.field_permissions:
            if row["Id"] == record_id:
                for key in ("PermissionsRead", "PermissionsEdit"):
                    if key in body:
                        row[key] = bool(body[key])
                row["SystemModstamp"] = row["LastModifiedDate"] = self.world.clock()
                self.changed_at = time.time()
                return
        raise SetupError(404, "NOT_FOUND", "The requested resource does not exist")

    # ---- objects -------------------------------------------------------------------------

    def build(self) -> dict[str, SObject]:
        """User, Organization, OpportunityStage, LeadStatus and the permission objects."""
        return {
            o.name: o
            for o in (
                self.users(),
                self.organization(),
                self.stages(),
                self.lead_statuses(),
                _dict_object("PermissionSet", lambda: self.permission_sets, PERMISSION_SET),
                _dict_object("PermissionSetAssignment", lambda: self.assignments, ASSIGNMENT),
                _dict_object("FieldPermissions", lambda: self.field_permissions, FIELD_PERMISSION),
            )
        }  # fmt: skip

    def tooling_objects(self) -> dict[str, SObject]:
        columns = [
            ("DeveloperName", "string"),
            ("FullName", "string"),
            ("TableEnumOrId", "string"),
            ("NamespacePrefix", "string"),
        ]
        return {"CustomField": _dict_object("CustomField", lambda: self.custom_fields, columns)}

    def users(self) -> SObject:
        integration = {
            "Id": self.user_id,
            "Username": self.username,
            "Email": self.username,
            "FirstName": "Integration",
            "LastName": "User",
            "Name": "Integration User",
            "IsActive": True,
            "CreatedDate": self.created_ms,
            "LastModifiedDate": self.created_ms,
            "SystemModstamp": self.created_ms,
        }
        owners = self.world.records["owner"]

        def as_row(owner: Any) -> dict[str, Any]:
            return {
                "Id": sf_id("005", owner.id),
                "Username": owner.email,
                "Email": owner.email,
                "FirstName": owner.first_name,
                "LastName": owner.last_name,
                "Name": f"{owner.first_name} {owner.last_name}",
                "IsActive": not owner.archived,
                "CreatedDate": owner.created,
                "LastModifiedDate": owner.modified,
                "SystemModstamp": owner.touched,
            }

        def rows() -> list[dict[str, Any]]:
            return [integration, *(as_row(owners[i]) for i in self.world.ids("owner"))]

        columns = [("Username", "string"), ("Email", "email"), ("FirstName", "string"),
                   ("LastName", "string"), ("Name", "string"), ("IsActive", "boolean")]  # fmt: skip
        return _dict_object("User", rows, columns)

    def organization(self) -> SObject:
        row = {
            "Id": sf_id("00D", 1),
            "Name": "crm-milestones sandbox",
            "IsSandbox": True,
            "OrganizationType": "Developer Edition",
            "CreatedDate": self.created_ms,
            "LastModifiedDate": self.created_ms,
            "SystemModstamp": self.created_ms,
        }
        columns = [("Name", "string"), ("IsSandbox", "boolean"), ("OrganizationType", "string")]
        return _dict_object("Organization", lambda: [row], columns)

    def stages(self) -> SObject:
        rows = []
        order = itertools.count(1)
        for pipeline in self.world.pipelines:
            for stage in pipeline.stages:
                name = vocab.stage_name(stage.id)
                forecast = (
                    ("Closed" if stage.is_won else "Omitted") if stage.is_closed else "Pipeline"
                )
                number = next(order)
                rows.append({
                    "Id": sf_id("01J", 100 + number), "ApiName": name, "MasterLabel": name,
                    "IsActive": True, "IsClosed": stage.is_closed, "IsWon": stage.is_won,
                    "DefaultProbability": round(stage.probability * 100),
                    "ForecastCategory": forecast, "ForecastCategoryName": forecast,
                    "SortOrder": number, "Description": None, "CreatedDate": self.created_ms,
                    "LastModifiedDate": self.created_ms, "SystemModstamp": self.created_ms,
                })  # fmt: skip
        columns = [("ApiName", "string"), ("MasterLabel", "string"), ("IsActive", "boolean"),
                   ("IsClosed", "boolean"), ("IsWon", "boolean"), ("DefaultProbability", "percent"),
                   ("ForecastCategory", "picklist"), ("ForecastCategoryName", "picklist"),
                   ("SortOrder", "int"), ("Description", "string")]  # fmt: skip
        return _dict_object("OpportunityStage", lambda: rows, columns, deletable=False)

    def lead_statuses(self) -> SObject:
        rows = [
            {"Id": sf_id("01J", 200 + n), "ApiName": name, "MasterLabel": name,
             "IsConverted": converted, "IsDefault": default, "SortOrder": n,
             "CreatedDate": self.created_ms, "LastModifiedDate": self.created_ms,
             "SystemModstamp": self.created_ms}
            for n, (name, converted, default) in enumerate(vocab.LEAD_STATUSES, start=1)
        ]  # fmt: skip
        columns = [("ApiName", "string"), ("MasterLabel", "string"), ("IsConverted", "boolean"),
                   ("IsDefault", "boolean"), ("SortOrder", "int")]  # fmt: skip
        return _dict_object("LeadStatus", lambda: rows, columns, deletable=False)


def _dict_object(
    name: str, source: Any, columns: list[tuple[str, str]], deletable: bool = True
) -> SObject:
    """An object whose rows are dicts holding comparable values (datetimes in ms)."""
    definitions = [
        dict_field("Id", "id", nillable=False),
        *(dict_field(column, kind) for column, kind in columns),
        *(dict_field(s, "datetime") for s in ("CreatedDate", "LastModifiedDate", "SystemModstamp")),
    ]
    if deletable:
        definitions.append(computed("IsDeleted", "boolean", lambda row: False, nillable=False))

    def rows(_deleted: bool) -> Any:
        return source()

    def find(record_id: str) -> Any:
        return next((r for r in rows(True) if r["Id"] == record_id), None)

    return SObject(name, rows, find, fields_of(*definitions))


def _extra_getter(name: str) -> Any:
    return lambda row: (row.extra or {}).get(name) if getattr(row, "extra", None) else None


def _picklist_values(metadata: dict[str, Any]) -> tuple[str, ...]:
    definition = (metadata.get("valueSet") or {}).get("valueSetDefinition") or {}
    return tuple(str(v.get("fullName")) for v in definition.get("value") or [] if v.get("fullName"))


def _world_kind(sobject: str) -> str:
    return {"Account": "company", "Contact": "person", "Lead": "person"}.get(sobject, "deal")
