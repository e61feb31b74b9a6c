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
   ``sync --full``) for flags not yet dated, on ``backfill --rebuild-history`` for every
   flag (its dates are re-read from the CRM, as the deals' stage histories are), and on an
   incremental run whose window is too long for the modified time to date a new flag.

Steps 1-3 happen page by page (``date_flags``). Step 4 is gathered across the whole pull, so
a first sync spends one call per 50 flagged people, not one per page that has one: each
page's transaction adds its undated people to a list the state keeps (``PENDING``), and
``read_pending`` reads their history once the pull has ended (or, after a crash, at the end
of the next pull) and stores the dates. A flag no step dates stays dated by the client date,
inferred.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from milestones.connectors.base import Connector, Record, Window
from milestones.mapping.dating import held_since
from milestones.mapping.derive import is_flag_set
from milestones.mapping.records import Contact
from milestones.store.sqlite import Store

PRECISE = timedelta(days=1)  # a modified time within this of the window's start dates a flag
PENDING = "flag_history_pending"  # meta key: ids of people whose flags await their history


def date_flags(
    records: Sequence[Record],
    flags: Sequence[str],
    window: Window,
    store: Store,
    rebuild: bool = False,
) -> tuple[list[Record], list[str]]:
    """``records`` with each set flag dated where no call is needed (steps 1-3 above), and
    the ids of the people whose flags need their history read (step 4). ``rebuild``
    (``backfill --rebuild-history``): dates the state kept are read again from the CRM."""
    flagged = [
        r
        for r in records
        if isinstance(r, Contact)
        and not r.is_deleted
        and any(is_flag_set(r.properties.get(f)) for f in flags)
    ]
    if not flagged:
        return list(records), []
    prior = {} if rebuild else store.mirror.contacts([c.id for c in flagged])
    known: dict[str, dict[str, datetime]] = {}
    unread: list[str] = []
    for contact in flagged:
        dates = known[contact.id] = dict(contact.property_set_at)
        is_read = False
        for flag in flags:
            if flag in dates or not is_flag_set(contact.properties.get(flag)):
                continue
            found, must_read = _without_history(contact, prior.get(contact.id), flag, window)
            if found is not None:
                dates[flag] = found
            is_read = is_read or must_read
        if is_read:
            unread.append(contact.id)
    return [_dated(r, known) for r in records], unread


def add_pending(store: Store, ids: Sequence[str]) -> None:
    """Remember ``ids`` for ``read_pending``; call inside the page's transaction."""
    if ids:
        pending = _pending(store)
        store.set_meta(PENDING, json.dumps(sorted({*pending, *ids})))


def read_pending(store: Store, connector: Connector, flags: Sequence[str]) -> int:
    """Read the pending people's flag history in one go and store the dates; how many
    people got one."""
    pending = _pending(store)
    if not pending:
        return 0
    history = connector.property_history(pending, flags) if flags else {}
    dated: dict[str, dict[str, datetime]] = {}
    for contact_id, changes in history.items():
        for flag in flags:
            since = held_since(changes.get(flag, ()), is_flag_set)
            if since is not None:
                dated.setdefault(contact_id, {})[flag] = since
    with store.transaction():
        store.mirror.set_property_dates(dated)
        store.set_meta(PENDING, None)
    return len(dated)


def _pending(store: Store) -> list[str]:
    text = store.get_meta(PENDING)
    return [str(i) for i in json.loads(text)] if text else []


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
