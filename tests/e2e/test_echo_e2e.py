"""The run after a write reads its echoes back and derives no one; a hand edit is still healed;
a full run derives everyone."""

from __future__ import annotations

import json
import sqlite3

import pytest
from e2e_support import Sandbox, settle


def _to_derive(box: Sandbox) -> tuple[int, int]:
    """People and deals the state has marked to derive."""
    with sqlite3.connect(box.state) as db:
        people = db.execute("SELECT count(*) FROM dirty").fetchone()[0]
        deals = db.execute("SELECT count(*) FROM dirty_deals").fetchone()[0]
    return int(people), int(deals)


def _live(box: Sandbox) -> tuple[int, int]:
    """People (converted leads aside: their Contact stands for them) and deals, not deleted."""
    with sqlite3.connect(box.state) as db:
        people = db.execute(
            "SELECT count(*) FROM contacts WHERE is_deleted = 0 AND converted_to IS NULL"
        ).fetchone()[0]
        deals = db.execute("SELECT count(*) FROM deals WHERE is_deleted = 0").fetchone()[0]
    return int(people), int(deals)


def _last_run_read(box: Sandbox, capsys: pytest.CaptureFixture[str]) -> int:
    capsys.readouterr()
    assert box.run("status", "--json") == 0
    return int(json.loads(capsys.readouterr().out)["runs"][0]["records_read"])


def _written_contact(box: Sandbox) -> int:
    """A person written as a Contact only (not a lead, nor a lead converted)."""
    with box.world.lock:
        for pid in box.world.ids("person"):
            person = box.world.get("person", pid)
            assert person is not None
            if not (person.archived or person.is_lead_only or person.converted_ms is not None):
                return pid
    raise AssertionError("no contact in the world")


def test_the_run_after_a_write_derives_no_one_and_a_hand_edit_is_healed(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    box = sandbox
    assert box.run("sync") == 0
    writes = box.write_calls()
    assert writes > 0
    settle(box)
    # A dry run pulls and stores like a run, and leaves what it derived marked.
    assert box.run("sync", "--dry-run") == 0
    assert _last_run_read(box, capsys) > 100  # the records just written, read back
    assert _to_derive(box) == (0, 0)
    assert box.run("sync") == 0
    assert box.write_calls() == writes

    pid = _written_contact(box)
    ours = box.value("person", pid, "milestone")
    other = "advocate" if ours != "advocate" else "target"
    box.server.mutate("update", kind="person", id=pid, values={box.names["milestone"]: other})
    settle(box)
    assert box.run("sync", "--dry-run") == 0
    assert _to_derive(box) == (1, 0)  # that person alone
    assert box.run("sync") == 0
    assert box.value("person", pid, "milestone") == ours  # our value, written again
    assert box.write_calls() == writes + 1

    # A full run derives everyone again, echoes or not: the nightly safety net.
    settle(box)
    assert box.run("sync", "--full", "--dry-run") == 0
    assert _to_derive(box) == _live(box)
