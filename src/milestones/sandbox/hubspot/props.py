"""HubSpot's view of the world: object types, property catalogue, value encoding.

Every property value on the wire is a string or null (reference/hubspot-api.md §0.2):
numbers ``"17"``, booleans ``"true"``/``"false"``, datetimes ISO-8601 UTC with
milliseconds and ``Z``. Each built-in property has a getter from a world record and,
when writable, a setter returning world updates. Properties created through the
properties API live in ``world.defined_fields`` and their values in ``record.extra``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from milestones.sandbox.world.store import Activity, Deal, Person, World

# object type name or id -> world kind (reference §4.1 for the ids)
OBJECT_TYPES = {
    "contacts": "person", "contact": "person", "0-1": "person",
    "companies": "company", "company": "company", "0-2": "company",
    "deals": "deal", "deal": "deal", "0-3": "deal",
    "emails": "email", "email": "email", "0-49": "email",
    "calls": "call", "call": "call", "0-48": "call",
    "meetings": "meeting", "meeting": "meeting", "0-47": "meeting",
    "notes": "note", "note": "note", "0-46": "note",
    "tasks": "task", "task": "task", "0-27": "task",
}  # fmt: skip
TYPE_NAMES = {
    "person": "contacts", "company": "companies", "deal": "deals", "email": "emails",
    "call": "calls", "meeting": "meetings", "note": "notes", "task": "tasks",
}  # fmt: skip
SINGULAR = {k: v.rstrip("s").replace("companie", "company") for k, v in TYPE_NAMES.items()}

# Defaults when ``properties`` is omitted (reference §1.1).
DEFAULT_PROPERTIES = {
    "person": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "deal": ("amount", "closedate", "createdate", "dealname", "dealstage",
             "hs_lastmodifieddate", "hs_object_id", "pipeline"),
    "company": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
}  # fmt: skip
ENGAGEMENT_DEFAULTS = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")


def iso(ms: int | None) -> str | None:
    """Epoch ms -> ``2022-02-14T21:36:07.649Z``; a whole second has no fraction.

    HubSpot prints instants the way Java's ``Instant.toString`` does, leaving out a zero
    fraction (``2022-02-14T21:36:07Z``), so clients meet both forms; the reference notes
    show only the usual one with milliseconds (hubspot-api.md section 0, item 2).
    """
    if ms is None:
        return None
    second = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
    return f"{second}Z" if ms % 1000 == 0 else f"{second}.{ms % 1000:03d}Z"


def parse_time(value: str) -> int:
    """A filter or write value for a datetime/date: epoch ms digits or ISO-8601 -> epoch ms."""
    value = value.strip()
    if value.lstrip("-").isdigit():
        return int(value)
    from datetime import UTC, datetime

    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def as_wire(v: Any) -> str | None:
    """A value as HubSpot sends it: a string (booleans ``true``/``false``) or None."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


Getter = Callable[[World, Any], str | None]
Setter = Callable[[World, Any, str | None], dict[str, Any]]


class Prop:
    """One built-in property: its definition, getter and (if writable) setter."""

    __slots__ = ("field_type", "getter", "group", "label", "name", "options", "setter", "type")

    def __init__(
        self,
        name: str,
        type_: str,
        getter: Getter,
        setter: Setter | None = None,
        field_type: str | None = None,
        options: tuple[str, ...] = (),
    ) -> None:
        self.name, self.type, self.getter, self.setter = name, type_, getter, setter
        self.field_type = field_type or _FIELD_TYPES.get(type_, "text")
        self.options, self.group = options, "contactinformation"
        self.label = name.replace("hs_", "").replace("_", " ").capitalize()


_FIELD_TYPES = {
    "string": "text",
    "number": "number",
    "datetime": "date",
    "date": "date",
    "enumeration": "select",
    "bool": "booleancheckbox",
}


def _attr(name: str) -> Getter:
    return lambda w, r: as_wire(getattr(r, name))


def _time(name: str) -> Getter:
    return lambda w, r: iso(getattr(r, name))


def _set(name: str, convert: Callable[[str], Any] = str) -> Setter:
    return lambda w, r, v: {name: None if v is None else convert(v)}


def parse_bool(v: str) -> bool:
    """``true``/``false`` in any case; ValueError otherwise."""
    if v.lower() not in ("true", "false"):
        raise ValueError(f"{v!r} is not a valid boolean; use true or false")
    return v.lower() == "true"


