"""Crash safety: a worker killed with SIGKILL anywhere, then restarted, ends like an
uninterrupted run.

An uninterrupted reference run on a twin world counts the engine's crash points: ``page``
(a pulled page, before it is stored), ``chunk`` (a derived chunk, just committed) and
``write`` (a batch the CRM has accepted, before the state records it). Seeded points are
drawn across the three phases; for each, a fresh sandbox CRM is synced by a forked worker
process with ``MILESTONES_CRASH_AT`` set, which SIGKILLs itself there. Some points are
pairs: the restarted worker is killed again before a last restart. Then:

- right after each kill, no completed cursor passes a record the mirror does not hold
  (every kind on HubSpot; people and deals on Salesforce);
- after the restart, every person's and deal's fields in the CRM equal the reference's;
- the ledger holds exactly the reference's transitions: none missing, none twice.

A second test kills the worker from outside, at seeded request counts, while the sandbox is
still handling that request: a write then lands in the CRM without the worker seeing it
confirmed, and the restart must be harmless. A third kills ``backfill`` runs, which resume
their own window.
"""

from __future__ import annotations

import os
import random
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from reliability_support import Crm, Tamper, check_cursors_cover_the_mirror, differing, start_crm

from milestones.store.location import StateLocation, open_state
from milestones.sync.run import CRASH_ENV, RunOptions
from pg_support import Orgs

CONTACTS = 150
BATCH = 25  # write batches small enough for several write points per run
CONFIG = "derive_chunk = 20\n"  # several derive chunks per run
POINTS_PER_PHASE = {"hubspot": 8, "salesforce": 4}
DOUBLE_KILLS = {"hubspot": 3, "salesforce": 1}


