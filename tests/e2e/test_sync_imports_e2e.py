"""A sync loads the code of the tables its config sets, and none of the others.

Every module a run imports is CPU it pays on every scheduled run, however little changed: a
config without ``[plays]`` or ``[accounts]`` must not load the plays, the accounts' step or
the report. Each run starts in a fresh interpreter that reports what it imported
(``startup_support``).
"""

from __future__ import annotations

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
