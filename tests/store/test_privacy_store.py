"""Personal data in the state: hashed match keys, tombstones, secure delete, the deny list."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from milestones.store.sqlite import Store

RELEASE_0_1_0 = Path(__file__).parent / "data" / "state-0.1.0.db"


def _plain_emails(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT email_key FROM contacts WHERE email_key LIKE '%@%' "
            "UNION ALL SELECT ref_key FROM contacts WHERE ref_key LIKE '%@%' "
            "UNION ALL SELECT ref_key FROM deals WHERE ref_key LIKE '%@%'"
        )
        return [r[0] for r in rows]
    finally:
        db.close()


def test_a_migrated_state_keeps_match_keys_as_hashes_only(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    shutil.copyfile(RELEASE_0_1_0, state)
    with Store(state) as store:
        before = store.reporting.funnel().at
        emails = store.privacy.ids_with_email("nobody@example.invalid")
    assert emails == [] and before
    assert _plain_emails(state) == []


def test_erasing_a_person_leaves_no_bytes_of_them_in_the_file(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    shutil.copyfile(RELEASE_0_1_0, state)
    with Store(state) as store:
        row = store.db.execute(
            "SELECT id, json_extract(data, '$[1]'), json_extract(data, '$[3]') FROM contacts c "
            "WHERE json_extract(data, '$[1]') IS NOT NULL AND derived IS NOT NULL "
            "AND (SELECT count(DISTINCT json_extract(o.data, '$[1]')) FROM contacts o "
            "WHERE json_extract(o.data, '$[3]') = json_extract(c.data, '$[3]')) = 1 LIMIT 1"
        ).fetchone()
        rid, email, last = row
        same = store.privacy.ids_with_email(email.upper())  # a lead and its contact, say
        assert rid in same
        ledger = len(store.ledger.of(rid))
        with store.transaction():
            store.mirror.mark_deleted("contacts", same)
        assert len(store.ledger.of(rid)) == ledger  # the history stays, without evidence
        assert all(e.evidence is None for e in store.ledger.of(rid))
    raw = state.read_bytes()
    assert f'"{email}"'.encode() not in raw and f'"{last}"'.encode() not in raw


def test_the_store_overwrites_what_it_deletes(tmp_path: Path) -> None:
    with Store(tmp_path / "state.db") as store:
        assert store.db.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_a_forgotten_id_is_kept_only_as_a_keyed_hash(tmp_path: Path) -> None:
    with Store(tmp_path / "state.db") as store:
        with store.transaction():
            store.privacy.deny(["2000123"], "2026-01-01T00:00:00+00:00")
        assert store.privacy.denied(["2000123", "2000124"]) == {"2000123"}
        with store.transaction():
            assert store.privacy.allow(["2000123"]) == 1
        assert store.privacy.denied(["2000123"]) == set()
    assert b"2000123" not in (tmp_path / "state.db").read_bytes()


def _erase_a_long_name(state: Path, *, secure_delete: bool) -> bytes:
    """Store a person whose name fills overflow pages, erase them, return the file's bytes.

    Erasing frees whole overflow pages; without secure_delete SQLite leaves their old bytes
    in the free list, where a copy of the file would still carry the name.
    """
    from datetime import UTC, datetime

    from milestones.mapping.records import Contact

    name = "Zephyrine" * 2_000  # about 18 KB: several overflow pages
    with Store(state) as store:
        if not secure_delete:
            store.db.execute("PRAGMA secure_delete = OFF")
        with store.transaction():
            person = Contact(
                "c-long",
                email="long@example.invalid",
                last_name=name,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
            store.mirror.apply_page("contacts", [person], [], 1, {})
        with store.transaction():
            store.mirror.mark_deleted("contacts", ["c-long"])
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return state.read_bytes()


def test_erased_pages_keep_no_bytes_of_the_person(tmp_path: Path) -> None:
    erased = _erase_a_long_name(tmp_path / "secure.db", secure_delete=True)
    assert b"Zephyrine" not in erased
    # The same erase with secure_delete off leaves the name in the freed pages: the pragma
    # is what makes the erase reach the file's bytes.
    leaky = _erase_a_long_name(tmp_path / "leaky.db", secure_delete=False)
    assert b"Zephyrine" in leaky
