"""HubSpot's dated API, end to end: nothing uses a legacy path, and the portal's own
validation rules refuse single records without sinking their batch or being retried blindly.

The sandbox serves HubSpot 2026-09 with its legacy paths switched off (they answer as an
unknown route, and the sandbox counts every call by path family).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import Sandbox, start_sandbox


@pytest.fixture
def dated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    box = start_sandbox("hubspot", tmp_path, legacy_paths=False)
    for name, value in box.env.items():
        monkeypatch.setenv(name, value)
    try:
        yield box
    finally:
        box.server.stop()


def _json(box: Sandbox, capsys: pytest.CaptureFixture[str], *args: str) -> object:
    capsys.readouterr()
    assert box.run(*args, "--json") == 0
    return json.loads(capsys.readouterr().out)


def _families(box: Sandbox) -> dict[str, int]:
    families: dict[str, int] = box.server.stats()["families"]
    return families


def test_every_command_works_with_the_legacy_paths_switched_off(
    dated: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    box = dated
    assert box.run("fields", "--create") == 0
    assert box.run("sync", "--full") == 0
    people = [pid for pid in box.world.ids("person") if box.value("person", pid, "milestone")]
    assert people, "the full sync wrote milestones"
    target = next(p for p in people if box.value("person", p, "milestone") == "target")
    box.server.mutate("add_inbound_email", person_id=target)
    assert box.run("sync") == 0  # incremental: the reply makes a prospect
    assert box.value("person", target, "milestone") == "prospect"
    report = _json(box, capsys, "report")
    assert isinstance(report, dict) and report["overall"]
    explained = _json(box, capsys, "explain", str(target))
    assert isinstance(explained, dict) and explained["milestone"] == "prospect"
    assert box.run("stages") == 0 and box.run("check") == 0
    families = _families(box)
    assert families["legacy"] == 0, box.server.stats()["endpoints"]
    assert families["2026-09"] > 0


def test_a_portal_rule_refuses_one_record_and_the_rest_of_its_batch_is_written(
    dated: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    box = dated
    assert box.run("fields", "--create") == 0
    # The portal's admin allows only the first three milestones in sales_milestone.
    box.server.set_format_rule(  # type: ignore[attr-defined]
        "contacts", "sales_milestone", "REGEX", ["target|prospect|opportunity"]
    )
    assert box.run("sync") == 1  # finished, with record-level refusals
    refused_people = {
        pid
        for pid in box.world.ids("person")
        if box.value("person", pid, "milestone") is None
        and not box.world.get("person", pid).archived  # type: ignore[union-attr]
    }
    status = _json(box, capsys, "status")
    assert isinstance(status, dict)
    refusals = status["refusals"]
    assert status["writes_refused"] == len(refusals) > 0
    assert {int(r["record_id"]) for r in refusals} <= refused_people
    for row in refusals:
        assert row["status"] == "refused" and row["field"] == "sales_milestone"
        assert "REGEX" in row["message"]
    written = [
        p for p in box.world.ids("person") if box.value("person", p, "milestone") is not None
    ]
    assert len(written) > len(refusals)  # the rest of each batch landed
    one = refusals[0]["record_id"]
    explained = _json(box, capsys, "explain", one)
    assert isinstance(explained, dict)
    assert explained["pending_write"]["status"] == "refused"
    assert explained["pending_write"]["refused_field"] == "sales_milestone"
    text_status = _text(box, capsys, "status")
    assert "refused by the CRM's validation rule on sales_milestone" in text_status

    writes_before = box.write_calls()
    assert box.run("sync") == 0  # nothing changed: the refused writes wait, none is resent
    assert box.write_calls() == writes_before
    assert box.run("sync") == 0
    assert box.write_calls() == writes_before

    # The admin widens the rule: the next run reads the changed rules and sends them again.
    box.server.set_format_rule(  # type: ignore[attr-defined]
        "contacts", "sales_milestone", "REGEX", ["[a-z]+"]
    )
    assert box.run("sync") == 0
    assert box.value("person", int(one), "milestone") in ("client", "advocate")
    after = _json(box, capsys, "status")
    assert isinstance(after, dict) and after["writes_refused"] == 0
    assert _families(box)["legacy"] == 0


def _text(box: Sandbox, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert box.run(*args) == 0
    return capsys.readouterr().out
