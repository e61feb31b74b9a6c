"""Compact JSON for the mirror: canonical records and derived results as positional arrays.

The mirror keeps one JSON text per record; positional arrays (not dicts) keep the file small
and encoding cheap. Each encoder has its decoder beside it, and a change of layout is a
schema migration (``schema``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from milestones.mapping.derive import Derived, Evidence
from milestones.mapping.fields import FieldKey
from milestones.mapping.records import Activity, Contact, Deal, Milestone, Stage

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_C_MAKE_ENCODER = getattr(json.encoder, "c_make_encoder", None)  # CPython's _json accelerator
_fromisoformat = datetime.fromisoformat

# The mirror encodes and decodes a JSON text per record, tens of thousands per page, so the
# per-call overhead of ``json.dumps``/``json.loads`` (argument checks, a new C encoder per
# call, two regular-expression matches per decode) outweighs the work on these short texts.
# The same C encoder and scanner are called directly; the texts are identical.
if _C_MAKE_ENCODER is not None:
    _iterencode = _C_MAKE_ENCODER(
        None,  # no cycle check: the values are trees of lists, dicts and scalars
        _ENCODER.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # no indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )

    def _dumps(value: Any) -> str:
        return "".join(_iterencode(value, 0))

else:  # pragma: no cover - an interpreter without the accelerator

    def _dumps(value: Any) -> str:
        return _ENCODER.encode(value)


# Positions in the arrays ``encode_contact`` and ``encode_deal`` write that other store code
# reads without decoding a record (``drop_referrer``, ``echo``); a change is a migration.
PROPERTIES = 12  # both layouts
CONTACT_MODIFIED, CONTACT_SET_AT = 7, 13
DEAL_MODIFIED = 9


def _loads(text: str) -> Any:
    """``json.loads(text)``, calling the scanner directly for a text that starts with a value
    and ends with it (what ``_dumps`` writes); anything else takes ``json.loads``, which gives
    the same value or raises the same error."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return value


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def dumps(value: Any) -> str:
    """JSON text without spaces."""
    return _dumps(value)


def loads(text: str) -> Any:
    """The value of a JSON text (``dumps``'s, read by the C scanner directly)."""
    return _loads(text)


def _without_referrer(props: Mapping[str, Any], referred_by: str | None) -> dict[str, Any]:
    """The properties without the referrer reference (kept only as ``ref_key``, hashed)."""
    if referred_by is None:
        return props if type(props) is dict else dict(props)  # encoded, not kept: no copy
    return {k: v for k, v in props.items() if v != referred_by}


def drop_referrer(text: str, index: int) -> str:
    """A stored contact or deal array with its referrer reference removed (see docs/privacy.md)."""
    v = _loads(text)
    v[PROPERTIES] = _without_referrer(v[PROPERTIES], v[index])
    v[index] = None
    return _dumps(v)


# The encoders and decoders below run once per record of every page and every chunk: they
# spell the None checks inline rather than call a helper per date.


def encode_contact(c: Contact) -> str:
    """A contact as one JSON array; the referrer reference is not kept (only ``ref_key``)."""
    created, modified, set_at = c.created_at, c.modified_at, c.property_set_at
    return _dumps(
        [
            c.kind,
            c.email,
            c.first_name,
            c.last_name,
            c.owner_id,
            c.company_id,
            None if created is None else created.isoformat(),
            None if modified is None else modified.isoformat(),
            c.lead_status,
            c.is_opted_out,
            None,
            c.converted_to,
            _without_referrer(c.properties, c.referred_by),
            {name: _dt(at) for name, at in set_at.items()} if set_at else {},
        ]
    )


def decode_contact(record_id: str, text: str, is_deleted: bool = False) -> Contact:
    """The contact ``encode_contact`` wrote."""
    v = _loads(text)
    created, modified = v[6], v[7]
    set_at = v[13] if len(v) > 13 else None
    return Contact(
        id=record_id,
        kind=v[0],
        email=v[1],
        first_name=v[2],
        last_name=v[3],
        owner_id=v[4],
        company_id=v[5],
        created_at=None if created is None else _fromisoformat(created),
        modified_at=None if modified is None else _fromisoformat(modified),
        lead_status=v[8],
        is_opted_out=v[9],
        referred_by=v[10],
        converted_to=v[11],
        is_deleted=is_deleted,
        properties=v[12],
        property_set_at={k: _fromisoformat(t) for k, t in set_at.items()} if set_at else {},
    )


def encode_deal(d: Deal) -> str:
    """A deal as one JSON array (its contact links live in ``deal_contacts``).

    Like a contact's, its referrer reference is kept only as the mirror's ``ref_key``.
    """
    created, modified, changed = d.created_at, d.modified_at, d.stage_changed_at
    return _dumps(
        [
            d.name,
            d.stage_id,
            d.pipeline_id,
            d.is_closed,
            d.is_won,
            d.close_date.isoformat() if d.close_date else None,
            d.amount,
            d.owner_id,
            None if created is None else created.isoformat(),
            None if modified is None else modified.isoformat(),
            None if changed is None else changed.isoformat(),
            None,
            _without_referrer(d.properties, d.referred_by),
            {stage: _dt(at) for stage, at in d.stage_entered.items()},
        ]
    )


