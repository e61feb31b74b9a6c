"""The fields the worker writes back, under canonical keys, and a change of them on one record.

Connectors map these keys to the configured CRM field names; the store keeps the CRM's
current values and the planned changes under the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ObjectKind = Literal["contact", "lead", "deal", "account"]
FieldKey = Literal[
    "milestone",
    "milestone_date",
    "next_milestone",
    "disqualified",
    "disqualified_reason",
    "is_advocate",
    "advocate_since",
    "deal_milestone",
    "next_milestone_likelihood",
    "account_milestone",
    "account_milestone_date",
    "account_advocates",
    "account_contacts_engaged",
]
PERSON_FIELDS: tuple[FieldKey, ...] = (
    "milestone",
    "milestone_date",
    "next_milestone",
    "disqualified",
    "disqualified_reason",
    "is_advocate",
    "advocate_since",
    "next_milestone_likelihood",  # written only with [likelihood] writeback = true
)
DEAL_FIELDS: tuple[FieldKey, ...] = ("deal_milestone",)
# Written on a HubSpot company or a Salesforce Account when ``[accounts] enabled = true``.
ACCOUNT_FIELDS: tuple[FieldKey, ...] = (
    "account_milestone",
    "account_milestone_date",
    "account_advocates",
    "account_contacts_engaged",
)


@dataclass(frozen=True, slots=True)
class Change:
    """Field values to write on one record, under canonical keys (``FieldKey``).

    None clears a field. The connector maps keys to the configured CRM field names.
    ``record_modified`` is the record's modified time in the CRM the plan was made from: a
    write the CRM's own rule refused is sent again only once the record has moved on.
    """

    object_kind: ObjectKind
    record_id: str
    fields: Mapping[FieldKey, str | None]
    group: str | None = None  # e.g. the account id: Salesforce locks rows by parent
    record_modified: datetime | None = None
