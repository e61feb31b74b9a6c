"""Echoes of our own writes: pulled records that changed only because we wrote them.

Writing a milestone back moves the record's modified time in the CRM (Salesforce's
SystemModstamp, HubSpot's lastmodifieddate), so the next incremental run reads every record
the last one wrote. Such a record says nothing new: the values of our fields are the ones
the mirror's ``crm`` column already holds (``Outbox.record`` copied them there), and nothing
derive reads has moved. The mirror stores it as always but does not mark it dirty, so the
run after a write derives and plans only what truly changed.

A pulled person or deal is an echo of the stored one when, as ``codec`` encodes them, they
differ at most in:

- the modified time,
- the values of the properties we write, each now equal to what ``crm`` holds for it,
- the property dates (``Contact.property_set_at``) of the properties we write.

A converted lead is never derived or written (its Contact is): its values of our fields are
not compared with ``crm``, only the rest of it, so it stays still while the Contact it became
is written (where the CRM shows the Contact's values on the converted Lead as well).

Everything else (another property, the owner, the company, the referrer, a deal's contacts,
a deletion, a conversion) is a change, and so is a record with a write waiting or refused in
the outbox: a refused write is planned again only once the record has moved on, whatever
moved it.

Records that touch people without being written are held to the same test: a deal-person
link (Salesforce's OpportunityContactRole, whose modified time may follow its deal's) and an
activity (a HubSpot roll-up activity carries its contact's modified time) read again as they
are stored, the activity's modified time aside, mark no one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from milestones.mapping.fields import FieldKey
from milestones.mapping.records import Activity, Deal, Link
from milestones.store import codec
from milestones.store.dialect import IDS, Connection

# Where codec's contact and deal arrays keep the modified time and the property dates (the
# tests pin them, and codec.PROPERTIES).
CONTACT = (codec.CONTACT_MODIFIED, codec.CONTACT_SET_AT)
DEAL = (codec.DEAL_MODIFIED, None)
_ACTIVITY_MODIFIED = codec.ACTIVITY_COLUMNS.split(", ").index("modified_at")
_ACTIVITY_WIDTH = len(codec.ACTIVITY_COLUMNS.split(", ")) + 1  # and is_deleted

Stored = tuple[Any, ...]  # data, crm, ref_key, is_deleted, has a write (``stored``)
_WRITTEN_AS = {"contacts": "'contact', 'lead'", "deals": "'deal'"}  # the outbox's object kinds


def stored(db: Connection, table: str, ids_arg: str) -> dict[str, Stored]:
    """The stored (data, crm, ref_key, is_deleted, has a write) of the ids in ``ids_arg`` (a
    JSON array) in ``table`` (contacts, deals): one statement for a page."""
    rows = db.execute(
        f"SELECT t.id, t.data, t.crm, t.ref_key, t.is_deleted, EXISTS (SELECT 1 FROM writes w "
        f"WHERE w.object_kind IN ({_WRITTEN_AS[table]}) AND w.record_id = t.id) "
        f"FROM {table} t WHERE t.id IN {IDS}",
        (ids_arg,),
    )
    return {r[0]: r[1:] for r in rows}


def changed_deals(
    db: Connection,
    deals: Sequence[Deal],
    rows: Sequence[tuple[Any, ...]],
    values: Sequence[Mapping[FieldKey, str | None] | None],
    stored: Mapping[str, Stored],
    fields: Sequence[tuple[FieldKey, str]],
) -> set[str]:
    """The ids of the pulled ``deals`` that are not echoes (given their mirror ``rows``, their
    ``crm`` ``values`` and what is ``stored``); an echo keeps its contacts too."""
    links: dict[str, set[str]] = {}
    for deal_id, contact_id in db.execute(
        f"SELECT deal_id, contact_id FROM deal_contacts WHERE link_id = '' AND deal_id IN {IDS}",
        (codec.dumps(list(stored)),),
    ):
        links.setdefault(deal_id, set()).add(contact_id)
    written = tuple(name for _key, name in fields)
    changed = set()
    for d, row, crm in zip(deals, rows, values, strict=True):
        old = stored.get(d.id)
        if (
            old is None
            or set(d.contact_ids) != links.get(d.id, set())
            or not is_echo(old, row[1], row[4], crm, row[5], written, DEAL)
        ):
            changed.add(d.id)
    return changed


def changed_links(db: Connection, links: Sequence[Link], ids_arg: str) -> list[Link]:
    """The pulled deal-person ``links`` that are new, moved or deleted: one read again as it
    is stored (its deal was written, say) changes no one."""
    kept: dict[str, set[tuple[str, str]]] = {}
    for link_id, deal_id, contact_id in db.execute(
        f"SELECT link_id, deal_id, contact_id FROM deal_contacts WHERE link_id IN {IDS}",
        (ids_arg,),
    ):
        kept.setdefault(link_id, set()).add((deal_id, contact_id))
    return [
        link
        for link in links
        if link.is_deleted or kept.get(link.id) != {(link.deal_id, link.contact_id)}
    ]


def is_echo(
    stored: Stored,
    ref_key: str | None,
    data: str,
    crm: Mapping[FieldKey, str | None] | None,
    crm_text: str | None,
    written: Sequence[str],
    layout: tuple[int, int | None],
    is_written: bool = True,
) -> bool:
    """Whether a pulled record is an echo of the ``stored`` one.

    The pulled record: its ``ref_key`` and ``data`` as the mirror keeps them, ``crm`` its
    values of our fields by key (None for a deleted record) and ``crm_text`` their encoding;
    ``written``: the CRM names of the properties we write; ``layout``: where the record's
    array keeps its modified time and its property dates (None: it keeps none);
    ``is_written``: False for a record we never write (a converted lead), whose values of our
    fields matter to no one and are not compared.
    """
    stored_data, stored_crm, stored_ref, is_deleted, has_write = stored
    if has_write or is_deleted or crm is None or ref_key != stored_ref:
        return False
    if is_written and crm_text != stored_crm:
        held = codec.decode_values(stored_crm)  # json_patch may have reordered the keys
        if any(held.get(key) != value for key, value in crm.items()):
            return False
    if data == stored_data:  # a re-read of an unchanged record (the cursor's lookback)
        return True
    try:
        old: list[Any] = codec.loads(stored_data)
        new: list[Any] = codec.loads(data)
    except ValueError:  # not codec's text: a change, to be safe
        return False
    if len(old) != len(new):
        return False
    modified, dates = layout
    old[modified] = new[modified] = None
    for index in (codec.PROPERTIES, dates):
        if index is not None and old[index] != new[index]:
            # Our properties (their values checked against crm above) take the pulled values
            # on both sides; the rest must match. Set in C calls: this runs for each echo.
            ours = list(zip(written, map(new[index].get, written), strict=True))
            old[index].update(ours)
            new[index].update(ours)
    return old == new


def activity_contacts(db: Connection, ids_arg: str) -> dict[str, set[str]]:
    """The stored people of the activities in ``ids_arg`` (a JSON array), by activity."""
    held: dict[str, set[str]] = {}
    for activity_id, contact_id in db.execute(
        f"SELECT activity_id, contact_id FROM activity_contacts WHERE activity_id IN {IDS}",
        (ids_arg,),
    ):
        held.setdefault(activity_id, set()).add(contact_id)
    return held


def changed_activities(
    db: Connection,
    activities: Sequence[Activity],
    rows: Sequence[tuple[Any, ...]],
    held: Mapping[str, set[str]],
) -> list[Activity]:
    """The pulled ``activities`` (with their ``codec.activity_row`` columns and is_deleted in
    ``rows``) that changed: any column but the modified time (which derive never reads), or
    their people (``held``: the stored ones)."""
    stored = {
        r[0]: r
        for r in db.execute(
            f"SELECT {codec.ACTIVITY_COLUMNS}, is_deleted FROM activities WHERE id IN {IDS}",
            (codec.dumps(list(held)),),
        )
    }
    changed = []
    for a, new in zip(activities, rows, strict=True):
        old = stored.get(a.id)
        if (
            old is None
            or old[:_ACTIVITY_MODIFIED] != new[:_ACTIVITY_MODIFIED]
            or old[_ACTIVITY_MODIFIED + 1 : _ACTIVITY_WIDTH]
            != new[_ACTIVITY_MODIFIED + 1 : _ACTIVITY_WIDTH]
            or set(a.contact_ids) != held.get(a.id)
        ):
            changed.append(a)
    return changed
