"""Owner names from the CRM (HubSpot owners API, Salesforce User.Name), kept in the state.

Read on the first sync, not again the same day while every owner is known, again as soon as
a person is given to a rep the state has no name for; the report and the likelihood show
the names, and ``[report] owner_names`` still overrides them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2e_support import Sandbox, settle, start_sandbox

from milestones.cli.main import cli
from milestones.store.owners import OwnerNames
from milestones.store.sqlite import Store


@pytest.fixture(params=["hubspot", "salesforce"])
def box(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sandbox]:
    sandbox = start_sandbox(request.param, tmp_path)
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    try:
        assert sandbox.run("fields", "--create") == 0
        yield sandbox
    finally:
        sandbox.server.stop()


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


def test_owner_names_are_read_daily_or_for_a_new_rep(box: Sandbox) -> None:
    assert box.run("sync") == 0
    names = _names(box)
    world = {f"{o.first_name} {o.last_name}" for o in box.world.iter("owner")}
    assert world <= set(names.values())
    report = CliRunner(env=box.env).invoke(cli, ["--config", str(box.config), "report", "--json"])
    data = json.loads(report.output)
    assert data["owners"] and all(o["owner"] in data["owner_names"] for o in data["owners"])
    labels = {f"{name} ({owner})" for owner, name in names.items()} | {"(no owner)"}
    assert set(data["likelihood"]["forecast"]["owners"]) <= labels

    reads = _owner_reads(box)
    settle(box)
    assert box.run("sync") == 0  # same day, every owner known: no owner call
    assert _owner_reads(box) == reads

    rep = box.world.add("owner", first_name="Nadia", last_name="Newhire", email="n@example.com")
    person = next(iter(box.world.ids("person")))
    box.world.update("person", person, {"owner_id": rep.id})
    settle(box)
    assert box.run("sync") == 0
    assert _owner_reads(box) == (None if reads is None else reads + 1)
    assert "Nadia Newhire" in _names(box).values()

    owner = data["owners"][0]["owner"]
    with box.config.open("a") as config:
        config.write(f'[report]\nowner_names = {{ "{owner}" = "Ann Override" }}\n')
    report = CliRunner(env=box.env).invoke(cli, ["--config", str(box.config), "report", "--json"])
    assert json.loads(report.output)["owner_names"][owner] == "Ann Override"
