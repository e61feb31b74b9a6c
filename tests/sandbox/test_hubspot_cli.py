"""``milestones sandbox`` prints what a user needs, serves, and stops on Ctrl-C."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from milestones.sandbox import cli

Probe = Callable[[Any], None]


def serve_once(
    monkeypatch: pytest.MonkeyPatch, args: list[str], probe: Probe
) -> tuple[Result, Any]:
    """``milestones sandbox ARGS``: ``probe`` meets the server in its first second of serving,
    then Ctrl-C. The command's result, and the server it started."""
    seen: dict[str, Any] = {}
    start = cli._start_hubspot

    def spy(*start_args: Any) -> tuple[Any, list[str]]:
        seen["server"], lines = start(*start_args)
        return seen["server"], lines

    def interrupt(_: float) -> None:
        probe(seen["server"])
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.gc, "freeze", lambda: None)  # keep the test process collectable
    monkeypatch.setattr(cli, "_start_hubspot", spy)
    monkeypatch.setattr(cli.time, "sleep", interrupt)
    return CliRunner().invoke(cli.sandbox, args), seen["server"]


def get(server: Any, path: str) -> Any:
    """GET ``path`` on the sandbox with its token: the answer, or the HTTP error raised."""
    req = urllib.request.Request(
        server.url + path, headers={"Authorization": "Bearer pat-sandbox-0000"}
    )
    try:
        return urllib.request.urlopen(req)
    except urllib.error.HTTPError as exc:
        return exc


def test_sandbox_command_serves_until_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def probe(server: Any) -> None:
        seen["page"] = json.load(get(server, "/crm/v3/objects/contacts?limit=2"))

    result, server = serve_once(monkeypatch, ["--contacts", "60", "--faults", "seed=1"], probe)
    assert result.exit_code == 0, result.output
    assert f'base_url = "{server.url}"' in result.output
    assert "export HUBSPOT_ACCESS_TOKEN=pat-sandbox-0000" in result.output
    assert "stopping" in result.output and len(seen["page"]["results"]) == 2
    assert server._httpd is None  # stopped


def test_bad_fault_spec_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli.sandbox, ["--faults", "429=7"])
    assert result.exit_code == 2 and "--faults" in result.output


def test_no_legacy_paths_serves_only_the_dated_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, int] = {}

    def probe(server: Any) -> None:
        seen["dated"] = get(server, "/crm/objects/2026-09/contacts?limit=2").status
        seen["legacy"] = get(server, "/crm/v3/objects/contacts?limit=2").code

    result, server = serve_once(monkeypatch, ["--contacts", "60", "--no-legacy-paths"], probe)
    assert result.exit_code == 0, result.output
    assert "paths:    2026-09 only" in result.output
    assert (seen["dated"], seen["legacy"]) == (200, 404)
    assert server.stats()["families"]["legacy"] == 1


def test_tier_serves_that_portals_rate_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def probe(server: Any) -> None:
        seen["headers"] = get(server, "/crm/v3/objects/contacts?limit=1").headers

    result, _ = serve_once(monkeypatch, ["--contacts", "60", "--tier", "professional"], probe)
    assert result.exit_code == 0, result.output
    assert "portal:   professional, 190 calls per 10 s, 19 a second, 625,000 a day" in result.output
    assert seen["headers"]["X-HubSpot-RateLimit-Max"] == "190"


def test_the_cli_offers_every_tier_the_server_plays() -> None:
    from milestones.sandbox.hubspot.api import TIERS

    assert tuple(TIERS) == cli.HUBSPOT_TIERS


def test_tier_is_for_hubspot_only() -> None:
    result = CliRunner().invoke(cli.sandbox, ["--provider", "salesforce", "--tier", "enterprise"])
    assert result.exit_code == 2 and "--tier" in result.output


def test_no_legacy_paths_is_for_hubspot_only() -> None:
    result = CliRunner().invoke(cli.sandbox, ["--provider", "salesforce", "--no-legacy-paths"])
    assert result.exit_code == 2 and "--no-legacy-paths" in result.output


def test_every_sandbox_option_has_a_help_text() -> None:
    for param in cli.sandbox.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"sandbox {param.opts[0]} has no help text"


def test_known_rates_serves_the_known_rates_world(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict = {}
    start = cli._start_hubspot

    def spy(*args: object):
        seen["server"], lines = start(*args)
        return seen["server"], lines

    def interrupt(_: float) -> None:
        url = f"{seen['server'].url}/crm/v3/pipelines/deals"
        req = urllib.request.Request(url, headers={"Authorization": "Bearer pat-sandbox-0000"})
        seen["pipelines"] = json.load(urllib.request.urlopen(req))
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.gc, "freeze", lambda: None)
    monkeypatch.setattr(cli, "_start_hubspot", spy)
    monkeypatch.setattr(cli.time, "sleep", interrupt)
    result = CliRunner().invoke(cli.sandbox, ["--contacts", "80", "--known-rates"])
    assert result.exit_code == 0, result.output
    assert "80 people at known rates (seed 7)" in result.output
    assert "reached" in seen["server"].world.meta["known_rates"]
    stages = {
        s["id"]: s["metadata"]["probability"]
        for p in seen["pipelines"]["results"]
        for s in p["stages"]
    }
    assert stages["appointmentscheduled"] == "0.5"  # the admin's guess (the default is 0.2)
