"""The sync commands on an in-memory CRM: exit codes, --json, --every, signals, the lock."""

from __future__ import annotations

import json
import os
import signal
from datetime import timedelta
from pathlib import Path

import click
import pytest
from sync_fakes import FakeCRM
from test_engine import RULES, make_world

from milestones.cli import run as commands
from milestones.cli import running
from milestones.cli.main import main
from milestones.store.sqlite import Store
from milestones.sync import factory
from milestones.sync.engine import Engine
from milestones.sync.lock import run_lock
from milestones.sync.run import RunOptions


@pytest.fixture
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCRM:
    fake = FakeCRM()
    make_world(fake)
    config = tmp_path / "milestones.toml"
    config.write_text(
        'provider = "hubspot"\n[hubspot]\naccess_token = "x"\n'
        f'[state]\npath = "{tmp_path / "state.db"}"\n[sync]\nlag_seconds = 0\n'
        '[mapping.stages]\ncontractsent = "opportunity"\n'
    )
    monkeypatch.setenv("MILESTONES_CONFIG", str(config))
    # the command imports the factory when it runs: replace the connector it builds there
    monkeypatch.setattr(factory, "build_connector", lambda config: fake)
    return fake


def run(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_dry_run_json_lists_the_plan(crm: FakeCRM, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("sync", "--dry-run", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outcome"] == "dry-run" and crm.write_calls == []
    assert {row["id"] for row in data["plan"]} >= {"c1", "c2", "d2"}
    assert run("sync") == 0
    assert f"wrote {len(data['plan'])}" in capsys.readouterr().out  # HubSpot: no Leads


def test_failures_exit_1_and_status_names_them(
    crm: FakeCRM, capsys: pytest.CaptureFixture[str]
) -> None:
    crm.fail_ids = {"c1": True}
    assert run("sync") == 1
    assert run("status") == 0
    out = capsys.readouterr().out
    assert "contact c1: BAD refused (2 attempts; retried next run)" in out  # tried twice a run


def test_every_loops_until_a_signal(crm: FakeCRM, monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []

    def sleep_or_stop(seconds: float) -> bool:
        pauses.append(seconds)
        return len(pauses) == 2

    monkeypatch.setattr(running, "sleep_or_stop", sleep_or_stop)
    assert run("sync", "--every", "15m") == 0
    assert len(pauses) == 2 and all(810 <= p <= 990 for p in pauses)  # 15 min, jittered


@pytest.mark.parametrize(("text", "seconds"), [("15m", 900), ("1h", 3600), ("90", 90)])
def test_intervals(text: str, seconds: int) -> None:
    assert commands.parse_interval(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0", "15 minutes", "-5m", ""])
def test_bad_intervals_are_usage_errors(text: str) -> None:
    with pytest.raises(click.BadParameter):
        commands.parse_interval(text)


def test_a_held_lock_refuses_the_run(
    crm: FakeCRM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with run_lock(tmp_path / "state.db"):
        assert run("sync") == 1
    assert "another milestones run is using" in capsys.readouterr().err
    assert crm.write_calls == []


def test_backfill_validates_its_dates(crm: FakeCRM) -> None:
    assert run("backfill", "--since", "2025-13-01") == 2
    assert run("backfill", "--since", "2025-02-01", "--until", "2025-01-01") == 2


def test_sigterm_finishes_the_page_and_checkpoints(tmp_path: Path) -> None:
    crm = FakeCRM()
    make_world(crm)
    with Store(tmp_path / "s.db") as state:
        engine = Engine(
            state,
            crm,
            RULES,
            crm.names,
            lag=timedelta(0),
            progress=lambda kind, report, calls: os.kill(os.getpid(), signal.SIGTERM),
        )
        report = engine.run(RunOptions())
        assert report.outcome == "interrupted"
        assert state.cursors.get("hubspot", "contacts", "sync").resume is not None
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler restored


def test_explain_follows_a_converted_lead(crm: FakeCRM, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("sync") == 0
    assert run("explain", "l1") == 1
    assert "milestones explain c5" in capsys.readouterr().err
    assert run("explain", "c5", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["milestone"] == "prospect"
    assert data["evidence"][0]["rule"] == "inbound_call"  # the call logged on the lead
    assert data["history"][0]["to_milestone"] == "prospect"


def test_every_survives_a_passing_failure(
    crm: FakeCRM, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from milestones.connectors.base import RetryableError

    calls = {"stages": 0}
    real_stages = crm.stages

    def flaky_stages() -> list:  # type: ignore[type-arg]
        calls["stages"] += 1
        if calls["stages"] == 1:
            raise RetryableError("connection reset", connector="fake")
        return real_stages()

    monkeypatch.setattr(crm, "stages", flaky_stages)
    rounds: list[float] = []
    monkeypatch.setattr(running, "sleep_or_stop", lambda s: rounds.append(s) or len(rounds) == 2)
    assert run("sync", "--every", "1m") == 0  # the second run went through
    assert "connection reset; trying again at the next run" in capsys.readouterr().err
    assert crm.field("c1", "milestone") == "prospect"


def test_dry_run_text_streams_the_plan(crm: FakeCRM, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("sync", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "contact c1  milestone=prospect milestone_date=2025-01-07" in out
    assert "dry run: 8 records would be written; nothing was sent to the CRM" in out
    assert crm.write_calls == []
