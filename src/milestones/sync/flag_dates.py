"""Advocacy flags dated by their own history, at the least API cost.

A flag (``reference_customer``...) proves advocacy from the day it was set, which the flag's
value alone does not say. The date comes, in order of cost:

1. from the pull itself (Salesforce reads ContactHistory / LeadHistory as a subquery of the
   people query, so the contact arrives with ``property_set_at``);
2. from the mirror: a flag already dated and still set keeps its date, no call;
3. from the record's modified time, when an incremental run sees the flag newly set on a
   record whose change falls within a day of the window's start (or the record's creation):
   the flag was set inside that span, so the modified time dates it to the day, observed;
4. from the CRM's property history (``Connector.property_history``: HubSpot's batch read
   with ``propertiesWithHistory``, 50 records a call) on full pulls (the first sync,
   ``sync --full``, ``backfill --rebuild-history``) for flags not yet dated, and on an
   incremental run whose window is too long for the modified time to date a new flag.

A flag no step dates stays dated by the client date, inferred.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from milestones.connectors.base import Connector, Record, Window
from milestones.mapping.dating import held_since
from milestones.mapping.derive import is_flag_set
from milestones.mapping.records import Contact
from milestones.store.sqlite import Store

PRECISE = timedelta(days=1)  # a modified time within this of the window's start dates a flag


def date_flags(
    records: Sequence[Record],
    flags: Sequence[str],
    window: Window,
    store: Store,
    connector: Connector,
) -> list[Record]:
    """``records`` with each set flag of each contact dated where it can be (steps above)."""
    flagged = [
        r
        for r in records
        if isinstance(r, Contact)
        and not r.is_deleted
        and any(is_flag_set(r.properties.get(f)) for f in flags)
    ]
    if not flagged:
        return list(records)
    prior = store.mirror.contacts([c.id for c in flagged])
    known: dict[str, dict[str, datetime]] = {}
    unread: dict[str, list[str]] = {}
    for contact in flagged:
        dates = known[contact.id] = dict(contact.property_set_at)
        for flag in flags:
            if flag in dates or not is_flag_set(contact.properties.get(flag)):
                continue
            found, is_read = _without_history(contact, prior.get(contact.id), flag, window)
            if found is not None:
                dates[flag] = found
            elif is_read:
                unread.setdefault(contact.id, []).append(flag)
    if unread:
        names = sorted({f for wanted in unread.values() for f in wanted})
        history = connector.property_history(sorted(unread), names)
        for contact_id, wanted in unread.items():
            changes = history.get(contact_id, {})
            for flag in wanted:
                since = held_since(changes.get(flag, ()), is_flag_set)
                if since is not None:
                    known[contact_id][flag] = since
    return [_dated(r, known) for r in records]


def _without_history(
    contact: Contact, before: Contact | None, flag: str, window: Window
) -> tuple[datetime | None, bool]:
    """The flag's date from the mirror or the modified time, else whether to read its history."""
    if before is not None and is_flag_set(before.properties.get(flag)):
        kept = before.property_set_at.get(flag)
        return kept, kept is None and window.is_full
    if window.is_full or window.since is None:
        return None, True
    start = max(window.since, contact.created_at or window.since)
    modified = contact.modified_at
    if modified is not None and modified - start <= PRECISE:
        return modified, False
    return None, True


def _dated(record: Record, known: Mapping[str, dict[str, datetime]]) -> Record:
    if not isinstance(record, Contact):
        return record
    dates = known.get(record.id)
    if not dates or dates == record.property_set_at:
        return record
    return replace(record, property_set_at=dates)