class PointCounter:
    """Stands in for the engine's crash hook and counts the points a run passes."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def point(self, phase: str) -> None:
        self.seen[phase] = self.seen.get(phase, 0) + 1


def reference_run(crm: Crm) -> tuple[dict[str, int], set[tuple[Any, ...]]]:
    """An uninterrupted full sync: its crash points per phase and its ledger."""
    counter = PointCounter()
    with open_state(crm.where) as state:
        engine = crm.engine(state, BATCH, crash=counter)  # type: ignore[arg-type]
        report = engine.run(RunOptions(mode="full"))
        engine.connector.close()
    assert report.outcome == "ok", report.detail
    return counter.seen, ledger(crm.where)


def ledger(where: StateLocation) -> set[tuple[Any, ...]]:
    """The transitions a state recorded; asserts none is recorded twice."""
    with open_state(where, read_only=True) as store:
        rows = store.db.execute(
            "SELECT record_kind, record_id, from_milestone, to_milestone, reached_on FROM ledger"
        ).fetchall()
    assert len(rows) == len(set(rows)), "a transition was recorded twice"
    return set(rows)


def run_killed(crm: Crm, point: str) -> int:
    """Sync in a forked worker that SIGKILLs itself at ``point``; its exit code."""
    pid = os.fork()
    if pid == 0:  # the worker: never returns into pytest
        code = 3
        try:
            os.environ[CRASH_ENV] = point
            crm.sync("full", BATCH)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def crash_plan(provider: str, seen: dict[str, int]) -> list[list[str]]:
    """Seeded crash points spread over the phases; a few are kill-restart-kill pairs."""
    rng = random.Random(f"crash-safety:{provider}")
    points: list[str] = []
    for phase in ("page", "chunk", "write"):
        total = seen[phase]
        chosen = rng.sample(range(1, total + 1), min(total, POINTS_PER_PHASE[provider]))
        points += [f"{phase}:{n}" for n in sorted(chosen)]
    plan = [[p] for p in points]
    for i in rng.sample(range(len(plan)), DOUBLE_KILLS[provider]):
        phase = rng.choice(["page", "chunk", "write"])
        plan[i].append(f"{phase}:{rng.randint(1, 3)}")
    return plan


@pytest.mark.parametrize("provider", ["hubspot", "salesforce"])
def test_killed_workers_restart_to_the_uninterrupted_result(
    provider: str, tmp_path: Path, orgs: Orgs, capfd: pytest.CaptureFixture[str]
) -> None:
    reference = start_crm(
        provider, tmp_path / "reference", CONTACTS, extra_config=CONFIG, orgs=orgs
    )
    try:
        reference.ensure_fields()
        seen, expected_ledger = reference_run(reference)
        expected = reference.crm_values()
    finally:
        reference.stop()
    assert seen["page"] >= 3 and seen["chunk"] >= 4 and seen["write"] >= 4, seen
    plan = crash_plan(provider, seen)
    assert sum(len(p) for p in plan) >= (20 if provider == "hubspot" else 10)
    kills = covered = 0
    for n, points in enumerate(plan):
        crm = start_crm(provider, tmp_path / f"crash{n}", CONTACTS, extra_config=CONFIG, orgs=orgs)
        try:
            crm.ensure_fields()
            for point in points:
                code = run_killed(crm, point)
                if code == 0:  # a restarted run resumes past the chosen point: it finished
                    assert len(points) > 1 and point != points[0], (points, code)
                    continue
                assert code == -9, (points, point, code)
                kills += 1
                covered += check_cursors_cover_the_mirror(crm)
            restart = (
                "full" if n % 2 else "incremental"
            )  # `sync --full` again, or the next cron run
            assert crm.sync(restart, BATCH).outcome == "ok", points
            assert not differing(expected, crm.crm_values()), points
            assert ledger(crm.where) == expected_ledger, points
        finally:
            crm.stop()
    capfd.readouterr()
    print(f"{provider}: {kills} kills survived over {len(plan)} crash plans; {covered} checked")
    assert kills >= (20 if provider == "hubspot" else 10)


class KillAt:
    """A sandbox hook that SIGKILLs the worker when its ``at``-th request arrives."""

    def __init__(self, crm: Crm, at: int) -> None:
        self.crm, self.at = crm, at
        self.start = crm.server.stats()["total"]
        self.pid: int | None = None

    def __call__(self, req: Any) -> None:
        done = self.crm.server.stats()["total"] - self.start
        if done == self.at - 1 and self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)  # the CRM still handles this request


@pytest.mark.parametrize("provider", ["hubspot"])
def test_workers_killed_mid_request_restart_to_the_uninterrupted_result(
    provider: str, tmp_path: Path, orgs: Orgs
) -> None:
    """Killed from outside while the CRM handles its N-th request (a write lands unseen)."""
    reference = start_crm(
        provider, tmp_path / "reference", CONTACTS, extra_config=CONFIG, orgs=orgs
    )
    try:
        reference.ensure_fields()
        before = reference.server.stats()["total"]
        _, expected_ledger = reference_run(reference)
        calls = reference.server.stats()["total"] - before
        expected = reference.crm_values()
    finally:
        reference.stop()
    rng = random.Random(f"mid-request:{provider}")
    for n, at in enumerate([*sorted(rng.sample(range(2, calls), 6)), calls - 1]):
        crm = start_crm(
            provider, tmp_path / f"request{n}", CONTACTS, extra_config=CONFIG, orgs=orgs
        )
        try:
            crm.ensure_fields()
            killer = KillAt(crm, at)
            Tamper(crm.server, lambda req: True, before=killer)
            go_read, go_write = os.pipe()
            pid = os.fork()
            if pid == 0:
                try:
                    os.read(go_read, 1)  # wait until the hook knows whom to kill
                    crm.sync("full", BATCH)
                finally:
                    os._exit(0)
            killer.pid = pid
            os.write(go_write, b"!")
            os.close(go_read)
            os.close(go_write)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == -9, at
            assert crm.sync("incremental", BATCH).outcome == "ok", at
            assert not differing(expected, crm.crm_values()), at
            assert ledger(crm.where) == expected_ledger, at
        finally:
            crm.stop()


def backfill(crm: Crm) -> str:
    """``milestones backfill --since 2000-01-01`` through the engine; its outcome."""
    with open_state(crm.where) as state:
        engine = crm.engine(state, BATCH)
        try:
            options = RunOptions(mode="backfill", since=datetime(2000, 1, 1, tzinfo=UTC))
            return engine.run(options, command="backfill").outcome
        finally:
            engine.connector.close()


def test_a_killed_backfill_resumes_to_the_full_result(tmp_path: Path, orgs: Orgs) -> None:
    reference = start_crm(
        "hubspot", tmp_path / "reference", CONTACTS, extra_config=CONFIG, orgs=orgs
    )
    try:
        reference.ensure_fields()
        _, expected_ledger = reference_run(reference)
        expected = reference.crm_values()
    finally:
        reference.stop()
    for point in ("page:2", "chunk:3", "write:2", "write:5"):
        crm = start_crm(
            "hubspot", tmp_path / point.replace(":", "-"), CONTACTS, extra_config=CONFIG, orgs=orgs
        )
        try:
            crm.ensure_fields()
            pid = os.fork()
            if pid == 0:
                try:
                    os.environ[CRASH_ENV] = point
                    backfill(crm)
                finally:
                    os._exit(0)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == -9, point
            assert backfill(crm) == "ok", point
            assert not differing(expected, crm.crm_values()), point
            assert ledger(crm.where) == expected_ledger, point
        finally:
            crm.stop()
