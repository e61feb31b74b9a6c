"""The likelihood end to end: a sync pays nothing for it, and it reads what a sync left."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2e_support import Sandbox, start_sandbox

from milestones.cli.main import cli
from milestones.mapping.records import Milestone
from milestones.store.sqlite import Store
from startup_support import imported_by

ESTIMATOR_MODULES = ("lifelines", "numpy", "pandas", "scipy")
# What ``milestones --help`` must not import either: the vendor SDKs, the HTTP stack, the
# PostgreSQL driver, the report and the sandbox (each command imports its own module on use).
START_UP_HEAVY = (
    *ESTIMATOR_MODULES,
    "hubspot",
    "simple_salesforce",
    "requests",
    "psycopg",
    "milestones.report",
    "milestones.sandbox",
    "milestones.sync",
    "milestones.store.sqlite",
    "milestones.config.settings",
)


def _heavy_modules_after(
    box: Sandbox | None, *args: str, modules: tuple[str, ...] = ESTIMATOR_MODULES
) -> list[str]:
    env_args = ["--config", str(box.config)] if box else []
    code, heavy, output = imported_by([*env_args, *args], modules, box.env if box else None)
    assert code == 0, output
    return heavy


def test_help_loads_no_estimator_sdk_report_or_sandbox() -> None:
    assert _heavy_modules_after(None, "--help", modules=START_UP_HEAVY) == []


def test_help_of_one_command_loads_only_that_command() -> None:
    heavy = _heavy_modules_after(None, "status", "--help", modules=START_UP_HEAVY)
    assert "milestones.store.sqlite" in heavy  # the check sees what a command does import
    assert not {"hubspot", "simple_salesforce", "requests", "psycopg", "lifelines"} & set(heavy)
    assert not [m for m in heavy if m.startswith(("milestones.report", "milestones.sandbox"))]


@pytest.fixture
def hubspot(tmp_path: Path) -> Sandbox:
    return start_sandbox("hubspot", tmp_path, contacts=60)


def test_a_sync_loads_no_estimator_and_likelihood_reads_its_state(hubspot: Sandbox) -> None:
    try:
        assert _heavy_modules_after(hubspot, "fields", "--create") == []
        assert _heavy_modules_after(hubspot, "sync") == []
        result = CliRunner(env=hubspot.env).invoke(
            cli,
            ["--config", str(hubspot.config), "likelihood", "--json", "--min-sample", "1000"],
        )
    finally:
        hubspot.server.stop()
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["steps"]) == {
        "target->prospect",
        "prospect->opportunity",
        "opportunity->client",
        "client->advocate",
    }
    people = data["steps"]["target->prospect"]["people"]
    assert people >= 60  # every synced person began as a target
    assert data["steps"]["target->prospect"]["not_enough_history"] == (
        f"not enough history (n = {people})"
    )
    assert data["forecast"]["org"] == {}


def test_explain_shows_the_likelihood_and_stage_labels(
    hubspot: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in hubspot.env.items():
        monkeypatch.setenv(name, value)
    with hubspot.config.open("a") as config:
        config.write("[likelihood]\nmin_sample = 5\n")
    try:
        assert hubspot.run("fields", "--create") == 0
        assert hubspot.run("sync") == 0
    finally:
        hubspot.server.stop()
    with Store(hubspot.state, read_only=True) as store:
        stages = store.people.stages()
        people = [p for p in store.reporting.iter_people() if p.derived is not None]
    prospect = next(p for p in people if p.derived.milestone is Milestone.PROSPECT)
    by_deal = next(
        (p, e)
        for p in people
        for e in p.derived.reached.values()
        if e.record_kind == "deal" and p.derived.milestone is Milestone.CLIENT
    )
    runner = CliRunner(env=hubspot.env)
    base = ["--config", str(hubspot.config), "explain"]
    shown = runner.invoke(cli, [*base, prospect.contact.id, "--json"])
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)["likelihood"]
    assert found["step"] == "prospect->opportunity" and found["waiting_days"] >= 0
    assert found["curve"]["people"] == found["people_at_step"] >= 5
    assert 0 <= found["within_days"]["30"] <= found["within_days"]["90"] <= 1
    text = runner.invoke(cli, [*base, prospect.contact.id]).output
    assert "likelihood (prospect->opportunity, waiting" in text
    assert f"written band {found['band']}" in text and "rests on" in text

    person, evidence = by_deal
    text = runner.invoke(cli, [*base, person.contact.id]).output
    deal = runner.invoke(cli, [*base, evidence.record_id, "--json"])
    stage_id = json.loads(deal.output)["stage"]
    label = stages[stage_id].label
    assert label != stage_id and f"in stage {label} ({stage_id})" in text
    assert json.loads(deal.output)["stage_label"] == label
    history = json.loads(deal.output)["history"]
    assert history and all(
        h["evidence"].startswith("stage ") and "(" in h["evidence"] for h in history
    ), history
