"""When a world's reference customers were flagged: weeks after their first win, mostly.

A client agrees to be a reference after buying, so each flagged person's flag is set some
weeks after their first won deal, and the world keeps that change in the person's property
history (``World.record_change``), which the sandboxes serve as HubSpot's
``propertiesWithHistory`` and Salesforce's ContactHistory / LeadHistory. A few flags were
cleared and set again (a reference that lapsed and was renewed: advocacy dates from the last
setting), and a few were set before the win (during a pilot: advocacy dates from the win).

Drawn from a random stream of its own, so the rest of the world is the same with or without
flag dates.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

from milestones.sandbox.world.records import Person
from milestones.sandbox.world.store import World

DAY = 86_400_000
SET_MEAN_DAYS = 40  # mean time from the first win to the flag
RESET_SHARE = 0.15  # flags cleared and set again
EARLY_SHARE = 0.05  # flags set before the first win
FLAG = "is_reference"


def date_flags(
    world: World,
    rng: random.Random,
    flagged: Iterable[Person],
    first_win: Callable[[int], int | None],
    now: int,
) -> None:
    """Give each flagged person's flag a setting (and maybe a clearing) in their history."""
    for person in flagged:
        won = first_win(person.id)
        start = won if won is not None else person.created
        if rng.random() < EARLY_SHARE and start > person.created:
            set_at = person.created + int(rng.random() * (start - person.created))
        else:
            set_at = start + int((rng.expovariate(1 / SET_MEAN_DAYS) + 1) * DAY)
        set_at = max(person.created, min(set_at, now - 2 * DAY))
        changes = [(set_at, False, True)]
        if rng.random() < RESET_SHARE and now - set_at > 10 * DAY:
            cleared = set_at + DAY + int(rng.random() * (now - set_at) / 3)
            again = cleared + DAY + int(rng.random() * (now - DAY - cleared) / 2)
            changes += [(cleared, True, False), (again, False, True)]
        for at, old, new in changes:
            world.record_change(person.id, at, FLAG, old, new)
        last = changes[-1][0]
        person.modified = max(person.modified, last)
        person.touched = max(person.touched, last)
