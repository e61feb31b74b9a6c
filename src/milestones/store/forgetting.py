"""Erasing a person on request, and the privacy chores that follow each run.

``forget`` resolves ids and email addresses to the people the mirror holds, erases them to
tombstones (``privacy.erase``), drops the run details that quote them, keeps their ids on the
deny list (unless the caller allows a resync), carries the erasure to every backup and export
(``copies``), and compacts the file. Running it twice erases nothing more.

``after_run`` applies the ``[privacy]`` retention and, when the run erased records the CRM
no longer has, carries those erasures to the copies too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from milestones.store import privacy
from milestones.store.copies import CopyScrub, Erased, expire_unreadable, scrub_copies
from milestones.store.sqlite import Store


@dataclass(slots=True)
class ForgetResult:
    """What ``forget`` found and erased."""

    ids: list[str] = field(default_factory=list)  # the people erased
    unknown: list[str] = field(default_factory=list)  # ids or emails the state never held
    live: list[str] = field(default_factory=list)  # still in the CRM as of the last sync
    denied: bool = True  # kept out of later syncs
    erasure: privacy.Erasure = field(default_factory=privacy.Erasure)
    copies: list[CopyScrub] = field(default_factory=list)


def forget(
    store: Store,
    ids: Sequence[str],
    emails: Sequence[str],
    now: datetime,
    allow_resync: bool = False,
) -> ForgetResult:
    """Erase the given people everywhere the state reaches; see the module docstring."""
    keys = store.privacy
    result = ForgetResult(denied=not allow_resync)
    found: dict[str, None] = {}
    for email in emails:
        matches = keys.ids_with_email(email)
        if not matches:
            result.unknown.append(email)
        found.update(dict.fromkeys(matches))
    found.update(dict.fromkeys(store.people.leads_of(ids)))  # the leads they were
    held = store.people.held(ids)
    for rid in ids:
        found[rid] = None
        if rid not in held:
            result.unknown.append(rid)
    result.ids = list(found)
    result.live = sorted(keys.known(result.ids))
    needles = [*result.ids, *emails, *store.people.names_of(result.ids)]
    with store.transaction():
        result.erasure = store.mirror.erase(result.ids, ())
        store.accounts.mark_people(result.ids)  # their accounts are rolled up without them
        result.erasure.run_details = privacy.scrub_run_details(store.db, needles)
        if allow_resync:
            keys.allow(result.ids)
        else:
            keys.deny(result.ids, now.isoformat())
    result.copies = scrub_copies(
        store.path,
        Erased(result.ids, (), keys.denied_hashes(), needles, drop_people=result.ids),
    )
    privacy.compact(store.db)
    return result


def after_run(store: Store, now: datetime, keep_days: int) -> list[CopyScrub]:
    """Prune old run details and failed-write texts; carry new erasures to the copies."""
    with store.transaction():
        privacy.prune_details(store.db, (now - timedelta(days=keep_days)).isoformat())
    expire_unreadable(store.path, now, keep_days)
    if not store.privacy.copies_stale():
        return []
    people, deals = privacy.tombstones(store.db)
    scrubbed = scrub_copies(store.path, Erased(people, deals, store.privacy.denied_hashes()))
    with store.transaction():
        store.privacy.copies_scrubbed()
    return scrubbed
