"""The sync benchmark at 1,000 contacts: API calls against the floor, for both CRMs.

Call counts are deterministic (the worker paces itself, so no run meets a 429 here), so
they are checked against the goals of benchmarks/README.md, and against the previous
release's calls kept in benchmarks/baseline.json for this very set-up: a regression fails
here as a ratio. Wall time, CPU and memory are not: they are measured and printed by the
benchmark, never asserted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from benchmarks.sync import markdown, parse_args, run_benchmark

CONTACTS = 1_000
# What a run may spend beside its floor: a small org stays within 2 calls of it. The one
# Salesforce call is the first run's describe of its objects (one Composite call); later
# runs read the describe cache beside the state.
FULL_EXCESS = {"hubspot": 0, "salesforce": 1}
# A run with no CRM change: one changed-records query per type (HubSpot: a search each for
# contacts, deals, emails, calls, meetings, notes) or per sObject (Salesforce: Contact, Lead,
# Opportunity, OpportunityContactRole, Task, Event, EmailMessage), and nothing else.
IDLE_CALLS = {"hubspot": 6, "salesforce": 7}


def bench(provider: str, tmp_path: Path) -> dict[str, Any]:
    options = ["--provider", provider, "--contacts", str(CONTACTS), "--rate-limits", "off"]
    args = parse_args([*options, "--out", str(tmp_path), "--no-save"])
    return run_benchmark(args)


def runs_by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    named = {}
    for run in result["runs"]:
        named.setdefault(run["run"], run)  # the first of the two reruns: after the full sync
    return named


def check_calls(provider: str, result: dict[str, Any]) -> None:
    runs = runs_by_name(result)
    assert result["world"]["people"] >= 0.9 * CONTACTS
    full = runs["full"]
    assert full["floor"] <= full["calls"] <= full["floor"] + FULL_EXCESS[provider], full
    assert full["write_calls"] == full["write_floor"] > 0
    for name in ("incremental", "rerun", "idle"):  # minutes apart: no metadata read at all
        assert runs[name]["calls"] == runs[name]["floor"], (name, runs[name]["endpoints"])
    assert runs["idle"]["calls"] == IDLE_CALLS[provider], runs["idle"]["endpoints"]
    assert runs["incremental"]["changed_contacts"] == int(result["world"]["people"] * 0.01)
    for run in result["runs"]:
        assert run["rate_limited"] == 0, run["run"]
        if run["run"] in ("rerun", "idle"):
            assert run["write_calls"] == 0, run["run"]


def owner_list_calls(run: dict[str, Any]) -> int:
    """The day's owner-names read (HubSpot's owners API), which the previous release lacked."""
    return sum(n for name, n in run["endpoints"].items() if "/owners" in name)


def check_against_the_previous_release(result: dict[str, Any]) -> None:
    """No run spends more calls than the previous release's worker did on the same world,
    beside the owner names it did not read."""
    assert "baseline" in result, "no previous release's figures for this set-up"
    for run in result["runs"]:
        calls = run["calls"] - owner_list_calls(run)
        assert calls <= run["baseline_calls"], (run["run"], run["endpoints"])
        assert calls / run["floor"] <= run["baseline_calls_per_floor"] + 0.001, run["run"]
    idle = result["runs"][-1]
    assert idle["calls"] < idle["baseline_calls"]  # the fixed overhead per run is gone
    assert "calls / " in markdown(result)  # the side-by-side table is printed


@pytest.mark.slow
def test_hubspot_runs_sit_on_the_call_floor(tmp_path: Path) -> None:
    result = bench("hubspot", tmp_path)
    check_calls("hubspot", result)
    check_against_the_previous_release(result)


@pytest.mark.slow
def test_salesforce_runs_sit_on_the_call_floor(tmp_path: Path) -> None:
    result = bench("salesforce", tmp_path)
    check_calls("salesforce", result)
    check_against_the_previous_release(result)
