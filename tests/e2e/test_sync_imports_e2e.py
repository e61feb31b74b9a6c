"""A sync loads the code of the tables its config sets, and none of the others.

Every module a run imports is CPU it pays on every scheduled run, however little changed: a
config without ``[plays]`` or ``[accounts]`` must not load the plays, the accounts' step or
the report. Each run starts in a fresh interpreter that reports what it imported
(``startup_support``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_support import start_sandbox

from startup_support import imported_by

# What a sync without [plays], [accounts] or the report's settings has no use for. The config
# models of those tables (mapping.play_rules, mapping.account_rules) still load: they validate.
UNUSED = (
    "milestones.cli.plays",
    "milestones.sync.plays",
    "milestones.mapping.plays",
    "milestones.connectors.tasks",
    "milestones.connectors.hubspot.tasks",
    "milestones.connectors.salesforce.tasks",
    "milestones.sync.accounts",
    "milestones.report",
)
REACH = "[plays.reach_target]\nenabled = true\n"


@pytest.mark.parametrize("provider", ["hubspot", "salesforce"])
def test_a_sync_without_plays_or_accounts_loads_none_of_their_code(
    provider: str, tmp_path: Path
) -> None:
    box = start_sandbox(provider, tmp_path, contacts=20)
    try:
        args = ["--config", str(box.config), "sync", "--dry-run"]
        code, loaded, output = imported_by(args, UNUSED, box.env)
        assert code == 0, output
        assert "nothing was sent to the CRM" in output
        assert loaded == []
        # The same check sees the plays' code once the config enables a play.
        box.config.write_text(box.config.read_text(encoding="utf-8") + REACH, encoding="utf-8")
        code, loaded, output = imported_by(args, UNUSED, box.env)
    finally:
        box.server.stop()
    assert code == 0, output
    tasks = f"milestones.connectors.{provider}.tasks"
    assert {"milestones.sync.plays", "milestones.mapping.plays", tasks} <= set(loaded)
    assert "milestones.report" not in loaded


_COLLECTOR = """
import gc, sys
from milestones.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    print("EXIT", exc.code or 0)
print("COLLECTOR", gc.isenabled(), gc.get_freeze_count() > 0)
"""


def _collector_after(*args: str, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _COLLECTOR, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return [x for x in done.stdout.splitlines() if x.startswith(("EXIT", "COLLECTOR"))]


def test_the_collector_runs_again_once_a_run_is_loaded_or_has_failed(tmp_path: Path) -> None:
    box = start_sandbox("salesforce", tmp_path, contacts=20)
    try:
        assert (
            _collector_after("--config", str(box.config), "fields", "--create", env=box.env)[0]
            == "EXIT 0"
        )
        synced = _collector_after("--config", str(box.config), "sync", env=box.env)
    finally:
        box.server.stop()
    # What the run loaded is frozen (later collections skip it), and the collector is back on.
    assert synced == ["EXIT 0", "COLLECTOR True True"]
    # A run that stops before its engine is built (the CRM's secret is not set) turns it back
    # on all the same, with nothing frozen.
    failed = _collector_after("--config", str(box.config), "sync", env={"SF_SESSION_ID": ""})
    assert failed == ["EXIT 2", "COLLECTOR True False"]
