"""The state in PostgreSQL, end to end: a sandbox CRM over HTTP, the real commands, a real
server (``pg_support``: skipped without one, failed under CI).

Shown here: the same written fields as with an SQLite file, an incremental run that writes
nothing, status, explain and report on the org's schema; orgs kept apart; the run lock as an
advisory lock (a second worker refused as on SQLite, a SIGKILLed worker's lock gone with its
session, a worker whose connection is terminated stopping cleanly); ``migrate``; ``state copy``
from a file losing nothing; and ``forget`` vacuuming what held the erased person.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from bad_input_support import HS_WRITE
from reliability_support import Crm, Tamper, differing, edit_json, failed_writes, start_crm

from milestones.cli.app import exit_code_for
from milestones.store.health import StateError
from milestones.store.location import StateLocation, open_state
from milestones.store.postgres import LockHeld, PostgresStore, hold_run_lock
from milestones.store.schema import MIGRATIONS
from milestones.sync.lock import run_lock
from milestones.sync.run import RunOptions
from pg_support import Orgs

CONTACTS = 60


def synced(crm: Crm) -> Crm:
    crm.ensure_fields()
    outcome = crm.cli("sync")
    assert outcome.code == 0, outcome.err
    return crm


def test_a_postgres_state_syncs_explains_and_reports_as_a_file_does(
    tmp_path: Path, pg_orgs: Orgs
) -> None:
    on_file = synced(start_crm("hubspot", tmp_path / "file", CONTACTS))
    on_pg = synced(start_crm("hubspot", tmp_path / "pg", CONTACTS, orgs=pg_orgs))
    try:
        assert on_pg.crm_values() and not differing(on_file.crm_values(), on_pg.crm_values())
        assert on_pg.sync().figures["written"] == 0  # an incremental run, nothing changed
        reports = [json.loads(c.cli("report", "--json").out) for c in (on_file, on_pg)]
        for report in reports:
            del report["generated_at"]
        assert reports[0] == reports[1]
        status = on_pg.cli("status", "--json")
        assert status.code == 0 and "postgresql://" in json.loads(status.out)["state"]
        person = next(iter(on_pg.world.ids("person")))
        explained = [c.cli("explain", str(person), "--json") for c in (on_file, on_pg)]
        assert explained[1].code == 0
        views = [json.loads(e.out) for e in explained]
        for view in views:
            for entry in view["history"]:
                del entry["recorded_at"]  # when each worker ran
        assert views[0] == views[1]
    finally:
        on_file.stop()
        on_pg.stop()


def test_a_worker_for_one_org_sees_nothing_of_another(tmp_path: Path, pg_orgs: Orgs) -> None:
    a = synced(start_crm("hubspot", tmp_path / "a", CONTACTS, orgs=pg_orgs))
    b = start_crm("hubspot", tmp_path / "b", CONTACTS // 2, seed=7, orgs=pg_orgs)
    try:
        with open_state(a.where, read_only=True) as state_a:
            held_by_a = state_a.counts()
        assert held_by_a.people > 0
        with open_state(b.where) as state_b:
            assert isinstance(state_b, PostgresStore)
            # every statement of b's session reads b's schema alone, whatever it names
            assert state_b.pg.conn.execute("SHOW search_path").fetchone() == (b.where.org,)
            assert state_b.counts().people == 0
            assert state_b.db.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0
        synced(b)
        with open_state(a.where, read_only=True) as state_a:
            assert state_a.counts() == held_by_a  # b's sync wrote nothing of a's
        with open_state(b.where, read_only=True) as state_b:
            assert 0 < state_b.counts().people < held_by_a.people
    finally:
        a.stop()
        b.stop()


def test_a_second_worker_on_an_org_is_refused_as_on_sqlite(tmp_path: Path, pg_orgs: Orgs) -> None:
    on_file = start_crm("hubspot", tmp_path / "file", CONTACTS)
    on_pg = start_crm("hubspot", tmp_path / "pg", CONTACTS, orgs=pg_orgs)
    try:
        refused = []
        for crm in (on_file, on_pg):
            with run_lock(crm.where):
                refused.append(crm.cli("sync"))
        assert refused[0].code == refused[1].code == 1
        for outcome in refused:
            assert "another milestones run is using" in outcome.err
            assert "this run did nothing" in outcome.err
        assert "advisory lock" in refused[1].err and str(on_pg.where.org) in refused[1].err
        assert synced(on_pg).sync().figures["written"] == 0  # the lock went with the block
    finally:
        on_file.stop()
        on_pg.stop()


HOLDER = """
import sys, time
from milestones.store.postgres import hold_run_lock
with hold_run_lock(sys.argv[1], sys.argv[2]):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_killed_workers_lock_goes_with_its_session(pg_orgs: Orgs) -> None:
    where = pg_orgs.location("killed")
    assert where.url is not None and where.org is not None
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, where.url, where.org],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld), hold_run_lock(where.url, where.org):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    for _ in range(200):  # the server notices the closed socket at once; allow it to
        try:
            with hold_run_lock(where.url, where.org):
                break
        except LockHeld:
            time.sleep(0.05)
    else:
        pytest.fail("the killed worker's advisory lock outlived its process")


