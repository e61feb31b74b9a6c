"""The fleet benchmark, small: workers sharing a machine spend no call above each org's floor.

Three orgs (two HubSpot, one Salesforce) of 60 contacts, two workers at a time, rate limits
off. Call counts are deterministic and checked; wall times are printed by the benchmark and
never asserted.
"""

from __future__ import annotations

import pytest
from benchmarks.fleet import parse_args, run_benchmark

# Salesforce calls that read no page and write no batch: the first run's describe of its
# objects, one Composite call (as in test_smoke.py); later runs keep it beside the state.
SALESFORCE_METADATA_CALLS = {"full": 1, "incremental": 0}


@pytest.mark.slow
def test_every_org_sits_on_its_floor_while_sharing_the_machine() -> None:
    args = parse_args(
        ["--orgs", "3", "--contacts", "60", "--parallel", "2", "--rate-limits", "off", "--no-save"]
    )
    result = run_benchmark(args)
    assert [r["round"] for r in result["rounds"]] == ["full", "incremental"]
    for round_ in result["rounds"]:
        assert len(round_["orgs"]) == 3
        for org in round_["orgs"]:
            if org["provider"] == "hubspot":
                assert org["calls"] == org["floor"], (round_["round"], org)
            else:
                extra = SALESFORCE_METADATA_CALLS[round_["round"]]
                assert org["floor"] <= org["calls"] <= org["floor"] + extra, (round_["round"], org)
        if round_["round"] == "full":
            assert all(org["write_calls"] > 0 for org in round_["orgs"])
