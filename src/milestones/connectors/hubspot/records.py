"""HubSpot's wire format <-> canonical records: which properties to ask for, how to read them.

Every property value on the wire is a string or null (hubspot-api.md §1.2); datetimes are ISO
8601 with a ``Z`` or, for some date properties, epoch milliseconds. Only the properties the
mapping needs are requested: the fixed ones below, the rules' extra properties
(``WriteSpec.extra_properties``, among them ``WriteSpec.referrer``) and our own written fields
under their configured names, so the plan can compare against what the CRM holds now.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from milestones.connectors.fields import WriteSpec
from milestones.connectors.hubspot.settings import HubSpotSettings
from milestones.mapping.fields import DEAL_FIELDS, PERSON_FIELDS
from milestones.mapping.records import Activity, ActivityKind, Contact, Deal, Direction, Stage

log = logging.getLogger(__name__)

# Object type -> the property its incremental search filters and sorts on. Contacts must use
# lastmodifieddate: filtering them on hs_lastmodifieddate silently misses records (§1.5, §9.2).
MODIFIED_PROPERTY = {
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "emails": "hs_lastmodifieddate",
    "calls": "hs_lastmodifieddate",
    "meetings": "hs_lastmodifieddate",
    "notes": "hs_lastmodifieddate",
}
ENGAGEMENT_TYPES: dict[str, ActivityKind] = {
    "emails": "email",
    "calls": "call",
    "meetings": "meeting",
    "notes": "note",
}
CONTACT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "hubspot_owner_id",
    "associatedcompanyid",
    "createdate",
    "lastmodifieddate",
    "hs_lead_status",
    "hs_email_optout",
    "hs_merged_object_ids",
)
DEAL_PROPERTIES = (
    "dealname",
    "dealstage",
    "pipeline",
    "hs_is_closed",
    "hs_is_closed_won",
    "closedate",
    "amount",
    "hubspot_owner_id",
    "createdate",
    "hs_lastmodifieddate",
    "num_associated_contacts",
    # When the deal entered its current stage (Pro/Enterprise; §2 "Stage timing props").
    "hs_v2_date_entered_current_stage",
)
ENGAGEMENT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "emails": ("hs_timestamp", "hs_email_direction", "hubspot_owner_id", "hs_lastmodifieddate"),
    "calls": (
        "hs_timestamp",
        "hs_call_direction",
        "hs_call_status",
        "hs_call_disposition",
        "hubspot_owner_id",
        "hs_lastmodifieddate",
    ),
    "meetings": (
        "hs_timestamp",
        "hs_meeting_outcome",
        "hs_meeting_end_time",
        "hubspot_owner_id",
        "hs_lastmodifieddate",
    ),
    "notes": ("hs_timestamp", "hubspot_owner_id", "hs_lastmodifieddate"),
}
EMAIL_DIRECTIONS: dict[str, Direction] = {
    "INCOMING_EMAIL": "inbound",
    "EMAIL": "outbound",
    "FORWARDED_EMAIL": "outbound",
}
CALL_DIRECTIONS: dict[str, Direction] = {"INBOUND": "inbound", "OUTBOUND": "outbound"}
STAGE_DATES_URL_BUDGET = 2000  # characters of a deals list URL the stage dates may fill
_fromisoformat = datetime.fromisoformat  # bound once: parse_time runs for every date read


@dataclass(frozen=True, slots=True)
class PropertyPlan:
    """Which properties each object type is read with, derived once from settings and spec."""

    contacts: tuple[str, ...]
    deals: tuple[str, ...]
    referrer: str | None
    rollups: tuple[str, ...]
    # Derived from the lists above once, so that reading a record walks only the names it
    # keeps instead of testing every requested name on every record.
    contact_extras: tuple[str, ...] = field(init=False)  # kept in Contact.properties
    deal_extras: tuple[str, ...] = field(init=False)  # kept in Deal.properties
    stage_dates: tuple[tuple[str, str], ...] = field(init=False)  # (property, stage id)
    contact_referrer: str | None = field(init=False)  # the referrer, where it is requested
    deal_referrer: str | None = field(init=False)

    def __post_init__(self) -> None:
        legacy = [n for n in self.deals if n.startswith("hs_date_entered_")]
        v2 = [
            n
            for n in self.deals
            if n.startswith("hs_v2_date_entered_") and n != "hs_v2_date_entered_current_stage"
        ]
        # Legacy first, v2 after: where both are set, the v2 date is the one kept.
        stage_dates = [(n, n[len("hs_date_entered_") :]) for n in legacy]
        stage_dates += [(n, n[len("hs_v2_date_entered_") :]) for n in v2]
        derived = {
            "contact_extras": _unique(n for n in self.contacts if n not in CONTACT_PROPERTIES),
            "deal_extras": _unique(
                n for n in self.deals if n not in DEAL_PROPERTIES and not _is_stage_date(n)
            ),
            "stage_dates": tuple(dict.fromkeys(stage_dates)),
            "contact_referrer": self.referrer if self.referrer in self.contacts else None,
            "deal_referrer": self.referrer if self.referrer in self.deals else None,
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)  # the way a frozen dataclass sets a field

    @classmethod
    def build(
        cls, settings: HubSpotSettings, spec: WriteSpec, stage_ids: Iterable[str] = ()
    ) -> PropertyPlan:
        """The property lists; ``stage_ids`` add per-stage entry dates while URLs stay short."""
        stage_ids = tuple(stage_ids)
        extra = tuple(spec.extra_properties)
        rollups = tuple(settings.rollup_properties) if settings.activities == "rollups" else ()
        person = tuple(spec.names[k] for k in PERSON_FIELDS if k in spec.names)
        lifecycle = ("lifecyclestage",) if settings.lifecycle_mirror else ()
        deal_written = tuple(spec.names[k] for k in DEAL_FIELDS if k in spec.names)
        deals = _unique(DEAL_PROPERTIES + extra + deal_written)
        # Per-stage entry dates: hs_v2_* replaced the legacy names in Nov 2024 (§2) and older
        # portals may fill only the legacy ones. They are a nicety next to
        # hs_v2_date_entered_current_stage, so they go only while the list URL stays short.
        for prefix in ("hs_v2_date_entered_", "hs_date_entered_"):
            more = tuple(f"{prefix}{stage}" for stage in stage_ids)
            if url_length(deals + more) <= STAGE_DATES_URL_BUDGET:
                deals += more
        return cls(
            contacts=_unique(CONTACT_PROPERTIES + extra + person + lifecycle + rollups),
            deals=deals,
            referrer=spec.referrer,
            rollups=rollups,
        )

    def for_type(self, object_type: str) -> tuple[str, ...]:
        """The properties to request for ``object_type``."""
        if object_type == "contacts":
            return self.contacts
        if object_type == "deals":
            return self.deals
        return ENGAGEMENT_PROPERTIES[object_type]


def url_length(names: Iterable[str]) -> int:
    """Characters ``names`` take as repeated ``properties=`` query parameters."""
    return sum(len(quote(n)) + len("&properties=") for n in names)


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in names if n))


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 string or epoch milliseconds as an aware UTC datetime; None when empty."""
    # Called for every date of every record: the usual form is tested first, in one step.
    if value.__class__ is str and value[-1:] == "Z":  # the usual form: 2024-05-01T10:00:00Z
        try:
            return _fromisoformat(value)  # reads "Z" as UTC since Python 3.11
        except ValueError:
            pass  # the careful path below says what is wrong
    elif value is None or value == "":
        return None
    text = str(value).strip()
    try:
        if text.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):  # garbage, or a year out of range
        # The value is not logged: a mistyped field may hold a name or an address.
        log.warning("hubspot: a value of %d characters is not a date or time; ignored", len(text))
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: str | None) -> date | None:
    """A date property (``YYYY-MM-DD``, an ISO datetime or epoch ms) as a date."""
    if value and len(str(value).strip()) == 10:  # YYYY-MM-DD, the usual form
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            pass
    moment = parse_time(value)
    if moment is not None:
        return moment.date()
    try:  # "2024-05-01 and some text": the date it starts with
        return date.fromisoformat(str(value).strip()[:10]) if value else None
    except ValueError:
        return None


