"""Plays end to end: `milestones sync` creates each expected task once, through the real
client libraries against both sandboxes, keeps to the per-owner cap, closes (or leaves) a
task whose situation cleared, and creates nothing in a dry run or with no play enabled."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from e2e_support import Sandbox, settle

from milestones.store.sqlite import Store

PREFIX = "[milestones] "


def enable(box: Sandbox, plays: str) -> None:
    box.config.write_text(box.config.read_text() + plays)


def our_tasks(box: Sandbox) -> dict[int, object]:
    """The sandbox's tasks the worker created, by id."""
    with box.world.lock:
        return {t.id: t for t in box.world.iter("task") if (t.subject or "").startswith(PREFIX)}


def task_calls(box: Sandbox) -> int:
    endpoints: dict[str, int] = box.server.stats()["endpoints"]
    return sum(n for name, n in endpoints.items() if "task" in name.lower())


def open_rows(box: Sandbox) -> list[tuple[str, str, str | None, str]]:
    with Store(box.state) as store:
        return [(r.contact_id, r.play, r.task_id, r.status) for r in store.plays.open_rows()]


REACH = "[plays.reach_target]\nenabled = true\ndays = 0\n"


def test_each_task_is_created_once_and_a_second_sync_creates_none(sandbox: Sandbox) -> None:
    enable(sandbox, "[plays]\nmax_per_owner_per_day = 1000\n" + REACH)
    assert sandbox.run("sync") == 0
    created = our_tasks(sandbox)
    rows = open_rows(sandbox)
    assert created and len(rows) == len(created)
    people = Counter(contact for contact, _play, _task, _status in rows)
    assert max(people.values()) == 1  # one open task per person and play
    for task in created.values():
        assert task.owner_id is not None and len(task.contact_ids) == 1  # type: ignore[attr-defined]

    settle(sandbox)
    assert sandbox.run("sync") == 0
    assert our_tasks(sandbox).keys() == created.keys()


def test_the_per_owner_cap_holds(sandbox: Sandbox) -> None:
    enable(sandbox, "[plays]\nmax_per_owner_per_day = 2\n" + REACH)
    assert sandbox.run("sync") == 0
    per_owner = Counter(t.owner_id for t in our_tasks(sandbox).values())  # type: ignore[attr-defined]
    assert per_owner and max(per_owner.values()) == 2
    settle(sandbox)
    assert sandbox.run("sync") == 0  # the same day: the cap is spent
    again = Counter(t.owner_id for t in our_tasks(sandbox).values())  # type: ignore[attr-defined]
    assert again == per_owner


@pytest.mark.parametrize("on_clear", ["complete", "leave"])
def test_a_reply_clears_the_play_as_configured(sandbox: Sandbox, on_clear: str) -> None:
    enable(sandbox, f'[plays]\non_clear = "{on_clear}"\n' + REACH)
    assert sandbox.run("sync") == 0
    _contact, _play, task_id, _status = open_rows(sandbox)[0]
    with sandbox.world.lock:
        task = sandbox.world.get("task", _world_id(task_id))
        person = task.contact_ids[0]
    settle(sandbox)
    sandbox.world.add_inbound_email(person)
    settle(sandbox)
    assert sandbox.run("sync") == 0
    with sandbox.world.lock:
        status = sandbox.world.get("task", _world_id(task_id)).status
    with Store(sandbox.state) as store:
        statuses = {r.task_id: r.status for r in store.plays.open_rows()}
    if on_clear == "complete":
        assert status == "COMPLETED" and task_id not in statuses
    else:
        assert status == "NOT_STARTED" and statuses[task_id] == "left"


def test_a_dry_run_lists_and_creates_nothing(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    enable(sandbox, REACH)
    before = task_calls(sandbox)
    assert sandbox.run("sync", "--dry-run") == 0
    assert our_tasks(sandbox) == {} and task_calls(sandbox) == before
    assert open_rows(sandbox) == []


def test_no_play_enabled_means_no_task_call(sandbox: Sandbox) -> None:
    assert sandbox.run("sync") == 0
    assert task_calls(sandbox) == 0 and our_tasks(sandbox) == {}


def _world_id(task_id: str | None) -> int:
    """A HubSpot task id is the world id; a Salesforce one encodes it."""
    assert task_id is not None
    if task_id.isdigit():
        return int(task_id)
    from milestones.sandbox.salesforce.schema import id_number

    return id_number(task_id)


def test_dry_run_json_lists_the_tasks_and_plays_lists_the_open_ones(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    enable(sandbox, REACH)
    assert sandbox.run("sync", "--dry-run", "--json") == 0
    dry = json.loads(capsys.readouterr().out)["plays"]
    assert dry["plays_would_open"] == len(dry["would_open"]) > 0
    assert all(t["subject"].startswith(PREFIX) for t in dry["would_open"])
    assert our_tasks(sandbox) == {}

    assert sandbox.run("sync", "--json") == 0
    done = json.loads(capsys.readouterr().out)["plays"]
    assert {(t["person_id"], t["play"]) for t in done["opened"]} == {
        (t["person_id"], t["play"]) for t in dry["would_open"]
    }
    assert sandbox.run("plays", "--json") == 0
    listing = json.loads(capsys.readouterr().out)
    listed = [item["person_id"] for owner in listing["owners"] for item in owner["open"]]
    assert sorted(listed) == sorted(t["person_id"] for t in done["opened"])
    assert sandbox.run("plays") == 0
    assert "reach_target" in capsys.readouterr().out


def test_the_report_counts_plays_done_cleared_and_advanced(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    enable(sandbox, REACH)
    assert sandbox.run("sync") == 0
    rows = open_rows(sandbox)
    assert len(rows) >= 2
    (_c1, _p1, closed_by_owner, _s1), (_c2, _p2, replied, _s2) = rows[0], rows[1]
    settle(sandbox)
    sandbox.world.update("task", _world_id(closed_by_owner), {"status": "COMPLETED"})
    with sandbox.world.lock:
        person = sandbox.world.get("task", _world_id(replied)).contact_ids[0]
    sandbox.world.add_inbound_email(person)
    settle(sandbox)
    assert sandbox.run("sync") == 0
    capsys.readouterr()

    assert sandbox.run("report", "--json") == 0
    plays = json.loads(capsys.readouterr().out)["plays"]
    totals = Counter()
    for row in plays:
        totals.update({k: row[k] for k in ("opened", "open", "done", "cleared", "advanced")})
    assert totals["opened"] == len(rows)
    assert totals["done"] == 1 and totals["cleared"] == 1 and totals["advanced"] >= 1
    assert totals["open"] == len(rows) - 2
    assert sandbox.run("report") == 0
    assert "PLAYS: tasks opened per owner" in capsys.readouterr().out
    page = sandbox.config.parent / "report.html"
    assert sandbox.run("report", "--html", str(page)) == 0
    html = page.read_text(encoding="utf-8")
    assert '<h2 id="plays">' in html
    done = re.findall(r'data-key="plays\.[^"]+\.done">(\d+)<', html)
    assert sum(map(int, done)) == 1


def test_people_without_an_owner_get_no_task_and_are_counted(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    enable(sandbox, REACH)
    for person_id in sandbox.world.ids("person"):
        sandbox.world.update("person", person_id, {"owner_id": None})
    capsys.readouterr()
    assert sandbox.run("sync", "--json") == 0
    plays = json.loads(capsys.readouterr().out)["plays"]
    assert plays["plays_opened"] == 0 and plays["plays_no_owner"] > 0
    assert our_tasks(sandbox) == {}
