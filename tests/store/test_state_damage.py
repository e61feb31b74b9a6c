"""A damaged state file is named with the way forward (exit 2), and its history survives."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from milestones.cli.app import exit_code_for
from milestones.cli.main import cli
from milestones.store import backup
from milestones.store.health import StateError, check_state
from milestones.store.rows import LedgerEntry
from milestones.store.schema import MIGRATIONS
from milestones.store.sqlite import Store

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
DERIVED = [
    3,
    [[1, "2025-03-01", "two_way", "email", "e1"], [3, "2025-09-01", "won", "deal", "d1"]],
    False,
    False,
]


def make_state(path: Path, people: int = 30) -> None:
    """A state with people, their derived results and ledger entries."""
    with Store(path) as store, store.transaction() as db:
        for i in range(people):
            db.execute(
                "INSERT INTO contacts (id, kind, data, derived) VALUES (?, 'contact', '{}', ?)",
                (f"c{i}", json.dumps(DERIVED)),
            )
        store.ledger.add(
            [
                LedgerEntry("contact", f"c{i}", None, "prospect", "2025-03-01", "e1", 1, "x")
                for i in range(people)
            ]
        )


def run(args: list[str], config: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, "--config", str(config)])
    code = result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        code = exit_code_for(result.exception)
        return code, str(result.exception)
    return code, result.output


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "milestones.toml"
    path.write_text(
        'provider = "hubspot"\n[hubspot]\naccess_token = "pat-x"\n[state]\npath = "state.db"\n',
        encoding="utf-8",
    )
    make_state(tmp_path / "state.db")
    return path


def damage(path: Path, how: str) -> None:
    if how == "truncated":
        size = path.stat().st_size
        with path.open("r+b") as f:
            f.truncate(size // 2)
    elif how == "garbage":
        path.write_bytes(os.urandom(8192))
    elif how == "newer":
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
        db.close()


def checkpoint(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


@pytest.mark.parametrize("how", ["truncated", "garbage", "newer"])
def test_a_damaged_file_is_named_with_the_next_step_and_exit_2(config: Path, how: str) -> None:
    state = config.parent / "state.db"
    checkpoint(state)
    damage(state, how)
    before = state.read_bytes()
    with pytest.raises(StateError) as caught:
        Store(state)
    assert str(state) in str(caught.value) and exit_code_for(caught.value) == 2
    if how == "newer":
        assert f"schema version {len(MIGRATIONS) + 5}" in str(caught.value)
        assert f"up to {len(MIGRATIONS)}" in str(caught.value)
    else:
        assert "milestones state restore" in str(caught.value)
    assert state.read_bytes() == before  # refused, not "repaired"
    code, text = run(["state", "check"], config)
    assert code == 2 and "NOT OK" in text
    code, text = run(["status"], config)
    assert code == 2 and str(state) in text


def test_a_full_disk_at_write_stops_with_nothing_half_written(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    make_state(state, people=5)
    with Store(state) as store:
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages + 1}")  # SQLITE_FULL, as ENOSPC
        full = pytest.raises(StateError, match="cannot write")
        with full as caught, store.transaction() as db:
            for i in range(5000):
                db.execute(
                    "INSERT INTO contacts (id, kind, data) VALUES (?, 'contact', ?)",
                    (f"big{i}", "x" * 500),
                )
        assert exit_code_for(caught.value) == 2
    with Store(state) as store:
        assert store.counts().people == 5  # the whole transaction was rolled back
    assert check_state(state).is_ok


def test_backup_before_migration_daily_at_most_once_and_pruned(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    make_state(state)
    db = sqlite3.connect(state)
    db.execute("PRAGMA user_version = 1")  # as if written by the release before migration 2
    db.execute("ALTER TABLE writes DROP COLUMN record_modified")
    db.execute("ALTER TABLE writes DROP COLUMN field")
    db.execute("ALTER TABLE contacts RENAME COLUMN email_key TO email_lc")  # and migration 3
    db.execute("DROP TABLE forgotten")
    for table in ("account_members", "accounts", "dirty_account_people"):  # and migration 5
        db.execute(f"DROP TABLE {table}")
    db.close()
    Store(state, now=NOW).close()
    copies = backup.list_state_copies(state, "backup")
    assert len(copies) == 1 and check_state(copies[0].path).schema_version == 1
    for hours in (1, 2, 30, 60, 90, 120):  # one a day at most, the newest 2 kept
        Store(state, backups=2, now=NOW + timedelta(hours=hours)).close()
    copies = backup.list_state_copies(state, "backup")
    assert [c.taken_at - NOW for c in copies] == [timedelta(hours=120), timedelta(hours=90)]
    assert all(stat.S_IMODE(c.path.stat().st_mode) == 0o600 for c in copies)


def test_restore_brings_back_the_newest_good_backup(config: Path) -> None:
    state = config.parent / "state.db"
    with Store(state, backups=3, now=NOW) as store:
        assert store.counts().people == 30
    checkpoint(state)
    damage(state, "garbage")
    code, text = run(["state", "restore"], config)
    assert code == 0, text
    with Store(state) as store:
        assert store.counts().people == 30 and len(store.ledger.of("c1")) == 1
    kinds = sorted(c.kind for c in backup.list_state_copies(state))
    assert kinds == ["backup", "damaged"]
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


def test_restore_without_a_backup_says_what_to_do(config: Path) -> None:
    code, text = run(["state", "restore"], config)
    assert code == 2 and "no good backup" in text


def test_export_then_import_rebuilds_the_history_after_a_full_sync(config: Path) -> None:
    state = config.parent / "state.db"
    code, text = run(["state", "export"], config)
    assert code == 0, text
    (export,) = backup.list_state_copies(state, "export")
    assert stat.S_IMODE(export.path.stat().st_mode) == 0o600
    state.unlink()
    for extra in ("-wal", "-shm"):
        state.with_name(state.name + extra).unlink(missing_ok=True)
    later = [3, [[1, "2026-10-30", "two_way", "email", "e9"]], False, True]
    with Store(state) as store, store.transaction() as db:  # what a full sync rebuilds
        for i in range(25):
            db.execute(
                "INSERT INTO contacts (id, kind, data, derived) VALUES (?, 'contact', '{}', ?)",
                (f"c{i}", json.dumps(later)),
            )
    code, text = run(["state", "import", str(export.path)], config)
    assert code == 0 and "30 ledger entries and 25 people" in text and "5 people are not" in text
    with Store(state) as store:
        derived = store.people.stored_person("c3").derived  # type: ignore[union-attr]
        assert derived is not None and str(derived.reached[min(derived.reached)].on) == "2025-03-01"
        assert len(store.ledger.of("c3")) == 1 and store.counts().dirty == 25
    code, _ = run(["state", "import", str(export.path)], config)  # twice: nothing doubles
    with Store(state) as store:
        assert len(store.ledger.of("c3")) == 1


@pytest.mark.parametrize(
    "line",
    ['{"type": "ledger"}', "not json", '{"type": "person", "id": "c1", "derived": [9]}', "[1]"],
)
def test_a_bad_history_line_imports_nothing(config: Path, line: str) -> None:
    bad = config.parent / "bad.jsonl"
    good = json.dumps(
        {
            "type": "ledger",
            "record_kind": "contact",
            "record_id": "n1",
            "from_milestone": None,
            "to_milestone": "prospect",
            "reached_on": "2025-01-01",
            "evidence": None,
            "run_id": None,
            "recorded_at": "x",
        }
    )
    bad.write_text(good + "\n" + line + "\n", encoding="utf-8")
    code, text = run(["state", "import", str(bad)], config)
    assert code == 2 and "line 2" in text and "nothing imported" in text
    with Store(config.parent / "state.db") as store:
        assert store.ledger.of("n1") == []


def test_a_read_only_write_error_names_the_file_and_permissions(config: Path) -> None:
    from milestones.store.health import state_error

    state = config.parent / "state.db"
    db = sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True)  # works as root too
    with pytest.raises(sqlite3.OperationalError) as raw:
        db.execute("DELETE FROM ledger")
    db.close()
    error = state_error(state, raw.value)
    assert str(state) in str(error) and "permissions" in str(error)
    assert exit_code_for(error) == 2
