"""Owner names from the CRM (HubSpot owners API, Salesforce User.Name), kept in the state.

Read on the first sync, not again the same day while every owner is known, again as soon as
a person is given to a rep the state has no name for; the report and the likelihood show
the names, and ``[report] owner_names`` still overrides them.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from e2e_support import Sandbox, settle

from milestones.cli.main import cli
from milestones.store.owners import OwnerNames
from milestones.store.sqlite import Store
from milestones.sync.owners import PERIODIC_NAME as OWNERS_READ
from milestones.sync.periodic import Periodic


def _owner_reads(box: Sandbox) -> int | None:
    """HubSpot owners requests answered (the Salesforce sandbox does not tell one SOQL
    query from another; the step that decides is the same for both CRMs)."""
    if box.provider != "hubspot":
        return None
    endpoints: dict[str, int] = box.server.stats()["endpoints"]
    return sum(n for name, n in endpoints.items() if "/owners" in name)


def _names(box: Sandbox) -> dict[str, str]:
    with Store(box.state, read_only=True) as store:
        return OwnerNames(store.db).names()


def _api_calls(box: Sandbox, capsys: pytest.CaptureFixture[str]) -> int:
    """One ``sync --json`` after the sandbox's clock has moved on; the API calls it made."""
    settle(box)
    capsys.readouterr()
    assert box.run("sync", "--json") == 0
    calls: int = json.loads(capsys.readouterr().out)["api_calls"]
    return calls


def test_owner_names_are_read_daily_or_for_a_new_rep(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sandbox.run("sync") == 0
    names = _names(sandbox)
    world = {f"{o.first_name} {o.last_name}" for o in sandbox.world.iter("owner")}
    assert world <= set(names.values())
    report = CliRunner(env=sandbox.env).invoke(
        cli, ["--config", str(sandbox.config), "report", "--json"]
    )
    data = json.loads(report.output)
    assert data["owners"] and all(o["owner"] in data["owner_names"] for o in data["owners"])
    labels = {f"{name} ({owner})" for owner, name in names.items()} | {"(no owner)"}
    assert set(data["likelihood"]["forecast"]["owners"]) <= labels

    reads = _owner_reads(sandbox)
    _api_calls(sandbox, capsys)  # reads back what the first run wrote
    same_day = _api_calls(sandbox, capsys)  # no CRM change, every owner known: no owner call
    assert _owner_reads(sandbox) == reads
    with Store(sandbox.state) as store, store.transaction():
        Periodic(store).forget(OWNERS_READ)  # as on the next day
    next_day = _api_calls(sandbox, capsys)
    assert next_day == same_day + 1  # the day's first run reads the owners: one page, both CRMs
    reads = None if reads is None else reads + 1
    assert _owner_reads(sandbox) == reads

    rep = sandbox.world.add("owner", first_name="Nadia", last_name="Newhire", email="n@example.com")
    person = next(iter(sandbox.world.ids("person")))
    sandbox.world.update("person", person, {"owner_id": rep.id})
    settle(sandbox)
    assert sandbox.run("sync") == 0
    assert _owner_reads(sandbox) == (None if reads is None else reads + 1)
    assert "Nadia Newhire" in _names(sandbox).values()

    owner = data["owners"][0]["owner"]
    with sandbox.config.open("a") as config:
        config.write(f'[report]\nowner_names = {{ "{owner}" = "Ann Override" }}\n')
    report = CliRunner(env=sandbox.env).invoke(
        cli, ["--config", str(sandbox.config), "report", "--json"]
    )
    assert json.loads(report.output)["owner_names"][owner] == "Ann Override"