class TerminateBackend:
    """A crash hook that terminates the store's own server session at the second chunk."""

    def __init__(self, url: str, backend_pid: int) -> None:
        self.url, self.backend_pid, self.chunks = url, backend_pid, 0

    def point(self, phase: str) -> None:
        if phase == "chunk":
            self.chunks += 1
            if self.chunks == 2:
                with psycopg.connect(self.url, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (self.backend_pid,))


def test_a_worker_whose_connection_drops_stops_cleanly(tmp_path: Path, pg_orgs: Orgs) -> None:
    reference = synced(start_crm("hubspot", tmp_path / "reference", CONTACTS))
    crm = start_crm("hubspot", tmp_path / "dropped", CONTACTS, orgs=pg_orgs)
    try:
        crm.ensure_fields()
        url = crm.where.url
        assert url is not None
        with open_state(crm.where) as state:
            assert isinstance(state, PostgresStore)
            hook = TerminateBackend(url, state.pg.conn.info.backend_pid)
            engine = crm.engine(state, crash=hook)  # type: ignore[arg-type]
            with pytest.raises(StateError) as stopped:
                engine.run(RunOptions(mode="full"))
            engine.connector.close()
        message = str(stopped.value)
        assert "lost the database connection" in message and "rerun" in message
        assert os.environ.get("PGPASSWORD", "\0") not in message
        assert exit_code_for(stopped.value) == 2
        assert crm.sync("full").outcome == "ok"  # the next run goes on
        assert not differing(reference.crm_values(), crm.crm_values())
        assert crm.sync().figures["written"] == 0
    finally:
        reference.stop()
        crm.stop()


def test_migrate_brings_an_org_to_this_releases_schema(tmp_path: Path, pg_orgs: Orgs) -> None:
    crm = start_crm("hubspot", tmp_path / "migrate", CONTACTS, orgs=pg_orgs)
    try:
        first = crm.cli("migrate", "--json")
        assert first.code == 0, first.err
        assert json.loads(first.out)["from_version"] == 0
        assert json.loads(first.out)["version"] == len(MIGRATIONS)
        again = json.loads(crm.cli("migrate", "--json").out)
        assert again["from_version"] == again["version"] == len(MIGRATIONS)
    finally:
        crm.stop()


def test_state_copy_loses_nothing_and_the_next_sync_writes_nothing(
    tmp_path: Path, pg_orgs: Orgs
) -> None:
    crm = start_crm("hubspot", tmp_path / "copied", CONTACTS)
    target = pg_orgs.location("copied", crm.state)
    assert target.url is not None and target.org is not None
    try:
        crm.ensure_fields()
        tamper = Tamper(crm.server, HS_WRITE, edit_json(_drop_half))  # some writes fail
        assert crm.cli("sync").code == 1
        tamper.remove()
        failed = failed_writes(crm.state)
        assert failed
        copied = crm.cli("state", "copy", "--to", target.url, "--org", target.org, "--json")
        assert copied.code == 0, copied.err
        assert json.loads(copied.out)["complete"] is True
        with open_state(crm.where, read_only=True) as file, open_state(target) as org:
            for table in file.tables():
                assert file.row_count(table) == org.row_count(table), table
            for table in ("contacts", "deals", "ledger", "cursors", "runs", "writes", "meta"):
                assert org.row_count(table) > 0, table
            assert file.privacy.key() == org.privacy.key()  # emails still match their hashes
            assert file.ledger.of(next(iter(failed))) == org.ledger.of(next(iter(failed)))
        assert failed_writes(target) == failed
        again = crm.cli("state", "copy", "--to", target.url, "--org", target.org)
        assert again.code == 2 and "already holds a state" in again.err
        config = crm.config.read_text().replace(
            f'path = "{crm.state}"\n', pg_orgs.config_lines("copied", crm.state)
        )
        crm.config.write_text(config)
        moved = dataclasses.replace(crm, location=target)
        # The CRM did take the writes its answer left out: the run after the copy reads them
        # back, settles the carried-over failures against the CRM's values, and writes nothing.
        after = moved.sync()
        assert after.outcome == "ok" and after.figures["written"] == 0
        assert not failed_writes(target)
    finally:
        crm.stop()