def decode_deal(record_id: str, text: str, is_deleted: bool = False) -> Deal:
    """The deal ``encode_deal`` wrote (without ``contact_ids``)."""
    v = _loads(text)
    created, modified, changed = v[8], v[9], v[10]
    # Deals stored before stage histories were kept have no 14th element.
    entered = v[13] if len(v) > 13 else None
    return Deal(
        id=record_id,
        name=v[0],
        stage_id=v[1],
        pipeline_id=v[2],
        is_closed=v[3],
        is_won=v[4],
        close_date=date.fromisoformat(v[5]) if v[5] else None,
        amount=v[6],
        owner_id=v[7],
        created_at=None if created is None else _fromisoformat(created),
        modified_at=None if modified is None else _fromisoformat(modified),
        stage_changed_at=None if changed is None else _fromisoformat(changed),
        referred_by=v[11],
        is_deleted=is_deleted,
        properties=v[12],
        stage_entered={k: _fromisoformat(t) for k, t in entered.items()} if entered else {},
    )


ACTIVITY_COLUMNS = (
    "id, kind, direction, status, disposition, occurred_at, ends_at, owner_id, modified_at, "
    "deal_ids"
)


def activity_row(a: Activity) -> tuple[Any, ...]:
    """An activity as the columns of ``ACTIVITY_COLUMNS`` (plain columns: no JSON to parse).

    ``ends_at`` is kept in UTC so stored end times compare as text.
    """
    occurred, ends, modified, deal_ids = a.occurred_at, a.ends_at, a.modified_at, a.deal_ids
    return (
        a.id,
        a.kind,
        a.direction,
        a.status,
        a.disposition,
        None if occurred is None else occurred.isoformat(),
        None if ends is None else ends.astimezone(UTC).isoformat(),
        a.owner_id,
        None if modified is None else modified.isoformat(),
        _dumps(list(deal_ids)) if deal_ids else None,
    )


def activity_from_row(row: Sequence[Any]) -> Activity:
    """The activity ``activity_row`` stored (without ``contact_ids``)."""
    occurred, ends, modified, deal_ids = row[5], row[6], row[8], row[9]
    return Activity(
        id=row[0],
        kind=row[1],
        direction=row[2],
        status=row[3],
        disposition=row[4],
        occurred_at=None if occurred is None else _fromisoformat(occurred),
        ends_at=None if ends is None else _fromisoformat(ends),
        owner_id=row[7],
        modified_at=None if modified is None else _fromisoformat(modified),
        deal_ids=tuple(_loads(deal_ids)) if deal_ids else (),
    )


def encode_stage(s: Stage) -> str:
    """A catalogue stage as one JSON array."""
    return _dumps([s.label, s.pipeline_id, s.is_closed, s.is_won, s.probability, s.display_order])


def decode_stage(stage_id: str, text: str) -> Stage:
    """The stage ``encode_stage`` wrote."""
    v = _loads(text)
    return Stage(stage_id, v[0], v[1], v[2], v[3], v[4], v[5])


def encode_derived(d: Derived) -> str:
    """What the next run needs as ``prior``: the reached milestones and their evidence.

    An inferred date carries a sixth element, 1; results stored before dates were told
    apart have five and read as observed.
    """
    reached = [
        [int(level), e.on.isoformat(), e.rule, e.record_kind, e.record_id]
        + ([1] if e.is_inferred else [])
        for level, e in sorted(d.reached.items())
    ]
    disqualified_on = d.disqualified_on.isoformat() if d.disqualified_on else None
    return _dumps([int(d.milestone), reached, d.is_disqualified, d.is_advocate, disqualified_on])


def decode_derived(contact_id: str, text: str | None) -> Derived | None:
    """The prior ``Derived`` (reached milestones and flags; warnings are not kept)."""
    if text is None:
        return None
    v = _loads(text)
    reached = {
        Milestone(e[0]): Evidence(date.fromisoformat(e[1]), e[2], e[3], e[4], bool(e[5:]))
        for e in v[1]
    }
    return Derived(
        contact_id=contact_id,
        milestone=Milestone(v[0]),
        reached=reached,
        is_disqualified=v[2],
        is_advocate=v[3],
        disqualified_on=date.fromisoformat(v[4]) if len(v) > 4 and v[4] else None,
    )


def decode_values(text: str | None) -> dict[str, str | None]:
    """A ``{field key: value}`` object (the CRM's values of our fields)."""
    if not text:
        return {}
    values: dict[str, str | None] = _loads(text)
    return values


def decode_fields(text: str) -> dict[FieldKey, str | None]:
    """A planned write's ``{field key: value}`` object, as ``encode_values`` wrote it."""
    fields: dict[FieldKey, str | None] = _loads(text)
    return fields


def encode_values(values: Mapping[Any, str | None]) -> str:
    """The inverse of ``decode_values``."""
    return _dumps(values if type(values) is dict else dict(values))
