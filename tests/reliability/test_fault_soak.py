"""Fault soak: full and incremental syncs under a fault storm end exactly like fault-free ones.

Two twin sandbox CRMs are generated from the same seed. The reference one is synced with no
faults. The other answers ~10% of its requests with a 429, a 503 HTML page or a reset
connection, fails ~2% of the records inside batch writes, and runs out of its daily quota
halfway through the first run (the quota comes back "the next day", i.e. the next run).
Within at most three runs its CRM must hold exactly the reference's values on every person
and deal; after every run, each record still differing must be listed by ``status`` as a
failed write with its reason (or the run must have stopped at the quota). The same is then
done for an incremental sync after identical changes to both worlds.

The longer version is ``python -m benchmarks.soak``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from reliability_support import (
    Crm,
    apply_changes,
    check_cursors_cover_the_mirror,
    differing,
    failed_writes,
    start_crm,
)

from milestones.cli.main import cli

CONTACTS = 400
MAX_RUNS = 3
STORM = "429=0.04,503=0.03,reset=0.03,record=0.02"


def storm(seed: int, daily_quota: int | None = None) -> str:
    """The fault SPEC of one run: ~10% of requests faulted, 2% of written records failed."""
    spec = f"{STORM},seed={seed}"
    return spec if daily_quota is None else f"{spec},daily_quota={daily_quota}"


def status_json(crm: Crm) -> dict[str, Any]:
    """``milestones status --json`` for this CRM's config."""
    result = CliRunner().invoke(
        cli, ["--config", str(crm.config), "status", "--json"], env=crm.env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def converge(
    crm: Crm, expected: dict[Any, Any], mode: str, seed: int, quota: int, injected: Counter[str]
) -> list[str]:
    """Run under the storm until the CRM matches ``expected``; the outcome of each run.

    The first run gets a daily quota that runs out partway through; the next runs get a fresh
    quota (a new day) and a new fault stream.
    """
    outcomes: list[str] = []
    for attempt in range(MAX_RUNS):
        crm.server.configure(faults=storm(seed + attempt, quota if attempt == 0 else None))
        report = crm.sync(mode if attempt == 0 else "incremental")
        outcomes.append(report.outcome)
        injected.update(crm.server.stats()["faults"]["injected"])
        check_cursors_cover_the_mirror(crm)  # a quota stop or a fault never skips a record
        diff = differing(expected, crm.crm_values())
        if not diff:
            return outcomes
        if report.outcome == "quota":
            continue  # stopped early on purpose: the rest is for the next run
        status = status_json(crm)
        listed = {row["record_id"]: row for row in status["failures"]}
        assert status["writes_failed"] == len(diff), (status["writes_failed"], len(diff))
        for kind, rid in diff:
            row = listed.get(str(rid))
            assert row is not None, (kind, rid, diff[(kind, rid)])
            assert row["message"], row
        crm.settle()
    raise AssertionError(
        f"still {len(diff)} records differ after {MAX_RUNS} runs: {outcomes}: {diff}; "
        f"failed writes: {failed_writes(crm.state)}"
    )


def changes_for(crm: Crm) -> list[dict[str, Any]]:
    """A day of CRM activity: deals move, people reply, clients refer, records disappear."""
    world = crm.world
    deals = [d for d in world.ids("deal") if not world.get("deal", d).archived][:12]  # type: ignore[union-attr]
    people = [p for p in world.ids("person") if not world.get("person", p).archived][:60]  # type: ignore[union-attr]
    stages = ["closedwon", "contractsent", "presentationscheduled", "closedlost"]
    ops: list[dict[str, Any]] = [
        {"op": "move_deal", "deal_id": d, "stage": stages[i % len(stages)]}
        for i, d in enumerate(deals)
    ]
    ops += [{"op": "add_inbound_email", "person_id": p} for p in people[::4]]
    ops += [{"op": "record_referral", "referrer_id": p} for p in people[1:20:6]]
    ops += [{"op": "archive", "kind": "person", "id": people[-1]}]
    return ops


@pytest.mark.parametrize("provider", ["hubspot", "salesforce"])
def test_syncs_under_a_fault_storm_end_like_fault_free_ones(provider: str, tmp_path: Path) -> None:
    reference = start_crm(provider, tmp_path / "reference", CONTACTS)
    stormy = start_crm(provider, tmp_path / "stormy", CONTACTS)
    try:
        for crm in (reference, stormy):
            crm.ensure_fields()
        before = reference.server.stats()["total"]
        assert reference.sync("full").outcome == "ok"
        full_calls = reference.server.stats()["total"] - before
        expected = reference.crm_values()
        assert sum(1 for v in expected.values() if v) > CONTACTS / 2

        injected: Counter[str] = Counter()
        outcomes = converge(stormy, expected, "full", 111, full_calls // 2, injected)
        assert outcomes[0] == "quota", outcomes

        for crm in (reference, stormy):
            crm.settle()
        ops = changes_for(reference)
        apply_changes([reference, stormy], ops)
        reference.settle()
        assert reference.sync().outcome == "ok"
        changed = reference.crm_values()
        assert differing(expected, changed), "the changes moved no milestone"
        outcomes += converge(stormy, changed, "incremental", 202, 6, injected)
        print(f"{provider}: outcomes {outcomes}, faults injected {dict(injected)}")
        assert outcomes.count("quota") == 2, outcomes
        assert injected["daily"] and injected["record"], injected
        assert sum(injected[k] for k in ("429", "503", "reset")) >= 1, injected  # few calls on SF
    finally:
        reference.stop()
        stormy.stop()
