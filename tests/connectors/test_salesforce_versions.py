"""End of support of the Salesforce APIs the worker speaks, on explicit dates."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
from sf_fixtures import HOST, password_settings, session_settings

from milestones.connectors.salesforce.settings import SalesforceClientCredentials
from milestones.connectors.salesforce.versions import api_support


def client_credentials(**overrides: str) -> SalesforceClientCredentials:
    return SalesforceClientCredentials(
        instance_url=HOST, consumer_key="key", consumer_secret="secret", **overrides
    )


def test_the_default_config_speaks_one_api_with_no_end_announced() -> None:
    (data,) = api_support(client_credentials())
    assert data.api == "the REST API v68.0"
    assert data.ends is None and data.warn_days == 365
    assert not data.is_due(date(2030, 1, 1))
    assert data.warning(date(2026, 12, 6)) == (
        "salesforce: the REST API v68.0 has no announced end of support"
    )


def test_password_mode_also_speaks_soap_login_until_summer_27() -> None:
    data, login = api_support(password_settings())
    assert data.ends is None
    assert login.api == 'SOAP login() (auth = "password", API 64.0)'
    assert login.ends == date(2027, 6, 1) and login.warn_days == 365
    assert "client_credentials" in login.next_step
    assert "release, not the day" in login.source and "vantagepoint.io" in login.source
    assert login.days_left(date(2026, 12, 6)) == 177
    assert not login.is_due(date(2026, 5, 31))  # 366 days before
    assert login.is_due(date(2026, 6, 1))  # 365 days before: within a year
    assert login.warning(date(2026, 12, 6)) == (
        'salesforce: support for SOAP login() (auth = "password", API 64.0) ends on '
        '2027-06-01 (177 days); move to auth = "client_credentials" with an External Client '
        'App (README.md, "Quick start: Salesforce")'
    )
    assert login.warning(date(2027, 6, 2)).endswith(
        'ended on 2027-06-01; move to auth = "client_credentials" with an External Client '
        'App (README.md, "Quick start: Salesforce")'
    )


def test_a_session_config_speaks_no_login() -> None:
    assert [entry.api for entry in api_support(session_settings())] == ["the REST API v68.0"]


@pytest.mark.parametrize(
    ("version", "ends"),
    [
        ("21.0", date(2025, 6, 1)),
        ("30.0", date(2025, 6, 1)),
        ("31.0", date(2028, 6, 1)),
        ("40.0", date(2028, 6, 1)),
        ("41.0", None),
        ("62.0", None),
        ("68.0", None),
    ],
)
def test_data_api_versions_end_as_announced(version: str, ends: date | None) -> None:
    (data,) = api_support(client_credentials(api_version=version))
    assert data.ends == ends
    if ends is not None:
        assert data.next_step == 'set api_version = "68.0" in [salesforce] (the tested version)'


def test_a_deprecated_version_warns_within_a_year_of_retirement() -> None:
    (data,) = api_support(client_credentials(api_version="38.0"))
    assert "deprecated in Summer '27 and retired in Summer '28" in data.source
    assert not data.is_due(date(2027, 6, 1))  # 366 days before
    assert data.is_due(date(2027, 6, 2))
    assert data.warning(date(2027, 6, 2)).startswith(
        "salesforce: support for the REST API v38.0 ends on 2028-06-01 (365 days)"
    )


def test_a_retired_version_is_past_its_end() -> None:
    (data,) = api_support(client_credentials(api_version="30.0"))
    assert data.days_left(date(2026, 12, 6)) == -553
    assert data.is_due(date(2026, 12, 6))
    assert "ended on 2025-06-01" in data.warning(date(2026, 12, 6))
    assert "410" in data.source


def test_it_loads_no_client_library() -> None:
    code = (
        "import sys, milestones.connectors.salesforce.versions; "
        "assert 'simple_salesforce' not in sys.modules and 'requests' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
