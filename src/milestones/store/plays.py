"""The plays' state: which task each play opened, whether it is still open, what followed.

Rows cross the boundary as ``PlayRow`` and ``OwnerPlays``. Ids go to SQL as plain ``?``
lists, a bounded number at a time, so the same statements run on every store engine.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from milestones.mapping.records import Milestone
from milestones.store import codec
from milestones.store.dialect import Connection
from milestones.store.keyset import id_chunks

PLAYS_SCHEMA = 6  # the migration that adds the plays tables
OPEN_STATES = ("open", "left")  # left: the situation cleared, the task is its owner's now
_CHUNK = 500
_COLUMNS = "id, contact_id, play, owner_id, task_id, status, milestone, opened_on, closed_on"


@dataclass(frozen=True, slots=True)
class PlayRow:
    """One task a play opened, and where it stands."""

    id: int
    contact_id: str
    play: str
    owner_id: str | None
    task_id: str | None
    status: str
    milestone: str
    opened_on: str
    closed_on: str | None


@dataclass(frozen=True, slots=True)
class Opened:
    """A task just created for a play, to be recorded."""

    contact_id: str
    play: str
    owner_id: str | None
    task_id: str
    milestone: str


@dataclass(slots=True)
class OwnerPlays:
    """One owner's plays: opened, still open, done by the owner, closed as cleared, and how
    many of the people moved past the milestone they held when the play opened."""

    owner_id: str
    opened: int = 0
    open: int = 0
    done: int = 0
    cleared: int = 0
    advanced: int = 0
    by_play: dict[str, int] = field(default_factory=dict)


class Plays:
    """Reads and writes of the ``plays`` and ``play_disqualified`` tables."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def person_ids(self, size: int) -> Iterator[list[str]]:
        """Live, unconverted people in id order, ``size`` at a time."""
        return id_chunks(
            self.db,
            "SELECT id FROM contacts WHERE is_deleted = 0 AND converted_to IS NULL "
            "AND id > ? ORDER BY id LIMIT ?",
            size,
        )

    def open_rows(self) -> list[PlayRow]:
        """Every play whose task may still be open (bounded by the daily cap)."""
        marks = ", ".join("?" for _ in OPEN_STATES)
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM plays WHERE status IN ({marks}) ORDER BY owner_id, id",
            OPEN_STATES,
        ).fetchall()
        return [PlayRow(*row) for row in rows]

    def closed_since(self, day: date) -> set[tuple[str, str]]:
        """(person, play) pairs whose task was closed on or after ``day``."""
        rows = self.db.execute(
            "SELECT contact_id, play FROM plays WHERE closed_on >= ?", (day.isoformat(),)
        ).fetchall()
        return {(str(c), str(p)) for c, p in rows}

    def opened_per_owner(self, day: date) -> dict[str | None, int]:
        """How many tasks each owner got on ``day`` (the cap counts them)."""
        rows = self.db.execute(
            "SELECT owner_id, COUNT(*) FROM plays WHERE opened_on = ? GROUP BY owner_id",
            (day.isoformat(),),
        ).fetchall()
        return {owner: int(n) for owner, n in rows}

    def record_opened(self, opened: Sequence[Opened], day: date, run_id: int | None) -> None:
        """Keep the tasks just created (call inside a transaction)."""
        self.db.executemany(
            "INSERT INTO plays (contact_id, play, owner_id, task_id, status, milestone, "
            "opened_on, run_id) VALUES (?, ?, ?, ?, 'open', ?, ?, ?)",
            [
                (o.contact_id, o.play, o.owner_id, o.task_id, o.milestone, day.isoformat(), run_id)
                for o in opened
            ],
        )

    def set_status(self, ids: Sequence[int], status: str, day: date) -> None:
        """Move plays to ``status`` (``done``, ``cleared``: closed that day; ``left``)."""
        closed = None if status in OPEN_STATES else day.isoformat()
        self.db.executemany(
            "UPDATE plays SET status = ?, closed_on = COALESCE(?, closed_on) WHERE id = ?",
            [(status, closed, i) for i in ids],
        )

    def disqualified_since(self, contact_ids: Sequence[str]) -> dict[str, date]:
        """The day each of these people was first seen disqualified."""
        found: dict[str, date] = {}
        for chunk in _chunks(contact_ids):
            marks = ", ".join("?" for _ in chunk)
            for cid, since in self.db.execute(
                f"SELECT contact_id, since FROM play_disqualified WHERE contact_id IN ({marks})",
                chunk,
            ):
                found[str(cid)] = date.fromisoformat(since)
        return found

    def note_disqualified(
        self, now_disqualified: Sequence[str], requalified: Sequence[str], day: date
    ) -> None:
        """Start the clock for newly disqualified people; stop it for requalified ones."""
        self.db.executemany(
            "INSERT INTO play_disqualified (contact_id, since) VALUES (?, ?) "
            "ON CONFLICT (contact_id) DO NOTHING",
            [(cid, day.isoformat()) for cid in now_disqualified],
        )
        self.db.executemany(
            "DELETE FROM play_disqualified WHERE contact_id = ?", [(c,) for c in requalified]
        )

    def by_owner(self, since: date | None = None) -> list[OwnerPlays]:
        """Per owner: plays opened (since ``since``), open, done, cleared, and advanced."""
        rows = self.db.execute(
            "SELECT p.owner_id, p.play, p.status, p.milestone, c.derived, p.contact_id "
            "FROM plays p LEFT JOIN contacts c ON c.id = p.contact_id "
            "WHERE p.opened_on >= ? ORDER BY p.owner_id",
            ((since or date.min).isoformat(),),
        ).fetchall()
        owners: dict[str, OwnerPlays] = defaultdict(lambda: OwnerPlays(""))
        for owner_id, play, status, milestone, derived, contact_id in rows:
            key = owner_id or ""
            tally = owners[key]
            tally.owner_id = key
            tally.opened += 1
            tally.by_play[play] = tally.by_play.get(play, 0) + 1
            if status in OPEN_STATES:
                tally.open += 1
            elif status == "done":
                tally.done += 1
            elif status == "cleared":
                tally.cleared += 1
            now = codec.decode_derived(contact_id, derived)
            if now is not None and now.milestone > Milestone.parse(milestone):
                tally.advanced += 1
        return [owners[k] for k in sorted(owners)]


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
