"""Plan: the difference between what we derived and what the CRM holds now.

Only differences become writes, so a run after an unchanged CRM writes nothing. Values are
compared the way the CRMs store them: an empty string is no value, booleans ignore case
(HubSpot says ``true``, Salesforce's connector may say ``True``), and a date matches a
datetime or epoch-milliseconds value on the same day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from milestones.connectors.fields import FIELD_TYPES
from milestones.mapping.derive import Derived
from milestones.mapping.fields import PERSON_FIELDS, Change, FieldKey, ObjectKind
from milestones.mapping.records import Contact, Deal, Milestone

_LABELS = {m: m.label for m in Milestone}  # ``Milestone.label`` looks the enum up per call


def normalise(key: FieldKey, value: str | None) -> str:
    """A field value in the form two equal values share."""
    if value is None:
        return ""
    text = value.strip()
    kind = FIELD_TYPES.get(key, "text")
    if kind in ("boolean", "milestone"):
        return text.lower()
    if kind == "percent":  # HubSpot says "40", Salesforce 40.0
        try:
            return str(round(float(text)))
        except ValueError:
            return text
    if kind == "date":
        if text.isdigit() and len(text) > 8:  # epoch milliseconds (HubSpot date properties)
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC).date().isoformat()
        return text[:10]
    return text


def diff_fields(
    wanted: Mapping[FieldKey, str | None], current: Mapping[str, str | None]
) -> dict[FieldKey, str | None]:
    """The wanted values that differ from the current ones."""
    changed: dict[FieldKey, str | None] = {}
    for key, value in wanted.items():
        held = current.get(key)
        if value == held:
            continue
        # Against no value (a first sync writes every field), a value differs unless it is
        # blank: every other value normalises to a non-empty form, so normalise is skipped.
        if value is None:
            if held is not None and held.strip():
                changed[key] = value
        elif held is None:
            if value.strip():
                changed[key] = value
        elif normalise(key, value) != normalise(key, held):
            changed[key] = value
    return changed


def person_fields(
    derived: Derived,
    keys: Mapping[FieldKey, str],
    extra: Mapping[FieldKey, str | None] | None = None,
) -> dict[FieldKey, str | None]:
    """The person fields we write (only those the config names); ``extra`` adds values
    derive does not give (the likelihood band)."""
    values: dict[str, str | None] = derived.fields()
    for key, value in (extra or {}).items():
        values[key] = value
    return {key: values[key] for key in PERSON_FIELDS if key in keys and key in values}


def plan_person(
    contact: Contact,
    derived: Derived,
    current: Mapping[str, str | None],
    keys: Mapping[FieldKey, str],
    extra: Mapping[FieldKey, str | None] | None = None,
    by_parent: bool = True,
) -> Change | None:
    """The write one person needs, or None when the CRM already agrees.

    ``by_parent``: the write is grouped under the person's company (``Change.group``), so
    the outbox sends a company's people together (``Connector.writes_by_parent``).
    """
    changed = diff_fields(person_fields(derived, keys, extra), current)
    if not changed:
        return None
    kind: ObjectKind = "lead" if contact.kind == "lead" else "contact"
    group = contact.company_id if by_parent else None
    return Change(kind, contact.id, changed, group=group, record_modified=contact.modified_at)


def plan_deal(
    deal: Deal, milestone: Milestone | None, current: Mapping[str, str | None]
) -> Change | None:
    """The write a deal's ``deal_milestone`` needs, or None."""
    wanted: dict[FieldKey, str | None] = {
        "deal_milestone": _LABELS[milestone] if milestone is not None else None
    }
    changed = diff_fields(wanted, current)
    if not changed:
        return None
    return Change("deal", deal.id, changed, record_modified=deal.modified_at)
