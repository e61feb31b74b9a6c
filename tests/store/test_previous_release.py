"""A state file written by release 0.1.0 opens, migrates and reads the same through the Store.

``data/state-0.1.0.db`` is the state the 0.1.0 worker left after ``milestones demo
--contacts 40`` (HubSpot sandbox, seed 7): 39 people, 66 ledger rows, one run. Its funnel and
its people's history are what that release printed; the store must read them back unchanged.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from milestones.cli.main import cli
from milestones.mapping.records import Milestone
from milestones.store.schema import MIGRATIONS
from milestones.store.sqlite import Store

RELEASE_0_1_0 = Path(__file__).parent / "data" / "state-0.1.0.db"
FUNNEL_0_1_0 = {
    Milestone.TARGET: 20,
    Milestone.PROSPECT: 3,
    Milestone.OPPORTUNITY: 4,
    Milestone.CLIENT: 11,
    Milestone.ADVOCATE: 1,
}


def _copy(tmp_path: Path) -> Path:
    path = tmp_path / "state.db"
    shutil.copyfile(RELEASE_0_1_0, path)
    return path


def test_it_opens_at_the_current_schema_with_its_records(tmp_path: Path) -> None:
    with Store(_copy(tmp_path)) as store:
        assert store.version == len(MIGRATIONS)
        counts = store.counts()
        assert (counts.people, counts.dirty, counts.writes_pending) == (39, 0, 0)
        funnel = store.reporting.funnel()
        assert funnel.at == FUNNEL_0_1_0
        assert (funnel.disqualified, funnel.advocates) == (5, 1)
        assert [run.command for run in store.runs.recent()] == ["demo"]
        assert store.runs.last_provider() == "hubspot"


def test_its_history_and_bundles_read_back(tmp_path: Path) -> None:
    with Store(_copy(tmp_path)) as store:
        advocate = store.reporting.example_at(Milestone.ADVOCATE)
        assert advocate == "2000020"  # the person 0.1.0's demo explained first
        history = [entry.to_milestone for entry in store.ledger.of(advocate)]
        assert history == ["prospect", "opportunity", "client", "advocate"]
        chunk = store.people.load([advocate])
        assert [p.bundle.contact.id for p in chunk.people] == [advocate]
        person = chunk.people[0]
        assert person.prior is not None and person.prior.milestone == Milestone.ADVOCATE
        assert person.crm["milestone"] == "advocate"


def test_explain_and_status_read_it_through_the_command_line(tmp_path: Path) -> None:
    state = _copy(tmp_path)
    config = tmp_path / "milestones.toml"
    config.write_text(
        f'provider = "hubspot"\n[hubspot]\naccess_token = "unused"\n[state]\npath = "{state}"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    explained = runner.invoke(cli, ["--config", str(config), "explain", "2000020", "--json"])
    assert explained.exit_code == 0, explained.output
    data = json.loads(explained.output)
    assert data["milestone"] == "advocate" and len(data["history"]) == 4
    status = runner.invoke(cli, ["--config", str(config), "status", "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["people"] == 39
