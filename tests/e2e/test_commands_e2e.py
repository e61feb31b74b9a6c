"""The other commands end to end: demo, backfill, status, explain, stages, fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import Sandbox, start_sandbox

from milestones.cli.main import main


def run_main(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_demo_needs_no_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no milestones.toml here
    monkeypatch.delenv("MILESTONES_CONFIG", raising=False)
    assert run_main("demo", "--contacts", "60", "--keep", str(tmp_path / "kept")) == 0
    out = capsys.readouterr().out
    assert "milestone funnel" in out
    assert "$ milestones explain" in out and "history:" in out
    assert "milestones fields --create" in out
    assert (tmp_path / "kept" / "demo.db").exists()
    report = tmp_path / "milestones-demo-report.html"
    assert f"The milestone report of this world: {report}" in out
    assert "<svg" in report.read_text(encoding="utf-8")
    assert run_main("demo", "--provider", "salesforce", "--contacts", "60", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert sum(data["funnel"][m] for m in ("target", "prospect", "opportunity")) > 0
    assert data["run"]["written"] > 0
    assert data["report"] == str(report)


@pytest.fixture
def salesforce(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    box = start_sandbox("salesforce", tmp_path, contacts=80)
    for name, value in box.env.items():
        monkeypatch.setenv(name, value)
    yield box
    box.server.stop()


def test_backfill_status_explain_and_stages(
    salesforce: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    box = salesforce
    assert box.run("fields") == 1  # missing before --create
    assert box.run("fields", "--create", "--json") == 0
    capsys.readouterr()
    assert box.run("backfill", "--since", "2000-01-01", "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["written"] > 0 and figures["outcome"] == "ok"
    assert box.run("status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["runs"][0]["command"] == "backfill"
    assert {c["lane"] for c in status["cursors"]} == {"backfill"}  # sync's cursors untouched
    assert box.run("sync") == 0
    capsys.readouterr()
    with box.world.lock:
        advocate = next(
            pid
            for pid in box.world.ids("person")
            if box.value("person", pid, "milestone") == "advocate"
        )
    sf_id = _salesforce_id(box, advocate)
    assert box.run("explain", sf_id, "--json") == 0
    explained = json.loads(capsys.readouterr().out)
    assert explained["milestone"] == "advocate"
    assert [h["to_milestone"] for h in explained["history"]][-1] == "advocate"
    assert explained["fields_in_crm"]["milestone"] == "advocate"
    assert box.run("stages", "--json") == 0
    stages = json.loads(capsys.readouterr().out)
    assert any(s["milestone"] == "client" for s in stages["stages"])
    assert box.run("explain", "no-such-id") == 2


def _salesforce_id(box: Sandbox, person_id: int) -> str:
    record = box.server.record("person", person_id)
    assert record is not None
    return str(record["api"]["Contact"]["Id"])