def to_millis(moment: datetime) -> int:
    """Epoch milliseconds, the form search filters take for datetime properties."""
    return int(moment.timestamp() * 1000)


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.strip().lower() == "true"


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _props(props: Mapping[str, Any], names: Iterable[str]) -> dict[str, str | None]:
    """The named properties, each a string or None (missing ones are None)."""
    return {n: None if (v := props.get(n)) is None else str(v) for n in names}


def modified_at(raw: Mapping[str, Any], object_type: str) -> datetime | None:
    """The record's modification time, the one the incremental cursor runs on."""
    props = raw.get("properties") or {}
    return parse_time(props.get(MODIFIED_PROPERTY[object_type])) or parse_time(raw.get("updatedAt"))


def to_contact(raw: Mapping[str, Any], plan: PropertyPlan) -> Contact:
    """A canonical Contact from a HubSpot contact object."""
    source = raw.get("properties") or {}
    props = _props(source, CONTACT_PROPERTIES)
    referrer = plan.contact_referrer
    return Contact(
        id=str(raw["id"]),
        kind="contact",
        email=props["email"],
        first_name=props["firstname"],
        last_name=props["lastname"],
        owner_id=props["hubspot_owner_id"],
        company_id=props["associatedcompanyid"],
        created_at=parse_time(props["createdate"]) or parse_time(raw.get("createdAt")),
        modified_at=modified_at(raw, "contacts"),
        lead_status=props["hs_lead_status"],
        is_opted_out=_flag(props["hs_email_optout"]) is True,
        referred_by=_text(source.get(referrer)) if referrer else None,
        is_deleted=bool(raw.get("archived")),
        properties=_props(source, plan.contact_extras),
    )