def _drop_half(payload: Any) -> None:
    """A batch answer that leaves some of our records out: those are kept as failed."""
    payload["results"] = payload["results"][: len(payload["results"]) // 2]


def test_forget_vacuums_the_tables_that_held_the_person(tmp_path: Path, pg_orgs: Orgs) -> None:
    crm = synced(start_crm("hubspot", tmp_path / "forget", CONTACTS, orgs=pg_orgs))
    try:
        person = str(next(iter(crm.world.ids("person"))))
        before = _vacuumed(crm.where)
        assert crm.cli("forget", "--id", person).code == 0
        after = _vacuumed(crm.where)
        for table in ("contacts", "deals", "ledger", "writes", "runs"):
            assert after[table] > before.get(table, 0), table
    finally:
        crm.stop()


def test_a_run_that_tombstones_a_deleted_person_vacuums_too(tmp_path: Path, pg_orgs: Orgs) -> None:
    crm = synced(start_crm("hubspot", tmp_path / "tombstone", CONTACTS, orgs=pg_orgs))
    try:
        before = _vacuumed(crm.where)
        assert crm.cli("sync", "--full").code == 0  # nothing erased: no VACUUM
        assert _vacuumed(crm.where)["contacts"] == before.get("contacts", 0)
        crm.world.delete("person", next(iter(crm.world.ids("person"))))  # a GDPR deletion
        assert crm.cli("sync", "--full").code == 0
        assert _vacuumed(crm.where)["contacts"] > before.get("contacts", 0)
    finally:
        crm.stop()


def _vacuumed(where: StateLocation) -> dict[str, int]:
    assert where.url is not None
    with psycopg.connect(where.url) as conn:
        rows = conn.execute(
            "SELECT relname, vacuum_count FROM pg_stat_user_tables WHERE schemaname = %s",
            (where.org,),
        ).fetchall()
    return {str(name): int(count) for name, count in rows}


def test_state_check_and_export_read_the_org_and_file_chores_say_why_not(
    tmp_path: Path, pg_orgs: Orgs
) -> None:
    crm = start_crm("hubspot", tmp_path / "chores", CONTACTS, orgs=pg_orgs)
    try:
        missing = crm.cli("state", "check")
        assert missing.code == 2 and "run `milestones sync` first" in missing.err
        synced(crm)
        checked = crm.cli("state", "check", "--json")
        assert checked.code == 0 and json.loads(checked.out)["schema_version"] == len(MIGRATIONS)
        exported = crm.cli("state", "export", str(tmp_path / "history.jsonl"))
        assert exported.code == 0, exported.err
        assert '"type": "ledger"' in (tmp_path / "history.jsonl").read_text()
        for chore in ("backup", "restore"):
            refused = crm.cli("state", chore)
            assert refused.code == 2 and "pg_dump" in refused.err
    finally:
        crm.stop()


def test_workers_starting_together_on_a_new_org_migrate_it_once(pg_orgs: Orgs) -> None:
    where = pg_orgs.location("together")
    opened: list[int | None] = []
    failures: list[BaseException] = []

    def open_once() -> None:
        try:
            with open_state(where) as state:
                opened.append(state.migrated_from)
        except BaseException as exc:
            failures.append(exc)

    workers = [threading.Thread(target=open_once) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not failures, failures
    assert sorted(opened, key=lambda v: v or 0) == [0, *[len(MIGRATIONS)] * 3]


def test_fleet_status_and_report_read_every_org_of_one_database(
    tmp_path: Path, pg_orgs: Orgs
) -> None:
    """Three orgs in their own schemas of one database: one table and one funnel of them."""
    crms = [
        synced(start_crm("hubspot", tmp_path / "north", 30, orgs=pg_orgs)),
        synced(start_crm("salesforce", tmp_path / "south", 30, seed=7, orgs=pg_orgs)),
        synced(start_crm("hubspot", tmp_path / "west", 20, seed=11, orgs=pg_orgs)),
    ]
    folder = tmp_path / "fleet"
    folder.mkdir()
    try:
        for crm in crms:
            (folder / f"{crm.config.parent.name}.toml").write_text(crm.config.read_text())
        status = crms[0].cli("fleet", "status", "--dir", str(folder), "--json")
        assert status.code == 0, status.err
        rows = {row["org"]: row for row in json.loads(status.out)["orgs"]}
        assert sorted(rows) == sorted(str(crm.where.org) for crm in crms)  # named by [state] org
        for crm in crms:
            row = rows[str(crm.where.org)]
            with open_state(crm.where, read_only=True) as state:
                assert row["state"] == "ok" and row["people"] == state.counts().people
            assert row["last_run"] is not None and row["writes_pending"] == 0
        report = crms[0].cli("fleet", "report", "--dir", str(folder), "--json")
        assert report.code == 0, report.err
        data = json.loads(report.out)
        for crm in crms:  # each org's funnel is its own report's
            own = json.loads(crm.cli("report", "--json", "--no-likelihood").out)["overall"]
            org = next(o for o in data["orgs"] if o["org"] == str(crm.where.org))
            assert org["funnel"] == own["funnel"]
    finally:
        for crm in crms:
            crm.stop()
