"""Bad config the loader tests (``tests/sync/test_config.py``) do not cover: a mapped stage
the CRM lacks, an empty secret, and files that cannot be used at all. Each gets a clear
message and the exit code DESIGN.md promises; none reaches the CRM with a bad credential.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_input_support import Reference, assert_clean, assert_intact, hubspot_ref, twin
from reliability_support import Crm, run_cli

__all__ = ["hubspot_ref", "twin"]  # fixtures used by the tests below


@pytest.mark.parametrize("provider", ["hubspot"])
def test_a_mapped_stage_the_crm_lacks_is_named_and_the_rest_still_syncs(
    provider: str, twin: tuple[Crm, Reference]
) -> None:
    crm, ref = twin
    config = crm.config.read_text() + '[mapping.stages]\nclosedwonn = "client"\n'
    crm.config.write_text(config)
    checked = crm.cli("check")
    assert checked.code == 1 and "'closedwonn', which the CRM does not have" in checked.text
    synced = crm.cli("sync")
    assert synced.code == 0 and "'closedwonn', which the CRM does not have" in synced.text
    assert_intact(crm, ref)


@pytest.mark.parametrize("provider", ["hubspot"])
def test_an_empty_token_asks_for_a_config_fix(provider: str, twin: tuple[Crm, Reference]) -> None:
    crm, _ = twin
    before = crm.server.stats()["total"]
    outcome = crm.cli("sync", env={"HUBSPOT_ACCESS_TOKEN": ""})
    assert_clean(outcome)
    assert outcome.code == 2 and "hubspot.access_token: is empty" in outcome.text
    assert crm.server.stats()["total"] == before  # refused before any request


CONFIG_FILES: dict[str, tuple[bytes | None, str]] = {
    "not UTF-8": (b'provider = "hubspot"\n# caf\xe9\n', "cannot read the file"),
    "a directory": (None, "directory"),
    "provider of the wrong type": (b"provider = 5\n", "provider:"),
    "a stage mapped to a list": (
        b'provider = "hubspot"\n[hubspot]\naccess_token = "x"\n'
        b'[mapping.stages]\nclosedwon = ["client"]\n',
        "mapping.stages.closedwon",
    ),
    "derive chunk of zero": (
        b'provider = "hubspot"\n[hubspot]\naccess_token = "x"\n[sync]\nderive_chunk = 0\n',
        "sync.derive_chunk",
    ),
    "base_url with another scheme": (
        b'provider = "hubspot"\n[hubspot]\naccess_token = "x"\nbase_url = "ftp://127.0.0.1/"\n',
        "hubspot.base_url",
    ),
}


@pytest.mark.parametrize("name", list(CONFIG_FILES))
def test_config_files_that_cannot_be_used(name: str, tmp_path: Path) -> None:
    content, message = CONFIG_FILES[name]
    path = tmp_path / "milestones.toml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    outcome = run_cli(["--config", str(path), "sync"], {})
    assert_clean(outcome)
    assert outcome.code == 2, outcome.text
    assert message in outcome.text, outcome.text
