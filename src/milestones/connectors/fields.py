"""What both vendors share about the written fields: their types and the ``WriteSpec``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from milestones.connectors.settings import Settings
from milestones.mapping.fields import FieldKey, ObjectKind

FieldType = Literal["milestone", "date", "boolean", "text", "number", "percent"]
FIELD_TYPES: dict[FieldKey, FieldType] = {
    "milestone": "milestone",
    "milestone_date": "date",
    "next_milestone": "milestone",
    "disqualified": "boolean",
    "disqualified_reason": "text",
    "is_advocate": "boolean",
    "advocate_since": "date",
    "deal_milestone": "milestone",
    "next_milestone_likelihood": "percent",  # a whole percent, in bands of 10
    "account_milestone": "milestone",
    "account_milestone_date": "date",
    "account_advocates": "number",
    "account_contacts_engaged": "number",
}


class WriteSpec(Settings):
    """What a connector needs to know about the fields it reads back and writes."""

    names: dict[FieldKey, str]
    person_objects: tuple[ObjectKind, ...] = ("contact",)
    extra_properties: tuple[str, ...] = Field(
        default=(),
        description="Properties the rules read (referrer, NPS, flags) to request on pulls.",
    )
    history_properties: tuple[str, ...] = Field(
        default=(),
        description="Properties (the advocacy flags) whose change history dates the evidence.",
    )
    referrer_property: str | None = Field(
        default=None,
        description="The property naming a record's referrer (also among extra_properties); "
        "without it, the first extra property.",
    )

    @property
    def referrer(self) -> str | None:
        """The referrer property: named explicitly, else the first extra property."""
        if self.referrer_property:
            return self.referrer_property
        return self.extra_properties[0] if self.extra_properties else None

    def name(self, key: FieldKey) -> str:
        """The CRM field name for a canonical key."""
        return self.names[key]
