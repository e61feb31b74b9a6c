"""A HubSpot contact merge, end to end: two people are merged through hubspot-api-client's
``basic_api.merge`` (HubSpot makes a new record with a new id), and the next ``milestones
sync`` gives the new record the higher milestone, each milestone at its earlier date and both
ledgers, while the two old ids become tombstones with no writes left to send or fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import Sandbox, start_sandbox
from hubspot import HubSpot
from hubspot.crm.contacts import PublicMergeInput
from urllib3.util.retry import Retry

from milestones.mapping.records import Milestone
from milestones.store.sqlite import Store


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    sandbox = start_sandbox("hubspot", tmp_path)
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    assert sandbox.run("fields", "--create") == 0
    yield sandbox
    sandbox.server.stop()


def _ledgers(box: Sandbox) -> dict[str, dict[str, str]]:
    """Each person's ledger: milestone label -> date reached."""
    with Store(box.state) as store:
        rows = store.db.execute(
            "SELECT record_id, to_milestone, reached_on FROM ledger WHERE record_kind = 'contact'"
        ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for rid, to, on in rows:
        out.setdefault(str(rid), {})[str(to)] = str(on)
    return out


def _pick_pair(ledgers: dict[str, dict[str, str]]) -> tuple[str, str]:
    """The person with the highest milestone, and another who reached a milestone earlier
    than it did (so that the union differs from either ledger alone)."""
    order = [m.label for m in Milestone]
    by_rank = sorted(ledgers, key=lambda r: (-max(order.index(t) for t in ledgers[r]), r))
    high = by_rank[0]
    for other in by_rank[1:]:
        common = set(ledgers[high]) & set(ledgers[other])
        if any(ledgers[other][m] < ledgers[high][m] for m in common):
            return high, other
    raise AssertionError("the seeded world has no pair with an earlier shared milestone")


def test_a_merge_gives_the_new_record_both_histories_and_leaves_no_failed_writes(
    box: Sandbox,
) -> None:
    assert box.run("sync") == 0
    before = _ledgers(box)
    high, other = _pick_pair(before)
    union = dict(before[other])
    for milestone, on in before[high].items():
        union[milestone] = min(on, union.get(milestone, on))
    top = max((Milestone.parse(m) for m in union), key=int)

    sdk = HubSpot(access_token=box.server.token, host=box.server.url, retry=Retry(total=0))
    # The lower one is primary: the new record starts with its (lower) written values.
    merged = sdk.crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id=other, object_id_to_merge=high)
    )
    new_id = str(merged.id)

    assert box.run("sync") == 0
    after = _ledgers(box)
    assert after[new_id] == union
    assert high not in after and other not in after  # moved: the report counts them once
    with Store(box.state) as store:
        gone = store.db.execute(
            "SELECT id, is_deleted, derived FROM contacts WHERE id IN (?, ?)", (high, other)
        ).fetchall()
        writes = store.db.execute(
            "SELECT count(*) FROM writes WHERE record_id IN (?, ?, ?)",
            (high, other, new_id),
        ).fetchone()[0]
        derived = json.loads(
            store.db.execute("SELECT derived FROM contacts WHERE id = ?", (new_id,)).fetchone()[0]
        )
    assert sorted((str(r[0]), r[1], r[2]) for r in gone) == sorted(
        [(high, 1, None), (other, 1, None)]
    )
    assert writes == 0
    assert derived[0] == int(top)
    assert box.value("person", int(new_id), "milestone") == top.label
    assert box.value("person", int(new_id), "milestone_date") == union[top.label]

    calls = box.write_calls()
    assert box.run("sync") == 0
    assert box.write_calls() == calls  # nothing left to send, nothing failed to retry
