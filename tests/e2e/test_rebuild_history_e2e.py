"""``backfill --rebuild-history`` on the state release 0.1.0 wrote: the dates change, nothing else.

``tests/store/data/state-0.1.0.db`` is what 0.1.0 left after ``milestones demo --contacts 40``
(HubSpot sandbox, seed 7), when a won deal dated prospect, opportunity and client all on the
won date. Served the same world again, now with its deals' stage histories, the rebuild
re-dates the ledger and the written dates from the evidence, keeps every milestone, every
transition and every flag, and a second rebuild finds nothing left to change.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from milestones.cli.main import main
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.world.gen import generate_world

RELEASE_0_1_0 = Path(__file__).parents[1] / "store" / "data" / "state-0.1.0.db"


def ledger(state: Path) -> dict[tuple[str, str], tuple[Any, ...]]:
    with sqlite3.connect(state) as db:
        rows = db.execute(
            "SELECT record_kind, record_id, to_milestone, from_milestone, reached_on FROM ledger"
        ).fetchall()
    return {(kind, rid, to): (start, on) for kind, rid, to, start, on in rows}


def derived(state: Path) -> dict[str, list[Any]]:
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT id, derived FROM contacts WHERE derived IS NOT NULL")
        return {rid: json.loads(text) for rid, text in rows}


def cli(config: Path, *args: str) -> int:
    try:
        main(["--config", str(config), *args])
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def test_rebuild_history_changes_the_dates_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.db"
    shutil.copyfile(RELEASE_0_1_0, state)
    ledger_before, derived_before = ledger(state), derived(state)
    world = generate_world(seed=7, contacts=40)
    server = HubSpotServer(world).start()
    config = tmp_path / "milestones.toml"
    config.write_text(
        f'provider = "hubspot"\n[hubspot]\naccess_token = "${{HUBSPOT_ACCESS_TOKEN}}"\n'
        f'base_url = "{server.url}"\n[state]\npath = "{state}"\n[sync]\nlag_seconds = 0\n'
    )
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", server.token)
    try:
        assert cli(config, "fields", "--create") == 0
        capsys.readouterr()
        assert cli(config, "backfill", "--rebuild-history", "--json") == 0
        figures = json.loads(capsys.readouterr().out)
        ledger_after, derived_after = ledger(state), derived(state)
        assert cli(config, "backfill", "--rebuild-history", "--json") == 0
        again = json.loads(capsys.readouterr().out)
        written = {
            str(p.id): (p.extra or {}).get("sales_milestone_date") for p in world.iter("person")
        }
    finally:
        server.stop()
    # The same transitions, from the same milestones; only their dates moved.
    assert ledger_after.keys() == ledger_before.keys()
    assert all(ledger_after[k][0] == ledger_before[k][0] for k in ledger_before)
    changed = [k for k in ledger_before if ledger_after[k][1] != ledger_before[k][1]]
    assert changed and figures["redated"] == len(changed)
    # Every person keeps their milestone, the levels they reached and their flags.
    assert derived_before.keys() <= derived_after.keys()
    grown = derived_after.keys() - derived_before.keys()  # people the world has gained since
    assert all(derived_after[rid][0] == 0 for rid in grown)
    for rid, before in derived_before.items():
        after = derived_after[rid]
        assert after[0] == before[0], rid
        assert [r[0] for r in after[1]] == [r[0] for r in before[1]], rid
        assert after[2:4] == before[2:4], rid  # the flags (a disqualification's day is new)
        reached = {r[0]: r[1] for r in after[1]}
        assert sorted(reached.values()) == list(reached.values()), rid  # in milestone order
        if after[0]:  # the written date is the current milestone's, as re-dated
            assert str(written[rid])[:10] == reached[after[0]], rid
    assert again["redated"] == 0
