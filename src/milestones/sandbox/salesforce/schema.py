"""Salesforce objects and fields: the shapes every Salesforce module of the sandbox shares.

An `SObject` knows its rows (an iterable over the world or over setup records), how to
find one row by id, and its `FieldDef`s. A field's getter returns the value in the form
`salesforce.soql.evaluator` compares (epoch ms for datetimes, `YYYY-MM-DD` for dates,
18-character ids); `wire_value` turns that into JSON. Field names are matched
case-insensitively, as SOQL and the REST API do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from milestones.sandbox.salesforce.ids import KEY_PREFIXES, make_id
from milestones.sandbox.salesforce.soql.parser import format_datetime

Row = Any
Getter = Callable[[Row], Any]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


@dataclass
class FieldDef:
    """One field of an object, as describe and SOQL see it."""

    name: str
    type: str
    get: Getter
    label: str = ""
    updateable: bool = False
    createable: bool = False
    nillable: bool = True
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    custom: bool = False
    needs_permission: bool = False  # created through the Tooling API: FLS decides
    write: Callable[[Any], dict[str, Any]] | None = None  # wire value -> world values
    length: int = 0

    def describe(self, editable: bool) -> dict[str, Any]:
        """The field's entry in `sobjects/{Type}/describe` for the running user."""
        return {
            "name": self.name,
            "label": self.label or self.name.removesuffix("__c").replace("_", " "),
            "type": self.type,
            "soapType": SOAP_TYPES.get(self.type, "xsd:string"),
            "length": self.length or (255 if self.type in _TEXTISH else 0),
            "custom": self.custom,
            "nillable": self.nillable,
            "updateable": self.updateable and editable,
            "createable": (self.createable or self.updateable) and editable,
            "filterable": True,
            "sortable": self.type != "textarea",
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship,
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {"value": v, "label": v, "active": True, "defaultValue": False, "validFor": None}
                for v in self.picklist
            ],
        }


_TEXTISH = frozenset({"string", "picklist", "email", "phone", "url", "textarea", "id"})


@dataclass
class SObject:
    """An object type: name, key prefix, fields and access to its rows."""

    name: str
    rows: Callable[[bool], Iterable[Row]]  # include_deleted -> rows
    lookup: Callable[[str], Row | None]  # 18-character id -> row (deleted included)
    fields: dict[str, FieldDef] = field(default_factory=dict)
    label: str = ""
    updateable: bool = False
    createable: bool = False
    is_deleted: Getter | None = None
    # Rows deleted for good (emptied recycle bin, hard delete): (18-character id, epoch ms).
    purged: Callable[[], Iterable[tuple[str, int]]] | None = None

    def __post_init__(self) -> None:
        self._lower: dict[str, str] = {}
        for name in self.fields:
            self._lower[name.lower()] = name

    @property
    def prefix(self) -> str:
        return KEY_PREFIXES.get(self.name, "000")

    def add(self, definition: FieldDef) -> None:
        self.fields[definition.name] = definition
        self._lower[definition.name.lower()] = definition.name

    def field(self, name: str) -> FieldDef | None:
        canonical = self._lower.get(name.lower())
        return None if canonical is None else self.fields[canonical]

    def by_relationship(self, name: str) -> FieldDef | None:
        lowered = name.lower()
        for definition in self.fields.values():
            if definition.relationship and definition.relationship.lower() == lowered:
                return definition
        return None

    def row_id(self, row: Row) -> str:
        return self.fields["Id"].get(row)  # type: ignore[no-any-return]


@lru_cache(maxsize=1 << 20)
def sf_id(prefix: str, number: int) -> str:
    """Cached `make_id`: rows are rendered and compared by id over and over."""
    return make_id(prefix, number)


def id_number(record_id: str) -> int:
    """The sequence number inside an id made by `make_id` (chars 6-14, base 62)."""
    number = 0
    for char in record_id[6:15]:
        number = number * 62 + _BASE62.index(char)
    return number


def seconds(ms: int | None) -> int | None:
    """Salesforce keeps datetimes to the second (so SystemModstamp values tie)."""
    return None if ms is None else ms - ms % 1000


def iso_date(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()


def wire_value(definition: FieldDef, value: Any) -> Any:
    """JSON form of a getter's value: datetimes formatted, numbers as numbers."""
    if value is None:
        return None
    if definition.type == "datetime":
        return format_datetime(value)
    if definition.type in ("double", "currency", "percent"):
        return float(value)
    return value


# field builders ------------------------------------------------------------------------


def attr(name: str, kind: str, attribute: str, **options: Any) -> FieldDef:
    """A field read straight from a world record attribute."""
    return FieldDef(name, kind, lambda row: getattr(row, attribute), **options)


def computed(name: str, kind: str, getter: Getter, **options: Any) -> FieldDef:
    return FieldDef(name, kind, getter, **options)


def reference(
    name: str, targets: tuple[str, ...], relationship: str | None, getter: Getter, **options: Any
) -> FieldDef:
    return FieldDef(
        name, "reference", getter, reference_to=targets, relationship=relationship, **options
    )


def stamps(source: Callable[[Row], Any] = lambda row: row) -> list[FieldDef]:
    """CreatedDate, LastModifiedDate (user writes) and SystemModstamp (every write)."""
    return [
        computed("CreatedDate", "datetime", lambda row: seconds(source(row).created)),
        computed("LastModifiedDate", "datetime", lambda row: seconds(source(row).modified)),
        computed("SystemModstamp", "datetime", lambda row: seconds(source(row).touched)),
    ]


def fields_of(*definitions: FieldDef | list[FieldDef]) -> dict[str, FieldDef]:
    out: dict[str, FieldDef] = {}
    for item in definitions:
        for definition in item if isinstance(item, list) else [item]:
            out[definition.name] = definition
    return out
