"""Salesforce rows (REST JSON) to canonical records.

Rows come as simple-salesforce returns them: dicts with Salesforce's wire values
(datetimes ``2024-05-01T10:00:00.000+0000``, dates ``2024-05-01``, JSON booleans and
numbers; reference section 1.1). Property values become strings or None, the way the
canonical records hold them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from milestones.mapping.dating import held_since
from milestones.mapping.records import Activity, ActivityKind, Contact, Deal, Direction, Link, Stage

log = logging.getLogger(__name__)
Row = Mapping[str, Any]
OPPORTUNITY_PREFIX = "006"  # key prefix of Opportunity ids (reference section 1.1)
_EMAIL_SUBTYPES = frozenset({"Email", "ListEmail"})
_fromisoformat = datetime.fromisoformat


def as_text(value: Any) -> str | None:
    """A property value as the canonical records hold it: a string or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _when(row: Row, field: str) -> datetime | None:
    """``row[field]`` as an aware UTC datetime; None when absent, empty or unreadable (an
    unreadable value with a warning).

    Called for several fields of every row pulled, so it parses in place rather than
    through ``soql.parse_datetime``: the same reading, one call less per value.
    """
    value = row.get(field)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = _fromisoformat(value)
    except ValueError:
        _warn_unreadable(row, field, "datetime")
        return None
    # Salesforce writes +0000, which fromisoformat already reads as UTC itself.
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def _day(row: Row, field: str) -> date | None:
    value = row.get(field)
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _warn_unreadable(row, field, "date")
        return None


def _warn_unreadable(row: Row, field: str, what: str) -> None:
    """One unreadable value is ignored with a warning; it never stops the run."""
    kind = (row.get("attributes") or {}).get("type", "record")
    # The value is not logged: a mistyped field may hold a name or an address.
    log.warning(
        "salesforce: %s %s: %s (%d characters) is not a %s; ignored",
        kind,
        row.get("Id"),
        field,
        len(str(row.get(field))),
        what,
    )


