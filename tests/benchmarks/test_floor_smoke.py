"""The CPU floor benchmark at a few hundred contacts: every part measured, nothing asserted
on time but what holds by construction.

The floor is a part of what the worker does (the same requests, a smaller state, derive()
alone), so the worker can never spend less than it; and the library's share of the reads
and of the writes can never exceed the pull and the writes it is measured inside.
"""

from __future__ import annotations

import pytest
from benchmarks.floor import PARTS, markdown, parse_args, run_benchmark

CONTACTS = 300


@pytest.mark.parametrize("provider", ["salesforce", "hubspot"])
def test_floor_measures_every_part_below_the_worker(provider: str) -> None:
    result = run_benchmark(parse_args(["--provider", provider, "--contacts", str(CONTACTS)]))

    assert set(result["floor"]) == set(PARTS)
    assert all(seconds > 0 for seconds in result["floor"].values()), result["floor"]
    assert result["floor"]["library"] < result["worker"]["pull"]
    # The writes were sent: their calls' share is inside the replay's writes part.
    assert result["write_calls"] > 0
    assert result["floor"]["write_library"] < result["worker"]["writes"]
    assert result["floor_s"] < result["worker_s"]
    assert result["worker_over_floor"] > 1
    assert result["people_derived"] > 0 and result["calls"] > 0
    text = markdown(result)
    assert "**floor**" in text and f"{CONTACTS:,} contacts" in text
