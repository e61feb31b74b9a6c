"""Each API the worker speaks, its end of support, and the warnings `check` and runs give.

The clock is injected: ``check --as-of DATE`` judges as on that day, and
``warn_of_retiring_apis`` takes the day it runs on.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from milestones.cli.main import cli, main
from milestones.config.settings import load_config
from milestones.connectors.hubspot.versions import DEFAULT_VERSION, Paths, api_support
from milestones.sync.factory import warn_of_retiring_apis

ENV = {"TOKEN": "pat-na1-secret"}


def _config(tmp_path: Path, version: str | None) -> Path:
    line = "" if version is None else f'api_version = "{version}"\n'
    path = tmp_path / "milestones.toml"
    path.write_text(
        f'provider = "hubspot"\n[hubspot]\naccess_token = "${{TOKEN}}"\n{line}'
        f'[state]\npath = "{tmp_path / "state.db"}"\n',
        encoding="utf-8",
    )
    return path


def _check(path: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.setenv("TOKEN", ENV["TOKEN"])
    return CliRunner().invoke(cli, ["--config", str(path), "check", "--offline", *args])


def test_the_default_is_the_newest_dated_version_and_every_path_carries_it() -> None:
    paths = Paths(DEFAULT_VERSION)
    assert DEFAULT_VERSION == "2026-09"
    assert paths.search("contacts") == "/crm/objects/2026-09/contacts/search"
    assert paths.associations("deals", "contacts") == (
        "/crm/associations/2026-09/deals/contacts/batch/read"
    )
    assert paths.pipelines("deals") == "/crm/pipelines/2026-09/deals"
    assert paths.group("deals", "milestones") == "/crm/properties/2026-09/deals/groups/milestones"
    legacy = Paths("legacy")
    assert legacy.batch_update("contacts") == "/crm/v3/objects/contacts/batch/update"
    assert (
        legacy.associations("deals", "contacts") == "/crm/v4/associations/deals/contacts/batch/read"
    )
    assert legacy.property_validations("0-1") is None


@pytest.mark.parametrize(
    ("version", "today", "warns"),
    [
        ("legacy", "2026-12-06", False),  # v4 ends 2027-03-30: 114 days away
        ("legacy", "2026-12-31", True),  # 89 days
        ("legacy", "2027-04-02", True),  # past its end: still said, every time
        ("2026-09", "2027-12-08", False),  # ends 2028-03-08: 91 days away
        ("2026-09", "2027-12-09", True),  # 90 days: inside the window
    ],
)
def test_check_shows_the_end_of_support_and_warns_inside_90_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, today: str, warns: bool
) -> None:
    done = _check(_config(tmp_path, version), "--as-of", today, "--json", monkeypatch=monkeypatch)
    assert done.exit_code == 0, done.output
    [api] = json.loads(done.output)["apis"]
    ends = {"legacy": "2027-03-30", "2026-09": "2028-03-08"}[version]
    assert api["ends"] == ends
    assert api["days_left"] == (date.fromisoformat(ends) - date.fromisoformat(today)).days
    assert (api["warning"] is not None) == warns
    text = _check(_config(tmp_path, version), "--as-of", today, monkeypatch=monkeypatch).output
    assert f"supported until {ends}" in text
    assert ("warning" in text) == (api["warning"] is not None)
    if api["warning"]:
        assert "api_version" in api["warning"]  # says what to change


def test_a_run_logs_one_warning_line_per_retiring_api(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(_config(tmp_path, "legacy"), ENV)
    with caplog.at_level(logging.WARNING, logger="milestones.sync"):
        assert warn_of_retiring_apis(config, date(2026, 12, 6)) == []
        assert caplog.records == []
        due = warn_of_retiring_apis(config, date(2027, 3, 1))
    assert [d.api for d in due] == ["CRM API legacy paths (v3, v4 associations)"]
    [line] = [r.getMessage() for r in caplog.records]
    assert "2027-03-30 (29 days)" in line and 'api_version = "2026-09"' in line


def test_an_unknown_version_is_a_config_error_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOKEN", ENV["TOKEN"])
    path = _config(tmp_path, "2026-10")
    with pytest.raises(SystemExit) as stopped:
        main(["--config", str(path), "check", "--offline"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "hubspot.api_version" in err and '"2026-09"' in err


def test_the_support_table_names_its_sources() -> None:
    for version in ("legacy", DEFAULT_VERSION):
        [support] = api_support(version)
        assert support.source and support.ends is not None and support.warn_days == 90


def test_no_numbered_hubspot_path_outside_the_versions_table() -> None:
    import milestones

    src = Path(milestones.__file__).parent
    versions = src / "connectors" / "hubspot" / "versions.py"
    found = [
        f"{path.relative_to(src)}:{number}"
        for path in sorted(src.rglob("*.py"))
        if path != versions and "sandbox" not in path.relative_to(src).parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"/v[1-4]/", line)
    ]
    assert not found, f"HubSpot paths are built in versions.py only: {found}"


def test_check_warns_of_the_salesforce_soap_login_retirement_within_a_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "milestones.toml"
    path.write_text(
        'provider = "salesforce"\n[salesforce]\ninstance_url = "https://acme.my.salesforce.com"\n'
        'auth = "password"\nusername = "sync@acme.example"\npassword = "${TOKEN}"\n'
        f'security_token = "${{TOKEN}}"\n[state]\npath = "{tmp_path / "state.db"}"\n',
        encoding="utf-8",
    )
    done = _check(path, "--as-of", "2026-12-06", "--json", monkeypatch=monkeypatch)
    assert done.exit_code == 0, done.output
    apis = {api["api"]: api for api in json.loads(done.output)["apis"]}
    [login] = [api for name, api in apis.items() if "login" in name.lower()]
    assert login["ends"] == "2027-06-01" and login["days_left"] == 177
    assert "client_credentials" in login["warning"]
    [data] = [api for name, api in apis.items() if "login" not in name.lower()]
    assert data["ends"] is None and data["warning"] is None  # 68.0: no retirement announced
