"""The replay benchmark at a few hundred contacts: every part measured, nothing asserted on time.

It checks what the figures stand on: the pull read every record and deletion the sandbox
holds, the sandbox served from threads other than the pulling one (its CPU is not in the
pull's figure), every part has a figure, and the replays left the same state each time.
"""

from __future__ import annotations

import pytest
from benchmarks.replay import PARTS, markdown, parse_args, run_benchmark

CONTACTS = 300


@pytest.mark.parametrize("provider", ["salesforce", "hubspot"])
def test_replay_measures_every_part(provider: str) -> None:
    args = parse_args(
        ["--provider", provider, "--contacts", str(CONTACTS), "--repeat", "2", "--no-save"]
    )
    result = run_benchmark(args)

    pull = result["pull"]
    assert pull["rows"] == [pull["held_rows"]] * 2 and pull["held_rows"] > CONTACTS
    assert min(pull["calls"]) > 0
    assert pull["server_cpu_s"] > 0  # the sandbox's work ran on its own threads
    # The requests' share is inside the pull's CPU, and is not all of it (records are made).
    assert 0 < pull["library_cpu_s"] < result["phases"]["pull"]
    assert set(result["phases"]) == set(PARTS)
    for repeat in result["repeats"]:
        assert all(seconds >= 0 for seconds in repeat["seconds"].values()), repeat
    assert result["phases"]["pull"] > 0 and result["phases"]["store"] > 0
    assert len(result["state_hashes"]) == 2
    assert len(set(result["state_hashes"])) == 1, result["state_hashes"]
    assert "Replay: " + provider in markdown(result)
