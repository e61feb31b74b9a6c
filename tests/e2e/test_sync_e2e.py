"""``milestones sync`` end to end, for both CRMs: results checked in the sandbox's records."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from e2e_support import Sandbox, settle, start_sandbox

ORDER = ["target", "prospect", "opportunity", "client", "advocate"]


def live_people(box: Sandbox) -> list[int]:
    """People the worker writes: not archived, not a lead that became a contact elsewhere."""
    with box.world.lock:
        return [
            pid
            for pid in box.world.ids("person")
            if not box.world.get("person", pid).archived  # type: ignore[union-attr]
        ]


def test_first_sync_writes_the_milestones_the_records_prove(sandbox: Sandbox) -> None:
    box = sandbox
    assert box.run("sync") == 0
    world = box.world
    checked = {"won": 0, "replied": 0, "untouched": 0}
    for pid in live_people(box):
        person = world.get("person", pid)
        assert person is not None
        value = box.value("person", pid, "milestone")
        assert value in ORDER, (pid, value)  # everyone gets the fields, targets included
        if person.is_lead_only:
            continue
        deals = [world.get("deal", d) for d in world.deals_of(pid)]
        live_deals = [d for d in deals if d is not None and not d.archived]
        if any(d.stage == "closedwon" for d in live_deals):
            assert value in ("client", "advocate"), pid
            checked["won"] += 1
        activities = [world.get(kind_id[0], kind_id[1]) for kind_id in _activities(box, pid)]
        if not person.opted_out and any(
            a is not None and a.direction == "INCOMING_EMAIL" and not a.archived for a in activities
        ):
            assert ORDER.index(value) >= 1, pid
            checked["replied"] += 1
        if not live_deals and not activities and not _referred(box, pid):
            assert value == "target", pid
            checked["untouched"] += 1
    assert all(n > 0 for n in checked.values()), checked


def _activities(box: Sandbox, pid: int) -> list[tuple[str, int]]:
    from milestones.sandbox.world.store import kind_of

    return [(kind_of(a), a) for a in box.world.activities_of(pid)]


def _referred(box: Sandbox, pid: int) -> bool:
    for other in box.world.ids("person"):
        record = box.world.get("person", other)
        if record is not None and record.referred_by == pid:
            return True
    return False


def test_a_second_sync_makes_no_write_calls(sandbox: Sandbox) -> None:
    assert sandbox.run("sync") == 0
    before = sandbox.write_calls()
    assert before > 0
    settle(sandbox)
    assert sandbox.run("sync") == 0
    assert sandbox.write_calls() == before


def _pick(box: Sandbox, milestone: str, contact_only: bool = True) -> int:
    for pid in live_people(box):
        person = box.world.get("person", pid)
        assert person is not None
        if contact_only and (person.is_lead_only or person.opted_out):
            continue
        if box.value("person", pid, "milestone") == milestone:
            return pid
    raise AssertionError(f"no {milestone} in the world")


def _open_deal_of_opportunity(box: Sandbox) -> tuple[int, list[int]]:
    for did in box.world.ids("deal"):
        deal = box.world.get("deal", did)
        assert deal is not None
        if deal.archived or deal.stage in ("closedwon", "closedlost") or not deal.contact_ids:
            continue
        people = list(deal.contact_ids)
        if all(box.value("person", p, "milestone") == "opportunity" for p in people):
            return did, people
    raise AssertionError("no open deal whose people are all opportunities")


def test_crm_changes_are_picked_up_and_only_they_are_written(sandbox: Sandbox) -> None:
    box = sandbox
    assert box.run("sync") == 0
    settle(box)
    deal_id, deal_people = _open_deal_of_opportunity(box)
    target = _pick(box, "target")
    client = _pick(box, "client")
    box.server.mutate("move_deal", deal_id=deal_id, stage="closedwon")
    box.server.mutate("add_inbound_email", person_id=target)
    referred = box.server.mutate("record_referral", referrer_id=client)
    assert referred is not None
    new_id = int(referred["world"]["id"])
    before = box.written_values()
    calls = box.write_calls()
    settle(box)

    assert box.run("sync", "--dry-run") == 0
    assert box.write_calls() == calls  # a dry run sends nothing
    assert box.written_values() == before

    assert box.run("sync") == 0
    after = box.written_values()
    changed = {key for key in after if after[key] != before.get(key)}
    affected = {("deal", deal_id), ("person", target), ("person", client), ("person", new_id)}
    affected |= {("person", p) for p in deal_people}
    assert changed <= affected, changed - affected
    assert ("deal", deal_id) in changed
    assert box.value("deal", deal_id, "deal_milestone") == "client"
    for pid in deal_people:
        assert box.value("person", pid, "milestone") in ("client", "advocate")
    assert box.value("person", target, "milestone") == "prospect"
    assert box.value("person", client, "milestone") == "advocate"
    assert str(box.value("person", client, "is_advocate")).lower() == "true"
    assert box.value("person", new_id, "milestone") == "target"
    assert box.write_calls() - calls <= 3  # one batch per object kind touched


def test_a_second_concurrent_run_refuses_to_start(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first run is a real process, frozen (SIGSTOP) mid-pull while it holds the lock.
    first = sandbox.popen("sync", env={"MILESTONES_CRASH_AT": "page:1:STOP"})
    try:
        _wait_until_stopped(first.pid)
        assert sandbox.run("sync") == 1
        assert "another milestones run is using" in capsys.readouterr().err
        assert sandbox.write_calls() == 0
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert first.wait(timeout=120) == 0  # the first run, resumed, finishes its work
    assert sandbox.write_calls() > 0


def _wait_until_stopped(pid: int) -> None:
    for _ in range(600):
        with open(f"/proc/{pid}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "T":
                return
        time.sleep(0.05)
    raise AssertionError("the first run never reached its first page")


KILL_WORLD = 70  # two derive chunks, two write batches (people, deals)
CRASH_POINTS = ["page:2", "chunk:1", "write:2"]  # mid-pull, between derive chunks, mid-write


@pytest.mark.parametrize("provider", ["hubspot", "salesforce"])
def test_a_run_killed_at_any_point_then_rerun_ends_like_an_uninterrupted_one(
    provider: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = start_sandbox(provider, tmp_path / "reference", contacts=KILL_WORLD)
    for name, value in reference.env.items():
        monkeypatch.setenv(name, value)  # same names, same values for every box below
    try:
        assert reference.run("fields", "--create") == 0
        assert reference.run("sync") == 0
        expected = reference.written_values()
    finally:
        reference.server.stop()
    for point in CRASH_POINTS:
        box = start_sandbox(provider, tmp_path / point.replace(":", "-"), contacts=KILL_WORLD)
        for name, value in box.env.items():
            monkeypatch.setenv(name, value)
        try:
            _append_chunk_size(box.config)
            assert box.run("fields", "--create") == 0
            killed = box.spawn("sync", env={"MILESTONES_CRASH_AT": point})
            assert killed.returncode == -9, (point, killed.stderr[-2000:])
            rerun = box.spawn("sync")
            assert rerun.returncode == 0, (point, rerun.stderr[-2000:])
            assert box.written_values() == expected, point
            with sqlite3.connect(box.state) as db:
                rows, distinct = db.execute(
                    "SELECT count(*), count(DISTINCT record_kind || record_id || to_milestone) "
                    "FROM ledger"
                ).fetchone()
            assert rows == distinct > 0, point
        finally:
            box.server.stop()


def _append_chunk_size(config: Path) -> None:
    """Small derive chunks, so a crash can land between two of them."""
    config.write_text(config.read_text().replace("[sync]\n", "[sync]\nderive_chunk = 40\n"))


def _crm_id(box: Sandbox, person_id: int) -> str:
    if box.provider == "hubspot":
        return str(person_id)
    record = box.server.record("person", person_id)
    assert record is not None
    return str(record["api"]["Contact"]["Id"])


def test_a_full_sync_notices_deleted_people(sandbox: Sandbox) -> None:
    box = sandbox
    assert box.run("sync") == 0
    gone = _pick(box, "prospect")
    crm_id = _crm_id(box, gone)
    box.server.mutate("delete", kind="person", id=gone)
    settle(box)
    assert box.run("sync", "--full") == 0
    with sqlite3.connect(box.state) as db:
        row = db.execute("SELECT is_deleted FROM contacts WHERE id = ?", (crm_id,)).fetchone()
        last = db.execute("SELECT outcome FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    assert row == (1,) and last == ("ok",)


def test_sigterm_finishes_the_page_checkpoints_and_the_next_run_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = start_sandbox("salesforce", tmp_path, contacts=KILL_WORLD)
    for name, value in box.env.items():
        monkeypatch.setenv(name, value)
    try:
        assert box.run("fields", "--create") == 0
        stopped = box.spawn("sync", env={"MILESTONES_CRASH_AT": "page:1:TERM"})
        assert stopped.returncode == 1, stopped.stderr[-2000:]
        assert "interrupted" in stopped.stdout
        assert box.write_calls() == 0  # stopped during the pull, before any write
        with sqlite3.connect(box.state) as db:
            pages, running = db.execute(
                "SELECT pages, is_running FROM cursors WHERE kind = 'contacts'"
            ).fetchone()
        assert (pages, running) == (1, 1)  # the page being read was finished and kept
        resumed = box.spawn("sync")
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert box.write_calls() > 0
    finally:
        box.server.stop()
