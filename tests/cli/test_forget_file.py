"""``milestones forget --from-file``: ids and emails one a line, comments and blanks ignored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from milestones.cli.main import cli
from milestones.store.sqlite import Store

RELEASE_0_1_0 = Path(__file__).parents[1] / "store" / "data" / "state-0.1.0.db"


def test_forget_reads_ids_and_emails_from_a_file(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    shutil.copyfile(RELEASE_0_1_0, state)
    config = tmp_path / "milestones.toml"
    config.write_text(
        f'provider = "hubspot"\n[hubspot]\naccess_token = "unused"\n[state]\npath = "{state}"\n',
        encoding="utf-8",
    )
    requests = tmp_path / "erasure-requests.txt"
    requests.write_text(
        "# erasure requests received this week\n"
        "2000020\n"
        "\n"
        "Contact1@Company6.example   # the address as the person wrote it\n"
        "nobody@example.invalid\n",
        encoding="utf-8",
    )
    args = ["--config", str(config), "forget", "--from-file", str(requests), "--json"]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    assert sorted(result["erased"]) == ["2000002", "2000020"]
    assert len(result["unknown"]) == 1
    with Store(state) as store:
        assert store.privacy.ids_with_email("contact1@company6.example") == []
    assert b"contact1@company6.example" not in state.read_bytes()

    again = CliRunner().invoke(cli, args)  # idempotent: nothing more to erase
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["ledger_entries_without_evidence"] == 0