def to_deal(
    raw: Mapping[str, Any],
    plan: PropertyPlan,
    contact_ids: Sequence[str],
    stages: Mapping[str, Stage],
) -> Deal:
    """A canonical Deal; closed/won from the deal's own flags, else from its stage."""
    source = raw.get("properties") or {}
    props = _props(source, DEAL_PROPERTIES)
    stage_id = props["dealstage"]
    stage = stages.get(stage_id) if stage_id else None
    is_closed = _flag(props["hs_is_closed"])
    is_won = _flag(props["hs_is_closed_won"])
    if is_closed is None and stage is not None:
        is_closed = stage.is_closed
    if is_won is None and stage is not None:
        is_won = stage.is_won
    created = parse_time(props["createdate"]) or parse_time(raw.get("createdAt"))
    # Never hs_lastmodifieddate: our own write-back bumps it.
    entered = parse_time(props["hs_v2_date_entered_current_stage"])
    if entered is None and stage_id:
        entered = _entered(source, plan, f"hs_v2_date_entered_{stage_id}") or _entered(
            source, plan, f"hs_date_entered_{stage_id}"
        )
    referrer = plan.deal_referrer
    return Deal(
        id=str(raw["id"]),
        name=props["dealname"],
        stage_id=stage_id,
        pipeline_id=props["pipeline"],
        is_closed=is_closed,
        is_won=is_won,
        close_date=parse_date(props["closedate"]),
        amount=_float(props["amount"]),
        owner_id=props["hubspot_owner_id"],
        created_at=created,
        modified_at=modified_at(raw, "deals"),
        stage_changed_at=entered or created,
        stage_entered=_stage_entries(source, plan),
        contact_ids=tuple(contact_ids),
        referred_by=_text(source.get(referrer)) if referrer else None,
        is_deleted=bool(raw.get("archived")),
        properties=_props(source, plan.deal_extras),
    )


def _entered(source: Mapping[str, Any], plan: PropertyPlan, name: str) -> datetime | None:
    """A stage entry date, where the plan requested that property."""
    return parse_time(_text(source.get(name))) if name in plan.deals else None