def _referred_by(w: World, p: Person) -> str | None:
    if p.referred_by is None:  # free text that names no known person stays as written
        return None if p.extra is None else p.extra.get("referred_by_text")
    ref = w.get("person", p.referred_by)
    if p.referred_by_email and ref is not None and ref.email:
        return str(ref.email)
    return str(p.referred_by)


def _set_referred_by(w: World, p: Person, v: str | None) -> dict[str, Any]:
    cleared = {"referred_by": None, "referred_by_email": False, "referred_by_text": None}
    if v is None:
        return cleared
    if v.isdigit():
        return {**cleared, "referred_by": int(v)}
    ref = next(
        (q for q in w.records["person"].values() if (q.email or "").lower() == v.lower()), None
    )
    if ref is None:  # an unknown email is kept as text, like any string property
        return {**cleared, "referred_by_text": v}
    return {**cleared, "referred_by": ref.id, "referred_by_email": True}


def _stage_of(w: World, d: Deal) -> Any:
    found = w.stage(d.stage)
    return found[1] if found else None


def _stage_flag(attr: str, want: bool | None = None) -> Getter:
    def get(w: World, d: Deal) -> str | None:
        st = _stage_of(w, d)
        if st is None:
            return None
        if attr == "probability":
            return str(st.probability)
        if attr == "lost":
            return as_wire(st.is_closed and not st.is_won)
        return as_wire(getattr(st, attr))

    return get


LIFECYCLE = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
             "opportunity", "customer", "evangelist", "other")  # fmt: skip
LEAD_STATUS = ("NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED",
               "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING")  # fmt: skip
_ID = Prop("hs_object_id", "number", lambda w, r: str(r.id))
_OWNER = Prop("hubspot_owner_id", "enumeration", _attr("owner_id"), _set("owner_id", int))


def _contact_props() -> list[Prop]:
    return [
        _ID,
        _OWNER,
        Prop("createdate", "datetime", _time("created")),
        # Contacts keep two modified times. Search filters and sorts them on lastmodifieddate;
        # hs_lastmodifieddate ("Object last modified date/time") also moves when an internal
        # property changes, and it is what the objects API reports as updatedAt, so it can be
        # later than lastmodifieddate (reference hubspot-api.md §1.5, §2 and §9.2: amp-labs/
        # connectors#45, supaglue-labs/supaglue#478; ``World.touch_hidden``).
        Prop("lastmodifieddate", "datetime", _time("touched")),
        Prop("hs_lastmodifieddate", "datetime", lambda w, r: iso(w.object_touched(r))),
        Prop("email", "string", _attr("email"), _set("email")),
        Prop("firstname", "string", _attr("first_name"), _set("first_name")),
        Prop("lastname", "string", _attr("last_name"), _set("last_name")),
        Prop("phone", "string", _attr("phone"), _set("phone")),
        Prop("jobtitle", "string", _attr("job_title"), _set("job_title")),
        # Read-only flags, types and field types as a real portal's contact schema has them
        # (reference hubspot-contact-properties-2022.tsv; tests/sandbox/test_hubspot_meta.py
        # compares every property found there): "Company Name" is plain writable text, the
        # associated company id is writable, the email opt-out is read-only (it is set
        # through the subscription APIs), Original Source is writable.
        Prop("company", "string", _company_text, lambda w, r, v: {"company": v}),
        Prop("associatedcompanyid", "number", _attr("company_id"), _set("company_id", int)),
        Prop(
            "lifecyclestage",
            "enumeration",
            _attr("lifecycle"),
            _set("lifecycle"),
            "radio",
            LIFECYCLE,
        ),
        Prop(
            "hs_lead_status",
            "enumeration",
            _attr("lead_status"),
            _set("lead_status"),
            "radio",
            LEAD_STATUS,
        ),
        Prop("hs_email_optout", "bool", _attr("opted_out")),
        Prop(
            "hs_feedback_last_nps_rating",
            "enumeration",
            _attr("nps"),
            None,
            None,
            tuple(str(i) for i in range(11)),
        ),
        Prop("hs_feedback_last_survey_date", "datetime", _time("nps_ms")),
        Prop("hs_analytics_source", "enumeration", _attr("lead_source"), _set("lead_source")),
        Prop("referred_by", "string", _referred_by, _set_referred_by),
        Prop(
            "reference_customer",
            "bool",
            lambda w, r: "true" if r.is_reference else None,
            _set("is_reference", parse_bool),
        ),
        Prop("num_associated_deals", "number", _deal_count),
        Prop(
            "hs_merged_object_ids",
            "enumeration",
            lambda w, r: ";".join(map(str, r.merged_ids)) if r.merged_ids else None,
            None,
            "checkbox",
        ),
    ]


