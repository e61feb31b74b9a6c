"""Copies of the state file beside it: online backups, history exports, damaged files set aside.

The state holds names and emails, so every copy is created mode 0600 and lives in the state
file's own folder under a name that starts with the state file's name::

    milestones.db.20261101T120000Z.backup        an online backup (SQLite's backup API)
    milestones.db.20261101T120000Z.history.jsonl a `milestones state export`
    milestones.db.20261101T120000Z.damaged       the file `milestones state restore` replaced

``list_state_copies`` enumerates them all (erasing a person must reach them too), newest
first. ``back_up`` copies an open connection safely while it is in use; ``prune`` keeps the
newest N backups; ``restore`` puts a backup in the state file's place.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from milestones.store.health import StateError, check_state

SUFFIXES = {"backup": ".backup", "export": ".history.jsonl", "damaged": ".damaged"}
DAILY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class StateCopy:
    """One copy of (part of) the state beside the state file."""

    kind: str  # backup | export | damaged
    path: Path
    taken_at: datetime


def copy_path(state_path: Path, kind: str, now: datetime) -> Path:
    """Where a new copy of ``kind`` taken at ``now`` goes (beside the state file)."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = state_path.with_name(f"{state_path.name}.{stamp}{SUFFIXES[kind]}")
    n = 1
    while path.exists():  # two in one second: keep both
        n += 1
        path = state_path.with_name(f"{state_path.name}.{stamp}-{n}{SUFFIXES[kind]}")
    return path


def list_state_copies(state_path: Path, kind: str | None = None) -> list[StateCopy]:
    """Every backup, export and set-aside damaged file of this state, newest first."""
    prefix = f"{state_path.name}."
    found: list[StateCopy] = []
    folder = state_path.parent if str(state_path.parent) else Path(".")
    if not folder.is_dir():
        return []
    for entry in folder.iterdir():
        if not entry.name.startswith(prefix):
            continue
        for name, suffix in SUFFIXES.items():
            if (kind is None or kind == name) and entry.name.endswith(suffix):
                stamp = entry.name[len(prefix) : -len(suffix)].split("-")[0]
                try:
                    taken = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                except ValueError:
                    continue
                found.append(StateCopy(name, entry, taken))
    return sorted(found, key=lambda c: (c.taken_at, c.path.name), reverse=True)


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (or make an existing one 0600)."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)


def back_up(db: sqlite3.Connection, state_path: Path, now: datetime) -> Path:
    """Copy the open database to a new backup beside it (consistent while in use)."""
    final = copy_path(state_path, "backup", now)
    partial = final.with_name(final.name + ".partial")
    create_private(partial)
    try:
        target = sqlite3.connect(partial)
        try:
            db.backup(target)
        finally:
            target.close()
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return final


def prune(state_path: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups; the deleted paths."""
    old = list_state_copies(state_path, "backup")[max(keep, 1) :]
    for copy in old:
        copy.path.unlink(missing_ok=True)
    return [c.path for c in old]


def is_backup_due(state_path: Path, now: datetime) -> bool:
    """True when the newest backup is a day old or more (or there is none)."""
    newest = list_state_copies(state_path, "backup")
    return not newest or now - newest[0].taken_at >= DAILY


def restore(
    state_path: Path, now: datetime, backup: Path | None = None
) -> tuple[Path, Path | None]:
    """Put ``backup`` (default: the newest good one) in the state file's place.

    The file it replaces is kept beside it as ``.damaged`` (mode 0600); returns the backup
    used and that set-aside file. Raises ``StateError`` when no good backup is found.
    """
    candidates = [backup] if backup else [c.path for c in list_state_copies(state_path, "backup")]
    chosen = next((p for p in candidates if p.exists() and check_state(p).is_ok), None)
    if chosen is None:
        problem = f"backup {backup} is damaged or missing" if backup else "no good backup"
        raise StateError(
            state_path,
            problem,
            "export the history from any copy that opens, or rebuild with a full sync",
        )
    aside: Path | None = None
    if state_path.exists():
        aside = copy_path(state_path, "damaged", now)
        os.replace(state_path, aside)
        os.chmod(aside, 0o600)
    for extra in ("-wal", "-shm"):
        state_path.with_name(state_path.name + extra).unlink(missing_ok=True)
    partial = state_path.with_name(state_path.name + ".partial")
    create_private(partial)
    source = sqlite3.connect(f"{chosen.resolve().as_uri()}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
    os.replace(partial, state_path)
    return chosen, aside
