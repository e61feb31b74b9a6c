"""The likelihood write-back step: plan ``next_milestone_likelihood`` where its band moved.

Opt-in (``[likelihood] writeback = true``). After the run's derive, the bands (each waiting
person's chance of reaching their next milestone within 90 days, rounded to 10 percent) are
computed by a function the command hands in (the estimator lives with the report, above
this room), compared with the CRM's current values, and only the people whose band differs
are derived and planned again, now with the band among their fields. Bands change slowly,
so a day passing writes only the records whose band crossed a boundary, and a rerun with no
CRM change writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from milestones.mapping.fields import FieldKey
from milestones.store.sqlite import Store
from milestones.sync.plan import normalise

LIKELIHOOD_KEY: FieldKey = "next_milestone_likelihood"
BANDS_META_KEY = "likelihood_bands_on"
# Person id -> band ("0", "10", ... "100"); a person missing has no band (the field is cleared).
Bands = Callable[[Store, date], Mapping[str, str]]


def mark_band_changes(store: Store, bands: Mapping[str, str]) -> int:
    """Mark dirty every person whose band differs from the CRM's value; how many."""
    moved = [
        rid
        for rid, held in store.people.iter_crm_values(LIKELIHOOD_KEY)
        if normalise(LIKELIHOOD_KEY, bands.get(rid)) != normalise(LIKELIHOOD_KEY, held)
    ]
    if moved:
        with store.transaction():
            store.people.mark_dirty(moved)
    return len(moved)


def are_bands_due(store: Store, today: date, pulled: int) -> bool:
    """Whether the bands can have moved since they were last planned: a new day, or records
    read (new milestones, new people, disqualifications). An idle rerun computes nothing."""
    return pulled > 0 or store.get_meta(BANDS_META_KEY) != today.isoformat()


def note_bands_planned(store: Store, today: date) -> None:
    """Remember the day the bands were last compared with the CRM."""
    with store.transaction():
        store.set_meta(BANDS_META_KEY, today.isoformat())