def _stage_entries(source: Mapping[str, Any], plan: PropertyPlan) -> dict[str, datetime]:
    """Stage id -> when the deal entered it, from the per-stage entry dates read.

    HubSpot keeps ``hs_v2_date_entered_<stage>`` after the deal moves on (§2 "Stage timing
    props"), so a won deal still shows when it reached each stage it passed; where a portal
    fills only the legacy ``hs_date_entered_<stage>``, that one serves (``plan.stage_dates``
    lists the legacy names first, so a v2 date replaces its legacy one).
    """
    entries: dict[str, datetime] = {}
    for name, stage_id in plan.stage_dates:
        value = source.get(name)
        if value is not None:
            at = parse_time(str(value))
            if at is not None:
                entries[stage_id] = at
    return entries


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _is_stage_date(name: str) -> bool:
    return name.startswith(("hs_v2_date_entered_", "hs_date_entered_"))


def to_activity(
    raw: Mapping[str, Any],
    object_type: str,
    contact_ids: Sequence[str],
    deal_ids: Sequence[str],
) -> Activity:
    """A canonical Activity from an engagement object (emails, calls, meetings, notes)."""
    # The most numerous record of a pull (about five per contact): each property is looked
    # up once, through a bound ``get``, and ``modified_at`` is spelled out in place.
    get = (raw.get("properties") or {}).get
    kind = ENGAGEMENT_TYPES[object_type]
    direction: Direction | None = None
    status: str | None = None
    disposition: str | None = None
    if kind == "email":
        direction = EMAIL_DIRECTIONS.get(str(get("hs_email_direction") or "").upper())
    elif kind == "call":
        direction = CALL_DIRECTIONS.get(str(get("hs_call_direction") or "").upper())
        status = _lower(get("hs_call_status"))
        disposition = get("hs_call_disposition") or None
    elif kind == "meeting":
        status = _lower(get("hs_meeting_outcome"))
    return Activity(
        id=str(raw["id"]),
        kind=kind,
        direction=direction,
        status=status,
        disposition=disposition,
        occurred_at=parse_time(get("hs_timestamp")),
        ends_at=parse_time(get("hs_meeting_end_time")) if kind == "meeting" else None,
        owner_id=get("hubspot_owner_id") or None,
        modified_at=parse_time(get(MODIFIED_PROPERTY[object_type]))
        or parse_time(raw.get("updatedAt")),
        contact_ids=tuple(contact_ids),
        deal_ids=tuple(deal_ids),
        is_deleted=bool(raw.get("archived")),
    )


def rollup_activities(raw: Mapping[str, Any], plan: PropertyPlan) -> list[Activity]:
    """Rollups mode: one inbound 'email' per contact-level date property that is set.

    The id is ``{contact_id}:{property}`` so each property keeps one row in the mirror and
    a newer date replaces the older one.
    """
    props = raw.get("properties") or {}
    contact_id = str(raw["id"])
    found = []
    for name in plan.rollups:
        when = parse_time(props.get(name))
        if when is None:
            continue
        found.append(
            Activity(
                id=f"{contact_id}:{name}",
                kind="email",
                direction="inbound",
                occurred_at=when,
                modified_at=modified_at(raw, "contacts"),
                contact_ids=(contact_id,),
            )
        )
    return found


def to_stages(pipelines: Iterable[Mapping[str, Any]]) -> list[Stage]:
    """The stage catalogue from the pipelines endpoint for deals (metadata values are strings)."""
    stages = []
    for pipeline in pipelines:
        for raw in pipeline.get("stages") or []:
            meta = raw.get("metadata") or {}
            probability = _float(meta.get("probability"))
            is_closed = _flag(meta.get("isClosed")) is True
            stages.append(
                Stage(
                    id=str(raw["id"]),
                    label=str(raw.get("label") or raw["id"]),
                    pipeline_id=str(pipeline.get("id")),
                    is_closed=is_closed,
                    is_won=is_closed and probability is not None and probability >= 1.0,
                    probability=probability,
                    display_order=int(raw.get("displayOrder") or 0),
                )
            )
    return stages


def _lower(value: Any) -> str | None:
    return str(value).strip().lower() if value not in (None, "") else None