def _day_start(row: Row, field: str) -> datetime | None:
    day = _day(row, field)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def _properties(row: Row, names: Iterable[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in names:
        if name in row:
            value = row[name]
            # Most values are already a string or null: as_text only for the others.
            found[name] = value if value is None or value.__class__ is str else as_text(value)
    return found


def person(row: Row, sobject: str, property_names: Iterable[str], referrer: str | None) -> Contact:
    """A Contact or Lead row as a canonical person; a converted Lead names its Contact."""
    properties = _properties(row, property_names)
    is_lead = sobject == "Lead"
    return Contact(
        id=row["Id"],
        kind="lead" if is_lead else "contact",
        email=row.get("Email"),
        first_name=row.get("FirstName"),
        last_name=row.get("LastName"),
        owner_id=row.get("OwnerId"),
        company_id=row.get("ConvertedAccountId") if is_lead else row.get("AccountId"),
        created_at=_when(row, "CreatedDate"),
        modified_at=_when(row, "SystemModstamp"),
        lead_status=row.get("Status") if is_lead else None,
        is_opted_out=bool(row.get("HasOptedOutOfEmail")),
        referred_by=properties.get(referrer) if referrer else None,
        converted_to=row.get("ConvertedContactId") if is_lead and row.get("IsConverted") else None,
        is_deleted=bool(row.get("IsDeleted")),
        properties=properties,
        # Histories is in the row only where the pull asked for it (advocacy flags tracked).
        property_set_at=_field_history(row, properties) if "Histories" in row else {},
    )


def _field_history(row: Row, properties: Mapping[str, str | None]) -> dict[str, datetime]:
    """Field -> since when it has held its current value, from the nested ``Histories``
    result (ContactHistory / LeadHistory rows: ``Field``, ``NewValue``, ``CreatedDate``;
    null when the record has none, absent when not asked for). A field with no row (not
    tracked, or set before tracking began) is left out: its date stays unknown."""
    nested = row.get("Histories")
    rows = nested.get("records") if isinstance(nested, dict) else None
    changes: dict[str, list[tuple[datetime, str | None]]] = {}
    for history in rows if isinstance(rows, list) else ():
        name = history.get("Field") if isinstance(history, dict) else None
        at = _when(history, "CreatedDate") if isinstance(name, str) else None
        if isinstance(name, str) and at is not None:
            changes.setdefault(name, []).append((at, as_text(history.get("NewValue"))))
    found: dict[str, datetime] = {}
    for name, history in changes.items():
        current = _normal(properties.get(name))
        if current is not None:
            since = held_since(history, _is_value(current))
            if since is not None:
                found[name] = since
    return found


def _is_value(current: str) -> Callable[[str | None], bool]:
    return lambda value: _normal(value) == current


def _normal(value: str | None) -> str | None:
    return value.strip().lower() if value is not None and value.strip() else None


def deal(row: Row, property_names: Iterable[str], referrer: str | None) -> Deal:
    """An Opportunity; its people come separately from OpportunityContactRole."""
    properties = _properties(row, property_names)
    amount = row.get("Amount")
    stage_changed = _when(row, "LastStageChangeDate") or _when(row, "CreatedDate")
    return Deal(
        id=row["Id"],
        name=row.get("Name"),
        stage_id=row.get("StageName"),
        is_closed=row.get("IsClosed"),
        is_won=row.get("IsWon"),
        close_date=_day(row, "CloseDate"),
        amount=float(amount) if isinstance(amount, int | float) else None,
        owner_id=row.get("OwnerId"),
        created_at=_when(row, "CreatedDate"),
        modified_at=_when(row, "SystemModstamp"),
        stage_changed_at=stage_changed,
        stage_entered=_stage_history(row),
        referred_by=properties.get(referrer) if referrer else None,
        is_deleted=bool(row.get("IsDeleted")),
        properties=properties,
    )


_LATER = timedelta(seconds=1)


def _stage_history(row: Row) -> dict[str, datetime]:
    """Stage API name -> the first time the Opportunity entered it, from the nested
    OpportunityHistories result (null when it has none, absent when not asked for). A row is
    written for other changes too (amount, close date): only the first row of each stage
    counts."""
    nested = row.get("OpportunityHistories")
    rows = nested.get("records") if isinstance(nested, dict) else None
    entries: dict[str, datetime] = {}
    for history in rows if isinstance(rows, list) else ():
        stage = history.get("StageName") if isinstance(history, dict) else None
        at = _when(history, "CreatedDate") if isinstance(stage, str) else None
        if (
            isinstance(stage, str)
            and at is not None
            and (stage not in entries or at < entries[stage])
        ):
            entries[stage] = at
    return entries


def link(row: Row) -> Link:
    """An OpportunityContactRole: which person a deal touches."""
    return Link(
        id=row["Id"],
        deal_id=row.get("OpportunityId") or "",
        contact_id=row.get("ContactId") or "",
        modified_at=_when(row, "SystemModstamp"),
        is_deleted=bool(row.get("IsDeleted")),
    )


def _deal_ids(what: Any) -> tuple[str, ...]:
    """The deal an activity's WhatId names, if it is an Opportunity (WhoId is its person)."""
    return (what,) if isinstance(what, str) and what.startswith(OPPORTUNITY_PREFIX) else ()


def task(row: Row) -> Activity:
    """A Task: an email sent from Salesforce, a call, or a plain task.

    TaskSubtype says which (Email/ListEmail, Call, Task); CallType gives a call's
    direction (Inbound/Outbound; Internal has none). Emails logged as Tasks are the ones
    Salesforce sent, so they are outbound (DESIGN: "emails sent from Salesforce").
    """
    who = row.get("WhoId")
    subtype = row.get("TaskSubtype")
    call_type = (row.get("CallType") or "").lower()
    status = row.get("Status")
    direction: Direction | None = None
    kind: ActivityKind
    if subtype in _EMAIL_SUBTYPES:
        kind = "email"
        direction = "outbound"
    elif subtype == "Call" or call_type:
        kind = "call"
        if call_type in ("inbound", "outbound"):
            direction = "inbound" if call_type == "inbound" else "outbound"
    else:
        kind = "task"
    occurred = (
        _when(row, "CompletedDateTime")
        or _day_start(row, "ActivityDate")
        or _when(row, "CreatedDate")
    )
    return Activity(
        id=row["Id"],
        kind=kind,
        direction=direction,
        status=status.lower() if isinstance(status, str) else None,
        disposition=row.get("CallDisposition") if kind == "call" else None,
        occurred_at=occurred,
        owner_id=row.get("OwnerId"),
        modified_at=_when(row, "SystemModstamp"),
        contact_ids=(who,) if who else (),
        deal_ids=_deal_ids(row.get("WhatId")),
        is_deleted=bool(row.get("IsDeleted")),
    )


def event(row: Row) -> Activity:
    """An Event is a meeting; Salesforce records no outcome, so it counts once ended."""
    who = row.get("WhoId")
    return Activity(
        id=row["Id"],
        kind="meeting",
        occurred_at=_when(row, "StartDateTime"),
        ends_at=_when(row, "EndDateTime"),
        owner_id=row.get("OwnerId"),
        modified_at=_when(row, "SystemModstamp"),
        contact_ids=(who,) if who else (),
        deal_ids=_deal_ids(row.get("WhatId")),
        is_deleted=bool(row.get("IsDeleted")),
    )


def email_message(row: Row, people: tuple[str, ...]) -> Activity:
    """A received EmailMessage (Incoming = true): the person wrote to us."""
    return Activity(
        id=row["Id"],
        kind="email",
        direction="inbound" if row.get("Incoming") else "outbound",
        status="received" if row.get("Incoming") else "sent",
        occurred_at=_when(row, "MessageDate") or _when(row, "CreatedDate"),
        modified_at=_when(row, "SystemModstamp"),
        contact_ids=people,
        is_deleted=bool(row.get("IsDeleted")),
    )


def stage(row: Row) -> Stage:
    """An OpportunityStage, keyed on its API name (what Opportunity.StageName holds)."""
    probability = row.get("DefaultProbability")
    return Stage(
        id=row.get("ApiName") or row["MasterLabel"],
        label=row.get("MasterLabel") or row.get("ApiName") or "",
        is_closed=bool(row.get("IsClosed")),
        is_won=bool(row.get("IsWon")),
        probability=float(probability) / 100 if isinstance(probability, int | float) else None,
        display_order=int(row.get("SortOrder") or 0),
    )
