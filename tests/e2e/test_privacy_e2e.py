"""Privacy end to end, for both CRMs: what the CRM forgets and what `forget` erases is gone
from the state file's bytes (free pages included), its backups and its exports."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from e2e_support import Sandbox, settle, start_sandbox

from milestones.config.settings import load_config
from milestones.report.build import report_from_state
from milestones.report.model import View
from milestones.store.backup import list_state_copies
from milestones.store.sqlite import Store


def _files(box: Sandbox) -> list[Path]:
    """The state file and every copy beside it (the WAL is gone once the store is closed)."""
    return [box.state, *(c.path for c in list_state_copies(box.state))]


def _traces(box: Sandbox, email: str, last: str) -> list[str]:
    """Files whose bytes still hold the email address or the (JSON-quoted) last name."""
    found = []
    for path in _files(box):
        raw = path.read_bytes()
        if email.encode() in raw or f'"{last}"'.encode() in raw:
            found.append(path.name)
    return found


def _someone_with_history(box: Sandbox) -> tuple[int, str, str]:
    """A synced live person past target, given a last name nobody else has, synced again."""
    with box.world.lock:
        people = [box.world.get("person", pid) for pid in box.world.ids("person")]
    emails = Counter((p.email or "").strip().lower() for p in people)
    for p in people:
        if p.archived or not p.email or emails[p.email.strip().lower()] > 1 or p.is_lead_only:
            continue
        if box.value("person", p.id, "milestone") not in (None, "target"):
            last = f"Quillfeather{p.id}"
            box.world.update("person", p.id, {"last_name": last})
            settle(box)
            assert box.run("sync") == 0
            return p.id, p.email, last
    raise AssertionError("no person past target with a unique email")


def _state_ids(box: Sandbox, email: str) -> list[str]:
    with Store(box.state) as store:
        return store.privacy.ids_with_email(email)


def test_a_person_deleted_in_the_crm_leaves_no_trace_after_a_full_sync(sandbox: Sandbox) -> None:
    box = sandbox
    assert box.run("sync") == 0
    pid, email, last = _someone_with_history(box)
    (rid,) = _state_ids(box, email)
    assert box.run("state", "export") == 0
    assert box.run("state", "backup") == 0
    assert _traces(box, email, last) == [box.state.name, _backups(box)[0]]  # the newest one
    reached_before = _reached(box)
    box.world.delete("person", pid)  # a GDPR deletion: no recycle bin
    assert box.run("sync", "--full") == 0
    assert _traces(box, email, last) == []
    with Store(box.state) as store:
        history = store.ledger.of(rid)
    assert history and all(e.evidence is None for e in history)  # transitions stay, anonymous
    overall = _overall(box)
    assert overall.gone_people == 1  # the report still counts their past transitions
    assert [step.reached for step in overall.funnel] == reached_before


def _overall(box: Sandbox) -> View:
    rules = load_config(box.config).mapping
    return report_from_state(box.state, rules, datetime.now(UTC)).overall


def _reached(box: Sandbox) -> list[int]:
    return [step.reached for step in _overall(box).funnel]


def _backups(box: Sandbox) -> list[str]:
    return [c.path.name for c in list_state_copies(box.state, "backup")]


def test_forget_erases_a_live_person_and_keeps_them_out(sandbox: Sandbox) -> None:
    box = sandbox
    assert box.run("sync") == 0
    _pid, email, last = _someone_with_history(box)
    (rid,) = _state_ids(box, email)
    assert box.run("state", "backup") == 0
    assert box.run("forget", "--email", email) == 0
    assert _traces(box, email, last) == []
    assert box.run("forget", "--email", email) == 0  # idempotent
    assert box.run("sync", "--full") == 0
    assert _traces(box, email, last) == []  # still in the CRM, not brought back
    assert box.run("forget", "--id", rid, "--allow-resync") == 0
    assert box.run("sync", "--full") == 0
    assert _state_ids(box, email) == [rid]
    assert _traces(box, email, last) == [box.state.name]


def test_a_merged_away_hubspot_contact_keeps_nothing_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = start_sandbox("hubspot", tmp_path)
    try:
        for name, value in box.env.items():
            monkeypatch.setenv(name, value)
        assert box.run("fields", "--create") == 0
        assert box.run("sync") == 0
        merged, email, last = _someone_with_history(box)
        survivor = next(p for p in box.world.ids("person") if p != merged)
        box.world.merge(survivor, merged)
        assert box.run("sync", "--full") == 0
        assert _traces(box, email, last) == []
    finally:
        box.server.stop()


EMAIL = re.compile(rb"[\w.+-]+@[\w-]+\.[\w.]+")


def test_sync_logs_name_no_one(sandbox: Sandbox) -> None:
    box = sandbox
    with box.world.lock:
        people = [box.world.get("person", pid) for pid in box.world.ids("person")]
    box.world.delete("person", people[3].id)
    names = {f"{p.first_name} {p.last_name}" for p in people if p.first_name and p.last_name}
    for form in ("text", "json"):
        done = box.spawn("-v", "--log-format", form, "sync", "--full")
        assert done.returncode == 0, done.stderr[-2000:]
        out = (done.stdout + done.stderr).encode()
        assert not EMAIL.findall(out), EMAIL.findall(out)[:5]
        assert not [n for n in names if n.encode() in out]
