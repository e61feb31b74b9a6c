"""Work a run does only now and then, such as reading a catalogue at most once a day.

Each piece of periodic work has a name; the time it was last done is kept in the state's
``meta`` table under ``last_done:<name>``, so every run, whatever process it is, sees it.
A step asks ``is_due`` before the work, and calls ``mark_done`` in the transaction that stores
what the work read: a run that crashes between the two does the work again, never skips it.
``forget`` makes the next run do it whatever the time (a reset, a failed write that shows
the cached answer is stale).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from milestones.store.sqlite import Store

DAY = timedelta(days=1)
PREFIX = "last_done:"


@dataclass(slots=True)
class Periodic:
    """When each named piece of periodic work was last done, in the state."""

    store: Store

    def last_done(self, name: str) -> datetime | None:
        """When ``name`` was last done, or None if never (or forgotten)."""
        value = self.store.get_meta(PREFIX + name)
        return datetime.fromisoformat(value) if value else None

    def is_due(self, name: str, now: datetime, every: timedelta = DAY) -> bool:
        """Whether ``name`` was never done, or last done ``every`` or longer before ``now``.

        A last time in the future (a clock set back) counts as due, so a wrong clock costs
        one read, never a catalogue kept forever.
        """
        last = self.last_done(name)
        return last is None or not (now - every < last <= now)

    def mark_done(self, name: str, now: datetime) -> None:
        """Record that ``name`` was done at ``now`` (inside the caller's transaction)."""
        self.store.set_meta(PREFIX + name, now.isoformat())

    def forget(self, name: str) -> None:
        """Make ``name`` due on the next run."""
        self.store.set_meta(PREFIX + name, None)
