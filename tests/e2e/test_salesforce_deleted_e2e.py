"""A contact deleted for good in Salesforce (a GDPR hard delete: gone from the recycle bin
too, so ``queryAll`` no longer lists it) is erased from the state by the first incremental
``milestones sync`` after the daily delete-log check is due, through simple-salesforce's
``sf.Contact.deleted``, and the check costs no call on the runs in between."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from e2e_support import Sandbox, settle, start_sandbox

from milestones.sandbox.salesforce.schema import sf_id
from milestones.store.sqlite import Store
from milestones.sync.deletions import meta_key


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    sandbox = start_sandbox("salesforce", tmp_path)
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    assert sandbox.run("fields", "--create") == 0
    yield sandbox
    sandbox.server.stop()


def _log_reads(box: Sandbox) -> int:
    endpoints: dict[str, int] = box.server.stats()["endpoints"]
    return sum(n for name, n in endpoints.items() if name.endswith("deleted"))


def _row(box: Sandbox, contact_id: str) -> tuple[int, str, str | None]:
    with Store(box.state) as store:
        row = store.db.execute(
            "SELECT is_deleted, data, email_key FROM contacts WHERE id = ?", (contact_id,)
        ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1]), row[2]


def test_a_hard_delete_is_erased_by_the_next_run_once_the_daily_check_is_due(
    box: Sandbox,
) -> None:
    assert box.run("sync") == 0  # the first run pulls everything: that is the day's check
    settle(box)
    assert box.run("sync") == 0
    assert _log_reads(box) == 0

    with box.world.lock:
        person = next(
            box.world.get("person", p)
            for p in box.world.ids("person")
            if not box.world.get("person", p).archived
            and not box.world.get("person", p).is_lead_only
            and box.world.get("person", p).email
        )
    contact_id = sf_id("003", person.id)
    assert _row(box, contact_id)[0] == 0
    # Deleted for good (not in the recycle bin either), two minutes ago: the delete log
    # answers in whole minutes and covers up to the last one.
    clock = box.world.clock
    box.world.clock = lambda: int((datetime.now(UTC) - timedelta(minutes=2)).timestamp() * 1000)
    box.world.delete("person", person.id)
    box.world.clock = clock

    settle(box)
    assert box.run("sync") == 0  # within the day: no read, the contact stays
    assert _log_reads(box) == 0 and _row(box, contact_id)[0] == 0

    with Store(box.state) as store:  # a day later: the check is due
        for kind in ("contacts", "deals"):
            key = meta_key("salesforce", kind)
            last = datetime.fromisoformat(str(store.get_meta(key)))
            with store.transaction():
                store.set_meta(key, (last - timedelta(days=1, minutes=5)).isoformat())
    settle(box)
    assert box.run("sync") == 0
    assert _log_reads(box) == 3  # Contact, Lead, Opportunity: once each
    is_deleted, data, email_key = _row(box, contact_id)
    assert is_deleted == 1 and email_key is None
    assert person.email not in data and (person.last_name or "@") not in data
    with Store(box.state) as store:
        checked = datetime.fromisoformat(str(store.get_meta(meta_key("salesforce", "contacts"))))
    assert datetime.now(UTC) - checked < timedelta(minutes=5)


def test_a_state_not_checked_for_longer_than_the_log_keeps_reads_what_it_still_has(
    box: Sandbox, capfd: pytest.CaptureFixture[str]
) -> None:
    assert box.run("sync") == 0
    with Store(box.state) as store, store.transaction():
        for kind in ("contacts", "deals"):
            old = datetime.now(UTC) - timedelta(days=20)
            store.set_meta(meta_key("salesforce", kind), old.isoformat())
    settle(box)
    capfd.readouterr()
    assert box.run("sync") == 0  # no INVALID_REPLICATION_DATE: the read starts in reach
    assert _log_reads(box) == 3
    assert "found by the next sync --full" in capfd.readouterr().err
