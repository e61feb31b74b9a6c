"""``milestones report`` and ``milestones init`` through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_world import at, sync_world

from milestones.cli.init import detect_provider, detect_sf_auth
from milestones.cli.main import cli
from milestones.config.settings import PROVIDER_MAPPING_DEFAULTS, load_config
from milestones.mapping.records import Contact, Deal
from milestones.mapping.rules import MappingRules

AS_OF = ["--as-of", "2026-06-15"]


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sync_world(tmp_path_factory.mktemp("cli") / "state.db")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "milestones", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_text_report_has_every_section_and_owner(state: Path) -> None:
    result = CliRunner().invoke(cli, ["report", "--state", str(state), *AS_OF])
    assert result.exit_code == 0, result.output
    for title in (
        "FUNNEL",
        "TIME BETWEEN MILESTONES",
        "DISQUALIFIED: 2",
        "ADVOCACY",
        "CLIENTS AT RISK OF BEING FORGOTTEN: 3",
        "ADVOCATES ABOUT TO LAPSE: 1",
        "MONTHLY COHORTS",
        "TARGETS NOBODY ACTS ON",
        "BY OWNER",
    ):
        assert title in result.output
    assert "target -> prospect            7    20 d   31 d" in result.output


def test_one_owner_and_options(state: Path) -> None:
    runner = CliRunner()
    args = ["report", "--state", str(state), *AS_OF, "--owner", "u2", "--silent-days", "200"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "owner u2, 4 people" in result.output
    assert "CLIENTS AT RISK OF BEING FORGOTTEN: 1 with no two-way contact for over 200" in (
        result.output
    )
    assert "BY OWNER" not in result.output
    bad = runner.invoke(cli, ["report", "--state", str(state), "--owner", "nobody"])
    assert bad.exit_code == 2 and "owners: u1, u2, unassigned" in bad.output


def test_json_is_the_report_data(state: Path) -> None:
    args = ["report", "--state", str(state), *AS_OF, "--json", "--since", "2026-01-01"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["since"] == "2026-01-01" and data["today"] == "2026-06-15"
    assert [s["reached"] for s in data["overall"]["funnel"]][:2] == [5, 3]
    assert {o["owner"] for o in data["owners"]} == {"u1", "u2", "unassigned"}


def test_errors_exit_with_a_clear_line(tmp_path: Path) -> None:
    missing = _run("report", "--state", str(tmp_path / "none.db"))
    assert missing.returncode == 1
    assert "no state file" in missing.stderr and "Traceback" not in missing.stderr
    bad_date = _run("report", "--state", str(tmp_path / "none.db"), "--since", "June")
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr


def test_report_uses_the_config_state_and_report_table(state: Path, tmp_path: Path) -> None:
    config = tmp_path / "milestones.toml"
    config.write_text(
        'provider = "hubspot"\n[hubspot]\naccess_token = "x-token"\n'
        f'[state]\npath = "{state}"\n[report]\nsilent_days = 250\n'
        'owner_names = { u2 = "Bea Stone", nobody = "Not In The State" }\n'
        '[mapping.stages]\ncontractsent = "opportunity"\nclosedwon = "client"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "report", *AS_OF])
    assert result.exit_code == 0, result.output
    assert "CLIENTS AT RISK OF BEING FORGOTTEN: 1 with no two-way contact for over 250" in (
        result.output
    )
    assert "Bea Stone (u2)" in result.output and "Not In The State" not in result.output
    args = ["--config", str(config), "report", *AS_OF, "--owner", "bea stone"]
    one = CliRunner().invoke(cli, args)
    assert one.exit_code == 0, one.output
    assert "owner Bea Stone (u2), 4 people" in one.output


def test_a_state_alone_is_read_with_its_crms_default_rules(tmp_path: Path) -> None:
    defaults = PROVIDER_MAPPING_DEFAULTS["salesforce"]
    rules = MappingRules.model_validate({**defaults, "stages": {"Closed Won": "client"}})
    records: dict[str, list[object]] = {
        "contacts": [
            Contact("s1", created_at=at("2026-01-01"), lead_status="Closed - Not Converted"),
            Contact("s2", created_at=at("2026-01-01"), properties={"NPS_Score__c": "10"}),
        ],
        "deals": [
            Deal(
                "o1", stage_id="Closed Won", close_date=at("2026-03-01").date(), contact_ids=("s2",)
            )
        ],
    }
    state = sync_world(tmp_path / "sf.db", records, rules, "salesforce")  # type: ignore[arg-type]
    runner = CliRunner(env={"MILESTONES_CONFIG": str(tmp_path / "absent.toml")})
    result = runner.invoke(cli, ["report", "--state", str(state), *AS_OF, "--json"])
    assert result.exit_code == 0, result.output
    overall = json.loads(result.output)["overall"]
    assert overall["disqualified"]["reasons"] == [
        {"reason": "lead status Closed - Not Converted", "count": 1}
    ]
    assert overall["advocacy"]["current_advocates"] == 1  # NPS_Score__c, Salesforce's default
    assert overall["at_risk"]["lapsing_advocates"] == 0


@pytest.mark.parametrize(
    ("env", "provider", "auth"),
    [
        ({"HUBSPOT_ACCESS_TOKEN": "t"}, "hubspot", None),
        (
            {"SF_SESSION_ID": "s", "SF_INSTANCE_URL": "https://a.my.salesforce.com"},
            "salesforce",
            "session",
        ),
        (
            {"SF_CONSUMER_KEY": "k", "SF_PRIVATE_KEY_FILE": "/k.pem", "SF_USERNAME": "u"},
            "salesforce",
            "jwt",
        ),
        ({"SF_CONSUMER_KEY": "k", "SF_CONSUMER_SECRET": "c"}, "salesforce", "client_credentials"),
        ({"SF_USERNAME": "u", "SF_PASSWORD": "p"}, "salesforce", "password"),
        ({}, None, None),
        ({"HUBSPOT_ACCESS_TOKEN": "t", "SF_USERNAME": "u"}, None, "password"),
    ],
)
def test_init_detects_what_the_environment_tells(
    env: dict[str, str], provider: str | None, auth: str | None
) -> None:
    assert detect_provider(env) == provider
    assert detect_sf_auth(env) == auth


@pytest.mark.parametrize(
    ("args", "env", "needs"),
    [
        (
            ["--provider", "hubspot"],
            {"HUBSPOT_ACCESS_TOKEN": "pat-secret-1"},
            "HUBSPOT_ACCESS_TOKEN",
        ),
        (
            [],
            {
                "SF_INSTANCE_URL": "https://acme--dev.sandbox.my.salesforce.com",
                "SF_USERNAME": "u@acme.test",
                "SF_PASSWORD": "pw-secret-1",
                "SF_SECURITY_TOKEN": "tok-secret-1",
            },
            "SF_PASSWORD",
        ),
        (["--provider", "salesforce", "--auth", "client_credentials"], {}, "SF_CONSUMER_SECRET"),
    ],
)
def test_init_writes_a_config_that_loads(
    tmp_path: Path, args: list[str], env: dict[str, str], needs: str
) -> None:
    path = tmp_path / "milestones.toml"
    inherited = {k: None for k in os.environ if k.startswith(("SF_", "HUBSPOT_"))}
    runner = CliRunner(env={**inherited, "MILESTONES_CONFIG": None, **env})
    result = runner.invoke(cli, ["--config", str(path), "init", "--no-input", *args])
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    for value in env.values():
        if "secret" in value:
            assert value not in text  # secrets stay in the environment
    assert f"${{{needs}}}" in text
    raw = tomllib.loads(text)
    fill = {
        name: "x"
        for name in (
            "HUBSPOT_ACCESS_TOKEN",
            "SF_USERNAME",
            "SF_PASSWORD",
            "SF_SECURITY_TOKEN",
            "SF_CONSUMER_KEY",
            "SF_CONSUMER_SECRET",
        )
    }
    config = load_config(path, environ=fill)
    assert config.provider == raw["provider"]
    assert config.mapping.stages  # a default stage mapping for the provider
    if "SF_INSTANCE_URL" in env:
        assert config.salesforce is not None and config.salesforce.domain == "test"  # type: ignore[union-attr]
    again = runner.invoke(cli, ["--config", str(path), "init", "--no-input", *args])
    assert again.exit_code == 2 and "--force" in again.output


def test_init_for_salesforce_defaults_to_client_credentials(tmp_path: Path) -> None:
    path = tmp_path / "milestones.toml"
    inherited = {k: None for k in os.environ if k.startswith(("SF_", "HUBSPOT_"))}
    runner = CliRunner(env={**inherited, "MILESTONES_CONFIG": None})
    args = ["--provider", "salesforce", "--instance-url", "https://acme.my.salesforce.com"]
    result = runner.invoke(cli, ["--config", str(path), "init", "--no-input", *args])
    assert result.exit_code == 0, result.output
    assert "set SF_CONSUMER_KEY, SF_CONSUMER_SECRET" in result.output
    env = {"SF_CONSUMER_KEY": "k", "SF_CONSUMER_SECRET": "s"}
    settings = load_config(path, environ=env).salesforce
    assert settings is not None and settings.auth == "client_credentials"
    assert settings.api_version == "68.0"


def test_init_without_a_provider_and_no_terminal_asks_for_one(tmp_path: Path) -> None:
    env = {
        k: v for k, v in __import__("os").environ.items() if not k.startswith(("SF_", "HUBSPOT_"))
    }
    result = _run("--config", str(tmp_path / "m.toml"), "init", env=env)
    assert result.returncode == 2 and "--provider" in result.stderr
    assert not (tmp_path / "m.toml").exists()


def test_init_asks_only_what_the_environment_does_not_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("milestones.cli.init.is_terminal", lambda: True)
    path = tmp_path / "milestones.toml"
    inherited = {k: None for k in os.environ if k.startswith(("SF_", "HUBSPOT_"))}
    runner = CliRunner(env={**inherited, "SF_SESSION_ID": "00Dxx!secret-session"})
    # SF_* is set, so the CRM and the auth mode are known: only the URL is asked.
    result = runner.invoke(
        cli, ["--config", str(path), "init"], input="https://acme.my.salesforce.com\n"
    )
    assert result.exit_code == 0, result.output
    assert "Which CRM" not in result.output and "auth mode" not in result.output
    assert "Salesforce My Domain URL" in result.output
    text = path.read_text(encoding="utf-8")
    assert 'instance_url = "https://acme.my.salesforce.com"' in text
    assert 'auth = "session"' in text and "secret-session" not in text
    path.unlink()
    asked = CliRunner(env=inherited).invoke(cli, ["--config", str(path), "init"], input="hubspot\n")
    assert asked.exit_code == 0, asked.output
    assert "Which CRM" in asked.output
    assert 'provider = "hubspot"' in path.read_text(encoding="utf-8")