def _deal_count(w: World, p: Person) -> str:
    deals = (w.get("deal", i) for i in w.deals_of(p.id))
    return str(sum(1 for d in deals if d is not None and not d.archived))


def _company_text(w: World, p: Person) -> str | None:
    """The contact's own "Company Name" once written, else its company's name."""
    if p.extra and "company" in p.extra:
        return as_wire(p.extra["company"])
    return _company_name(w, p.company_id)


def _company_name(w: World, company_id: int | None) -> str | None:
    company = w.get("company", company_id) if company_id is not None else None
    return None if company is None else str(company.name)


def _deal_props() -> list[Prop]:
    return [
        _ID,
        _OWNER,
        Prop("createdate", "datetime", _time("created")),
        Prop("hs_lastmodifieddate", "datetime", _time("touched")),
        Prop("dealname", "string", _attr("name"), _set("name")),
        Prop("dealstage", "enumeration", _attr("stage"), _set("stage")),
        Prop("pipeline", "enumeration", _attr("pipeline"), _set("pipeline")),
        Prop("amount", "number", _attr("amount"), _set("amount", lambda v: int(float(v)))),
        Prop("closedate", "datetime", _time("close_ms"), _set("close_ms", parse_time)),
        Prop("hs_is_closed", "bool", _stage_flag("is_closed")),
        Prop("hs_is_closed_won", "bool", _stage_flag("is_won")),
        Prop("hs_is_closed_lost", "bool", _stage_flag("lost")),
        Prop("hs_deal_stage_probability", "number", _stage_flag("probability")),
        Prop("num_associated_contacts", "number", lambda w, r: str(len(r.contact_ids))),
        Prop("referred_by", "string", _attr("referred_by"), _set("referred_by", int)),
    ]


def _company_props() -> list[Prop]:
    return [
        _ID,
        _OWNER,
        Prop("createdate", "datetime", _time("created")),
        Prop("hs_lastmodifieddate", "datetime", _time("touched")),
        Prop("name", "string", _attr("name"), _set("name")),
        Prop("domain", "string", _attr("domain"), _set("domain")),
        Prop("industry", "enumeration", _attr("industry"), _set("industry")),
    ]


_ENGAGEMENT_FIELDS = {
    "email": [("hs_email_direction", "direction"), ("hs_email_status", "status"),
              ("hs_email_subject", "subject")],
    "call": [("hs_call_direction", "direction"), ("hs_call_status", "status"),
             ("hs_call_disposition", "disposition"), ("hs_call_duration", "duration_ms"),
             ("hs_call_title", "subject")],
    "meeting": [("hs_meeting_outcome", "status"), ("hs_meeting_title", "subject")],
    "note": [("hs_note_body", "subject")],
    "task": [("hs_task_status", "status"), ("hs_task_subject", "subject")],
}  # fmt: skip


def _engagement_props(kind: str) -> list[Prop]:
    props = [
        _ID,
        _OWNER,
        Prop("hs_createdate", "datetime", _time("created")),
        Prop("hs_lastmodifieddate", "datetime", _time("touched")),
        Prop("hs_timestamp", "datetime", _time("timestamp"), _set("timestamp", parse_time)),
    ]
    props += [
        Prop(name, "string", _attr(attr), _set(attr, int if attr == "duration_ms" else str))
        for name, attr in _ENGAGEMENT_FIELDS[kind]
    ]
    if kind == "meeting":
        props.append(Prop("hs_meeting_start_time", "datetime", _time("timestamp")))
        props.append(Prop("hs_meeting_end_time", "datetime", _meeting_end))
    return props


def _meeting_end(w: World, a: Activity) -> str | None:
    return iso(a.timestamp + (a.duration_ms or 0))


CATALOGUE: dict[str, dict[str, Prop]] = {
    kind: {p.name: p for p in props}
    for kind, props in (
        ("person", _contact_props()),
        ("deal", _deal_props()),
        ("company", _company_props()),
        *((k, _engagement_props(k)) for k in _ENGAGEMENT_FIELDS),
    )
}


def default_properties(kind: str) -> tuple[str, ...]:
    return DEFAULT_PROPERTIES.get(kind, ENGAGEMENT_DEFAULTS)
