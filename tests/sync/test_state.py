"""The state file: private, WAL, versioned, and the plan's comparison rules."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sync_fakes import count

from milestones.store.health import StateError
from milestones.store.location import open_state
from milestones.store.rows import Cursor
from milestones.store.schema import MIGRATIONS
from milestones.store.sqlite import Store
from milestones.sync.plan import diff_fields, normalise
from pg_support import Orgs


def test_a_new_state_file_is_private_wal_and_current(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.db"
    with Store(path) as state:
        assert state.version == len(MIGRATIONS)
        assert state.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with Store(path) as again:  # migrations are not applied twice
        assert again.version == len(MIGRATIONS)


def test_a_state_is_migrated_once(orgs: Orgs) -> None:
    with open_state(orgs.location()) as state:
        assert state.migrated_from == 0 and state.version == len(MIGRATIONS)
    with open_state(orgs.location()) as again:
        assert again.migrated_from == again.version == len(MIGRATIONS)


def test_a_newer_schema_is_refused(orgs: Orgs) -> None:
    with open_state(orgs.location()) as state:
        state.db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    for read_only in (False, True):
        with pytest.raises(StateError, match="upgrade milestones"):  # exit 2, versions named
            open_state(orgs.location(), read_only=read_only)


def test_cursors_round_trip(orgs: Orgs) -> None:
    from datetime import UTC, datetime

    moment = datetime(2025, 5, 1, 12, 30, tzinfo=UTC)
    with open_state(orgs.location()) as state:
        cursor = Cursor("hubspot", "deals", "sync", committed=moment, resume="abc", pages=3)
        with state.transaction():
            state.cursors.save(cursor)
        assert state.cursors.get("hubspot", "deals", "sync") == cursor
        assert state.cursors.get("hubspot", "contacts", "sync").committed is None


def test_a_failed_transaction_leaves_nothing(orgs: Orgs) -> None:
    with open_state(orgs.location()) as state:
        with pytest.raises(ZeroDivisionError), state.transaction() as db:
            db.execute("INSERT INTO dirty VALUES ('c1')")
            _ = 1 / 0
        assert count(state, "dirty") == 0


@pytest.mark.parametrize(
    ("key", "ours", "theirs", "equal"),
    [
        ("milestone", "prospect", "Prospect", True),
        ("disqualified", "false", "False", True),
        ("disqualified", "true", "false", False),
        ("milestone_date", "2025-03-04", "2025-03-04T00:00:00.000+0000", True),
        ("milestone_date", "2025-03-04", "1741046400000", True),
        ("milestone_date", "2025-03-04", "2025-03-05", False),
        ("advocate_since", None, "", True),
        ("disqualified_reason", None, "lead status X", False),
    ],
)
def test_plan_compares_values_the_way_crms_store_them(
    key: str, ours: str | None, theirs: str | None, equal: bool
) -> None:
    assert (normalise(key, ours) == normalise(key, theirs)) is equal  # type: ignore[arg-type]
    assert (diff_fields({key: ours}, {key: theirs}) == {}) is equal  # type: ignore[dict-item]


NEXT_MIGRATION = """
    CREATE TABLE notes (org TEXT NOT NULL, kind TEXT NOT NULL, seen INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (org, kind)) WITHOUT ROWID;
    CREATE INDEX notes_seen ON notes(seen) WHERE seen > 0;
    ALTER TABLE runs ADD COLUMN org TEXT
"""


def test_a_later_migration_in_the_same_style_applies_on_both_engines(
    orgs: Orgs, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_state(orgs.location()) as state:
        assert state.version == len(MIGRATIONS)
    later = (*MIGRATIONS, NEXT_MIGRATION)
    for module in ("sqlite", "postgres", "health"):
        monkeypatch.setattr(f"milestones.store.{module}.MIGRATIONS", later)
    with open_state(orgs.location()) as state, state.transaction() as db:
        assert state.migrated_from == len(MIGRATIONS) and state.version == len(later)
        upsert = (
            "INSERT INTO notes (org, kind) VALUES (?, ?) "
            "ON CONFLICT (org, kind) DO UPDATE SET seen = notes.seen + 1"
        )
        for _ in range(3):
            db.execute(upsert, ("acme", "run"))
        assert db.execute("SELECT seen FROM notes WHERE org = ?", ("acme",)).fetchone()[0] == 2
        assert "org" in state.columns("runs")
