"""``[likelihood] writeback = true`` against both sandboxes, through the real client libraries.

``fields --create`` makes the field (a HubSpot number property, a Salesforce Percent field),
the first sync writes each waiting person's band, a rerun with no CRM change writes nothing,
and time passing rewrites exactly the records whose band moved.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from e2e_support import Sandbox, start_sandbox

from milestones.config.settings import load_config
from milestones.report.likelihood.build import person_bands
from milestones.store.sqlite import Store
from milestones.sync.engine import Engine
from milestones.sync.factory import build_connector
from milestones.sync.run import RunOptions

MIN_SAMPLE = 5


@pytest.fixture(params=["hubspot", "salesforce"])
def box(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sandbox]:
    sandbox = start_sandbox(request.param, tmp_path)
    with sandbox.config.open("a") as config:
        config.write(f"[likelihood]\nwriteback = true\nmin_sample = {MIN_SAMPLE}\n")
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    try:
        yield sandbox
    finally:
        sandbox.server.stop()


def _sync_at(box: Sandbox, now: datetime) -> int:
    """One sync with the clock at ``now``; the records it wrote."""
    config = load_config(box.config)
    connector = build_connector(config)
    try:
        with Store(box.state) as store:
            engine = Engine(
                store,
                connector,
                config.mapping,
                config.write_spec.names,
                lag=timedelta(0),
                clock=lambda: now,
                objects=(*config.write_spec.person_objects, "deal"),
                bands=lambda s, day: person_bands(s, day, MIN_SAMPLE),
            )
            report = engine.run(RunOptions())
    finally:
        connector.close()
    assert report.outcome in (None, "ok"), report.detail
    return int(report.figures["written"])


def _bands(box: Sandbox, now: datetime) -> dict[str, str]:
    with Store(box.state, read_only=True) as store:
        return person_bands(store, now.date(), MIN_SAMPLE)


def _field(box: Sandbox) -> str:
    return load_config(box.config).write_spec.names["next_milestone_likelihood"]


def _crm_bands(box: Sandbox) -> list[str]:
    name = _field(box)
    return [
        str(round(float(str(values[name]))))
        for kind, values in _extras(box)
        if kind == "person" and values.get(name) is not None
    ]


def _extras(box: Sandbox) -> list[tuple[str, dict[str, object]]]:
    with box.world.lock:
        return [
            (kind, dict(record.extra or {}))
            for kind in ("person",)
            for rid in box.world.ids(kind)
            if (record := box.world.get(kind, rid)) is not None
        ]


def test_bands_are_written_once_and_move_only_when_they_change(box: Sandbox) -> None:
    assert box.run("fields", "--create") == 0
    assert _field(box) in {
        "next_milestone_likelihood",
        "Next_Milestone_Likelihood__c",
    }
    now = datetime.now(UTC)
    assert box.run("sync") == 0
    bands = _bands(box, now)
    assert len(bands) > 50 and {b for b in bands.values()} <= {str(n) for n in range(0, 101, 10)}
    assert sorted(_crm_bands(box)) == sorted(bands.values())

    calls = box.write_calls()
    assert _sync_at(box, now) == 0  # no CRM change, same day: nothing written
    assert box.write_calls() == calls

    for later in (now + timedelta(days=1), now + timedelta(days=120)):
        before, after = _bands(box, now), _bands(box, later)
        moved = {pid for pid in {*before, *after} if before.get(pid) != after.get(pid)}
        written = _sync_at(box, later)
        assert written == len(moved), later
        assert sorted(_crm_bands(box)) == sorted(_bands(box, later).values())
        now = later
    assert written > 0  # four months on, waiting people's chances have fallen a band or more
