"""``milestones fleet``: a folder that is not a fleet, malformed configs, shared org names.

The synced fleet (three sandboxes) is in tests/e2e/test_fleet_e2e.py; here the configs alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from milestones.cli.main import main
from milestones.report.fleet_status import run_exit_code
from milestones.store.rows import RunRow

GOOD = (
    'provider = "hubspot"\n[hubspot]\naccess_token = "${{ORG_TOKEN}}"\n[state]\npath = "{state}"\n'
)


def run_main(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_a_folder_without_configs_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main("fleet", "status", "--dir", str(tmp_path / "nowhere")) == 2
    assert "is not a folder of org configs" in capsys.readouterr().err
    assert run_main("fleet", "report", "--dir", str(tmp_path)) == 2
    assert "holds no org config" in capsys.readouterr().err


def test_a_malformed_config_is_named_and_the_rest_still_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "acme.toml").write_text(GOOD.format(state=tmp_path / "acme.db"))
    (tmp_path / "broken.toml").write_text(
        GOOD.format(state=tmp_path / "b.db") + "[sync]\nlag_secs = 3\n"
    )
    (tmp_path / "notes.txt").write_text("not a config")
    assert run_main("fleet", "status", "--dir", str(tmp_path), "--json") == 2
    rows = {row["org"]: row for row in json.loads(capsys.readouterr().out)["orgs"]}
    assert sorted(rows) == ["acme", "broken"]
    assert rows["broken"]["state"] == "config"
    assert "sync.lag_secs: unknown key" in rows["broken"]["problem"]
    assert rows["acme"]["state"] == "missing"  # read although ORG_TOKEN is not set
    assert run_main("fleet", "report", "--dir", str(tmp_path)) == 2
    out = capsys.readouterr().out
    assert "broken: config: sync.lag_secs: unknown key" in out
    assert "acme: no state yet" in out


def test_two_files_naming_one_org_are_both_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "acme.toml").write_text(GOOD.format(state=tmp_path / "a.db"))
    (tmp_path / "acme-eu.toml").write_text('org = "acme"\n' + GOOD.format(state=tmp_path / "b.db"))
    (tmp_path / "bad-name.toml").write_text('org = "acme corp"\n' + GOOD.format(state="c.db"))
    assert run_main("fleet", "status", "--dir", str(tmp_path), "--json") == 2
    rows = json.loads(capsys.readouterr().out)["orgs"]
    problems = {Path(row["config"]).name: row["problem"] for row in rows}
    assert "named by more than one file" in problems["acme.toml"]
    assert "named by more than one file" in problems["acme-eu.toml"]
    assert problems["bad-name.toml"].startswith("org: ")


def _run(outcome: str | None, failed: int = 0, detail: str = "") -> RunRow:
    return RunRow(1, "sync", "hubspot", "t", None, 0, 0, 0, failed, 0, 0.0, outcome, detail)


@pytest.mark.parametrize(
    ("run", "code"),
    [
        (_run("ok"), 0),
        (_run("dry-run"), 0),
        (_run("ok", failed=2), 1),
        (_run("failures", failed=2), 1),
        (_run("quota"), 1),
        (_run("interrupted"), 1),
        (_run("error", detail="ConnectorError"), 1),
        (_run("error"), 2),  # the CRM refused the credentials: a configuration error
        (_run("running"), None),
        (_run(None), None),
    ],
)
def test_the_exit_code_a_run_gave(run: RunRow, code: int | None) -> None:
    assert run_exit_code(run) == code
