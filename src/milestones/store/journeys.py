"""Each person's way through the milestones, read from the ledger, for the likelihood.

A journey is what the likelihood estimator needs of one live person: when they were created,
the day each milestone was reached (the ledger's ``reached_on``), whether they are
disqualified and since about when, and who owns them. Open deals come with the amount and
the probability the CRM's stage gives them, for the forecast beside the CRM's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from milestones.mapping.records import Deal, Milestone, Stage
from milestones.store import codec
from milestones.store.dialect import Connection

# Positions in codec.encode_contact / encode_derived arrays.
_CONTACT_OWNER = "$[4]"
_CONTACT_CREATED = "$[6]"
_CONTACT_MODIFIED = "$[7]"
_DERIVED_DISQUALIFIED = "$[2]"
_DERIVED_DISQUALIFIED_ON = "$[4]"

_JOURNEYS_SQL = f"""
    SELECT c.id, json_extract(c.data, '{_CONTACT_OWNER}'),
        json_extract(c.data, '{_CONTACT_CREATED}'), json_extract(c.data, '{_CONTACT_MODIFIED}'),
        CAST(json_extract(c.derived, '{_DERIVED_DISQUALIFIED}') AS INTEGER),
        json_extract(c.derived, '{_DERIVED_DISQUALIFIED_ON}'), l.to_milestone, l.reached_on
    FROM contacts c
    LEFT JOIN ledger l ON l.record_kind = 'contact' AND l.record_id = c.id
    WHERE c.is_deleted = 0 AND c.converted_to IS NULL AND c.derived IS NOT NULL
    ORDER BY c.id
"""

_DEALS_SQL = """
    SELECT d.id, d.data, dc.contact_id
    FROM deals d JOIN deal_contacts dc ON dc.deal_id = d.id
    WHERE d.is_deleted = 0
    ORDER BY d.id
"""


@dataclass(slots=True)
class Journey:
    """One live person's milestones by date.

    ``disqualified_on`` is the day the person was first seen disqualified (the record's last
    change when first read so: the CRM keeps no date for the lead status), else, for results
    stored before that day was kept, the record's last change.
    """

    person_id: str
    owner_id: str | None
    created_on: date | None
    reached: dict[Milestone, date] = field(default_factory=dict)
    disqualified_on: date | None = None


@dataclass(slots=True)
class OpenDeal:
    """An open deal: its amount, its stage's probability in the CRM, and its people."""

    deal_id: str
    amount: float | None
    stage_id: str | None
    stage_probability: float | None
    contact_ids: list[str] = field(default_factory=list)


def _day(text: str | None) -> date | None:
    return datetime.fromisoformat(text).date() if text else None


def iter_journeys(db: Connection) -> Iterator[Journey]:
    """Every live, derived person's journey, in id order (streamed)."""
    current: Journey | None = None
    rows = db.execute(_JOURNEYS_SQL)
    for pid, owner, created, modified, disqualified, since, to_milestone, reached_on in rows:
        if current is None or current.person_id != pid:
            if current is not None:
                yield current
            current = Journey(pid, owner, _day(created))
            if disqualified:
                current.disqualified_on = _day(since) or _day(modified) or current.created_on
        if to_milestone and reached_on:
            current.reached[Milestone.parse(to_milestone)] = date.fromisoformat(reached_on[:10])
    if current is not None:
        yield current


def stage_catalogue(db: Connection) -> dict[str, Stage]:
    """The CRM's stages as last pulled, by id (labels, closed/won, probabilities)."""
    return {
        rid: codec.decode_stage(rid, data)
        for rid, data in db.execute("SELECT id, data FROM stages")
    }


def iter_deals_with_people(db: Connection) -> Iterator[Deal]:
    """Every live deal that touches someone, open or closed, with its stage-entry dates and
    its people in ``contact_ids`` (streamed, in id order): what a replay of the past reads."""
    current: Deal | None = None
    people: list[str] = []
    for deal_id, data, contact_id in db.execute(_DEALS_SQL):
        if current is None or current.id != deal_id:
            if current is not None:
                yield replace(current, contact_ids=tuple(people))
            current, people = codec.decode_deal(deal_id, data), []
        people.append(contact_id)
    if current is not None:
        yield replace(current, contact_ids=tuple(people))


def iter_open_deals(db: Connection) -> Iterator[OpenDeal]:
    """Every live open deal with its people and its stage's probability (streamed)."""
    stages = stage_catalogue(db)
    current: OpenDeal | None = None
    closed = None  # the closed deal whose people rows are passed over: decoded once
    for deal_id, data, contact_id in db.execute(_DEALS_SQL):
        if deal_id == closed:
            continue
        if current is None or current.deal_id != deal_id:
            if current is not None:
                yield current
            current = None
            deal = codec.decode_deal(deal_id, data)
            stage = stages.get(deal.stage_id or "")
            is_closed = (
                deal.is_closed if deal.is_closed is not None else bool(stage and stage.is_closed)
            )
            if is_closed:
                closed = deal_id
                continue
            probability = stage.probability if stage else None
            current = OpenDeal(deal_id, deal.amount, deal.stage_id, probability)
        current.contact_ids.append(contact_id)
    if current is not None:
        yield current
