"""``[accounts]``: off by default, provider defaults when on, a bad key exits 2 naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from milestones.config.settings import ConfigError, load_config

GOOD = 'provider = "{p}"\n[{p}]\n{auth}\n'
AUTH = {
    "hubspot": 'access_token = "${TOKEN}"',
    "salesforce": 'instance_url = "https://x.my.salesforce.com"\nauth = "session"\n'
    'session_id = "${TOKEN}"',
}
ENV = {"TOKEN": "secret-token-value"}


def write(tmp_path: Path, provider: str, extra: str = "") -> Path:
    path = tmp_path / "milestones.toml"
    path.write_text(GOOD.format(p=provider, auth=AUTH[provider]) + extra, encoding="utf-8")
    return path


def test_accounts_are_off_and_write_no_field_by_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "hubspot"), ENV)
    assert not config.accounts.enabled
    assert "account_milestone" not in config.write_spec.names
    assert "company" not in config.write_spec.extra_properties


@pytest.mark.parametrize(
    ("provider", "field", "company"),
    [
        ("hubspot", "account_milestone", "company"),
        ("salesforce", "Account_Milestone__c", "Company"),
    ],
)
def test_enabled_accounts_name_the_provider_fields(
    tmp_path: Path, provider: str, field: str, company: str
) -> None:
    text = '[accounts]\nenabled = true\nfields = { account_advocates = "Advocates_Count__c" }\n'
    config = load_config(write(tmp_path, provider, text), ENV)
    spec = config.write_spec
    assert spec.name("account_milestone") == field
    assert spec.name("account_advocates") == "Advocates_Count__c"
    assert company in spec.extra_properties
    assert config.account_rules.company_property == company


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[accounts]\nenabled = 'yes please'\n", "accounts.enabled"),
        ("[accounts]\nfields = { milestone = 'x' }\n", "accounts.fields"),
        ("[accounts]\nfields = { account_milestone = 'bad name' }\n", "accounts.fields"),
        ("[accounts]\ncompany_property = 'Company, Id'\n", "accounts.company_property"),
        ("[accounts]\nfree_mail_domains = 'gmail.com'\n", "accounts.free_mail_domains"),
        ("[accounts]\nunknown = 1\n", "accounts.unknown"),
        ("[writeback.fields]\naccount_milestone = 'x'\n", "writeback.fields"),
    ],
)
def test_a_malformed_accounts_table_names_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "hubspot", text), ENV)
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def test_the_cli_exits_2_on_a_bad_accounts_key(tmp_path: Path) -> None:
    path = write(tmp_path, "hubspot", "[accounts]\nfree_mail_domains = 3\n")
    done = subprocess.run(
        [sys.executable, "-m", "milestones", "--config", str(path), "check", "--offline"],
        capture_output=True,
        text=True,
        env={**ENV, "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "accounts.free_mail_domains" in done.stderr
