"""The config loader: good files load, each malformed one exits 2 naming its key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from milestones.config.settings import ConfigError, load_config
from milestones.connectors.salesforce.settings import (
    SalesforceClientCredentials,
    SalesforcePassword,
)

ROOT = Path(__file__).resolve().parents[2]
GOOD_HUBSPOT = """
provider = "hubspot"
[hubspot]
access_token = "${TOKEN}"
[mapping.stages]
closedwon = "client"
"""
ENV = {"TOKEN": "pat-na1-secret-value"}

BAD = [
    ("bad TOML", 'provider = "hubspot"\n[hubspot\n', "not valid TOML"),
    ("provider unknown", 'provider = "pipedrive"\n', "provider:"),
    ("provider missing", '[hubspot]\naccess_token = "x"\n', "provider: required key is missing"),
    ("provider table missing", 'provider = "hubspot"\n', "[hubspot] table is missing"),
    (
        "missing env var",
        'provider = "hubspot"\n[hubspot]\naccess_token = "${NOPE}"\n',
        "hubspot.access_token: environment variable NOPE is not set",
    ),
    ("unknown key", GOOD_HUBSPOT + "[state]\npth = 'x.db'\n", "state.pth: unknown key"),
    ("unknown top-level table", GOOD_HUBSPOT + "[hubspt]\nx = 1\n", "hubspt: unknown key"),
    (
        "unknown milestone",
        GOOD_HUBSPOT.replace('"client"', '"customer"'),
        "mapping.stages.closedwon",
    ),
    (
        "stage mapped to advocate",
        GOOD_HUBSPOT.replace('"client"', '"advocate"'),
        "mapping.stages.closedwon",
    ),
    ("stage mapped twice", GOOD_HUBSPOT + 'closedwon = "opportunity"\n', "not valid TOML"),
    (
        "wrong type",
        GOOD_HUBSPOT + "[mapping.advocate]\nnps_min = 'nine'\n",
        "mapping.advocate.nps_min",
    ),
    (
        "NPS threshold out of range",
        GOOD_HUBSPOT + "[mapping.advocate]\nnps_min = 11\n",
        "mapping.advocate.nps_min",
    ),
    (
        "negative threshold",
        GOOD_HUBSPOT + "[mapping.stage_fallback]\nopportunity_min_probability = -0.1\n",
        "mapping.stage_fallback.opportunity_min_probability",
    ),
    (
        "negative lookback",
        GOOD_HUBSPOT + "[sync]\nlookback_seconds = -5\n",
        "sync.lookback_seconds",
    ),
    (
        "lapse of zero days",
        GOOD_HUBSPOT + "[mapping.advocate]\nlapse_days = 0\n",
        "mapping.advocate.lapse_days",
    ),
    (
        "bad base URL",
        GOOD_HUBSPOT.replace("access_token", 'base_url = "not a url"\naccess_token'),
        "hubspot.base_url",
    ),
    (
        "unknown written field",
        GOOD_HUBSPOT + "[writeback.fields]\nmilestone_colour = 'x'\n",
        "writeback.fields.milestone_colour",
    ),
    (
        "salesforce auth unknown",
        'provider = "salesforce"\n[salesforce]\ninstance_url = "https://x.my.salesforce.com"\n'
        'auth = "oauth"\n',
        "salesforce: auth must be one of",
    ),
    (
        "salesforce password missing",
        'provider = "salesforce"\n[salesforce]\ninstance_url = "https://x.my.salesforce.com"\n'
        'auth = "password"\nusername = "u"\n',
        "salesforce.password: required key is missing",
    ),
    (
        "salesforce SOAP login at a version without login()",
        'provider = "salesforce"\n[salesforce]\ninstance_url = "https://x.my.salesforce.com"\n'
        'auth = "password"\nusername = "u"\npassword = "p"\nlogin_api_version = "65.0"\n',
        "salesforce.login_api_version: SOAP login() is not available from API version 65.0",
    ),
    (
        "email direction unknown",
        GOOD_HUBSPOT + "[mapping.two_way]\nemail_directions = ['sideways']\n",
        "mapping.two_way.email_directions.0",
    ),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "milestones.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_loads_with_provider_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD_HUBSPOT), ENV)
    assert config.provider == "hubspot"
    assert config.hubspot is not None
    assert config.hubspot.access_token.get_secret_value() == ENV["TOKEN"]
    assert "pat-na1" not in repr(config)
    assert config.state.path == tmp_path / "milestones.db"
    assert config.mapping.disqualify.lead_statuses == ["UNQUALIFIED"]
    assert config.write_spec.name("milestone") == "sales_milestone"


def test_salesforce_defaults_and_renamed_field(tmp_path: Path) -> None:
    text = (
        'provider = "salesforce"\n[salesforce]\ninstance_url = "https://x.my.salesforce.com"\n'
        'auth = "session"\nsession_id = "${SID}"\n[writeback.fields]\nmilestone = "Stage__c"\n'
    )
    config = load_config(write(tmp_path, text), {"SID": "00Dxx!abc"})
    assert config.mapping.advocate.referred_by_property == "Referred_By__c"
    assert config.mapping.disqualify.lead_statuses == ["Closed - Not Converted"]
    spec = config.write_spec
    assert spec.name("milestone") == "Stage__c"
    assert spec.name("is_advocate") == "Is_Advocate__c"
    assert spec.person_objects == ("contact", "lead")
    assert "Referred_By__c" in spec.extra_properties


SF_TABLE = 'provider = "salesforce"\n[salesforce]\ninstance_url = "https://x.my.salesforce.com"\n'
SF_ENV = {"KEY": "3MVG9-consumer-key", "SECRET": "consumer-secret-value", "PW": "pw-value"}


def test_salesforce_auth_left_out_means_client_credentials(tmp_path: Path) -> None:
    text = SF_TABLE + 'consumer_key = "${KEY}"\nconsumer_secret = "${SECRET}"\n'
    config = load_config(write(tmp_path, text), SF_ENV)
    assert isinstance(config.salesforce, SalesforceClientCredentials)
    assert config.salesforce.auth == "client_credentials"
    assert config.salesforce.api_version == "68.0"


def test_salesforce_auth_left_out_asks_for_the_client_credentials(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, SF_TABLE + 'username = "u"\n'), SF_ENV)
    assert "salesforce.consumer_key: required key is missing" in caught.value.problems
    assert "salesforce.username: unknown key" in caught.value.problems


def test_an_existing_password_config_keeps_working(tmp_path: Path) -> None:
    text = SF_TABLE + 'auth = "password"\nusername = "u"\npassword = "${PW}"\n'
    config = load_config(write(tmp_path, text), SF_ENV)
    assert isinstance(config.salesforce, SalesforcePassword)
    # SOAP login() stays on the last version that offers it; data calls move on.
    assert config.salesforce.login_api_version == "64.0"
    assert config.salesforce.api_version == "68.0"


def test_cli_refuses_a_login_version_without_login(tmp_path: Path) -> None:
    text = SF_TABLE + 'auth = "password"\nusername = "u"\npassword = "${PW}"\n'
    path = write(tmp_path, text + 'login_api_version = "66.0"\n')
    done = subprocess.run(
        [sys.executable, "-m", "milestones", "--config", str(path), "check", "--offline"],
        capture_output=True,
        text=True,
        env={**SF_ENV, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 2
    assert "salesforce.login_api_version" in done.stderr
    assert SF_ENV["PW"] not in done.stdout + done.stderr


@pytest.mark.parametrize(("case", "text", "expected"), BAD, ids=[b[0] for b in BAD])
def test_malformed_config_names_the_key(
    tmp_path: Path, case: str, text: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), ENV)
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = GOOD_HUBSPOT + "[sync]\nlookback_seconds = -1\nlag_seconds = 'x'\n"
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), ENV)
    assert len(caught.value.problems) == 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", ENV)


def test_cli_exits_2_and_never_prints_a_secret(tmp_path: Path) -> None:
    text = GOOD_HUBSPOT + "[mapping.advocate]\nnps_min = 'nine'\n"
    path = write(tmp_path, text)
    done = subprocess.run(
        [sys.executable, "-m", "milestones", "--config", str(path), "check", "--offline"],
        capture_output=True,
        text=True,
        env={"TOKEN": ENV["TOKEN"], "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 2
    assert "mapping.advocate.nps_min" in done.stderr
    assert ENV["TOKEN"] not in done.stdout + done.stderr


def test_example_config_checks_with_dummy_env() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "milestones",
            "--config",
            str(ROOT / "config.example.toml"),
            "check",
            "--offline",
            "--json",
        ],
        capture_output=True,
        text=True,
        # PYTHONPATH passes on: the code under test is the one that reads the example
        env={
            "HUBSPOT_ACCESS_TOKEN": "dummy",
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        },
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"provider": "hubspot"' in done.stdout
