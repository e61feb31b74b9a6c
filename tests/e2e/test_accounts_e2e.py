"""The account roll-up against both sandbox CRMs, through the real client libraries.

Results are read from the sandbox's own company / Account records: the account fields must
hold the furthest milestone the company's people hold in the CRM, a rerun must write
nothing, and a reply moves the account in the next incremental run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import Sandbox, settle, start_sandbox

from milestones.config.settings import ACCOUNT_FIELD_NAMES
from milestones.mapping.records import Milestone
from milestones.sandbox.salesforce.schema import id_number, sf_id
from milestones.sandbox.world.records import kind_of
from milestones.store.sqlite import Store


@pytest.fixture(params=["hubspot", "salesforce"])
def box(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sandbox]:
    """A fresh sandbox with ``[accounts] enabled = true`` and every field created."""
    sandbox = start_sandbox(request.param, tmp_path)
    sandbox.config.write_text(sandbox.config.read_text() + "[accounts]\nenabled = true\n")
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    try:
        assert sandbox.run("fields", "--create") == 0
        yield sandbox
    finally:
        sandbox.server.stop()


def account_value(box: Sandbox, company_id: int, key: str) -> object:
    name = ACCOUNT_FIELD_NAMES[box.provider][key]  # type: ignore[index]
    with box.world.lock:
        company = box.world.get("company", company_id)
        return (company.extra or {}).get(name)


def people_levels(box: Sandbox, company_id: int) -> list[Milestone]:
    """The milestones the CRM holds for the company's people who count for it there."""
    levels = []
    with box.world.lock:
        for pid in box.world.people_of_company(company_id):
            person = box.world.get("person", pid)
            if person.archived or (box.provider == "salesforce" and person.is_lead_only):
                continue  # an unconverted Lead has no Account in Salesforce
            value = (person.extra or {}).get(box.names["milestone"])
            if value:
                levels.append(Milestone.parse(str(value)))
    return levels


def last_run_calls(box: Sandbox) -> int:
    with Store(box.state, read_only=True) as store:
        calls = store.runs.recent(1)[0].api_calls
    assert calls is not None
    return calls


def test_sync_writes_each_company_the_furthest_milestone_of_its_people(box: Sandbox) -> None:
    assert box.run("sync") == 0
    checked = 0
    for company_id in box.world.ids("company"):
        levels = people_levels(box, company_id)
        if not levels:
            continue
        assert account_value(box, company_id, "account_milestone") == max(levels).label
        engaged = sum(1 for level in levels if level >= Milestone.PROSPECT)
        assert int(str(account_value(box, company_id, "account_contacts_engaged"))) == engaged
        checked += 1
    assert checked > 10


def test_a_rerun_writes_nothing_and_costs_no_call(box: Sandbox) -> None:
    assert box.run("sync") == 0
    assert box.run("sync") == 0
    settle(box)
    box.server.reset_stats()
    assert box.run("sync") == 0
    assert box.write_calls() == 0
    with_accounts = last_run_calls(box)
    # The same unchanged run without the roll-up spends the same calls: reading a person's
    # account rides on the person's own record (no association read of its own).
    box.config.write_text(box.config.read_text().replace("enabled = true", "enabled = false"))
    assert box.run("sync") == 0
    assert last_run_calls(box) == with_accounts


def _company_stamps(box: Sandbox) -> dict[int, int]:
    """Each company's last-modified time in the CRM (our writes bump it)."""
    with box.world.lock:
        return {c: box.world.get("company", c).modified for c in box.world.ids("company")}


def _can_answer(box: Sandbox, person_id: int) -> bool:
    """A live person counted for the account whose reply opens a conversation."""
    person = box.world.get("person", person_id)
    lead = box.provider == "salesforce" and person.is_lead_only
    return not (person.archived or person.opted_out or lead)


def test_a_reply_moves_the_account_in_the_next_incremental_run(box: Sandbox) -> None:
    assert box.run("sync") == 0
    quiet = next(
        c
        for c in box.world.ids("company")
        if account_value(box, c, "account_milestone") == "target"
        and any(_can_answer(box, p) for p in box.world.people_of_company(c))
    )
    with box.world.lock:
        person_id = next(p for p in box.world.people_of_company(quiet) if _can_answer(box, p))
    settle(box)
    box.server.mutate("add_inbound_email", person_id=person_id)
    settle(box)
    before = _company_stamps(box)
    assert box.run("sync") == 0
    assert account_value(box, quiet, "account_milestone") == "prospect"
    after = _company_stamps(box)
    assert [c for c in after if after[c] != before[c]] == [quiet]  # only their account
    assert int(str(account_value(box, quiet, "account_contacts_engaged"))) == 1
    settle(box)
    calls_before = box.write_calls()
    assert box.run("sync") == 0
    assert box.write_calls() == calls_before


def _crm_id(box: Sandbox, company_id: int) -> str:
    """The id the CRM shows for a world company (Salesforce: an Account id)."""
    return str(company_id) if box.provider == "hubspot" else sf_id("001", company_id)


def test_explain_an_account_names_the_person_who_carries_it(
    box: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert box.run("sync") == 0
    company = next(
        c
        for c in box.world.ids("company")
        if account_value(box, c, "account_milestone") in ("client", "advocate")
    )
    account_id = _crm_id(box, company)
    capsys.readouterr()
    assert box.run("explain", account_id, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "account" and data["is_crm_record"] is True
    assert data["account_milestone"] == account_value(box, company, "account_milestone")
    carrier = next(p for p in data["people"] if p["id"] == data["carried_by"]["id"])
    assert carrier["milestone"] == data["account_milestone"]
    assert carrier["reached_on"] == data["account_milestone_date"]
    assert box.run("explain", account_id) == 0
    text = capsys.readouterr().out
    assert f"carried by {data['carried_by']['name']}" in text


def test_report_shows_the_account_funnel_and_untouched_target_accounts(
    box: Sandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    owner = box.world.ids("owner")[0]
    fresh = box.world.add("company", name="Quiet Ltd", domain="quiet.example", owner_id=owner)
    for n in range(2):  # a new business nobody has written to or called yet
        box.world.add_person(
            first_name="Quiet", last_name=f"Person {n}", email=f"q{n}@quiet.example",
            company_id=fresh.id, owner_id=owner,
        )  # fmt: skip
    assert box.run("sync") == 0
    capsys.readouterr()
    assert box.run("report", "--json") == 0
    accounts = json.loads(capsys.readouterr().out)["accounts"]
    funnel = {step["milestone"]: step for step in accounts["funnel"]}
    assert sum(step["now"] for step in funnel.values()) == accounts["accounts"]
    assert funnel["target"]["reached"] == accounts["accounts"]
    written = [account_value(box, c, "account_milestone") for c in box.world.ids("company")]
    assert funnel["client"]["reached"] >= sum(1 for w in written if w in ("client", "advocate"))
    listed = [a for group in accounts["untouched_by_owner"] for a in group["accounts"]]
    assert accounts["untouched_targets"] >= len(listed) > 0
    fresh_id = str(fresh.id) if box.provider == "hubspot" else sf_id("001", fresh.id)
    assert {"id": fresh_id, "people": 2, "is_crm_record": True}.items() <= next(
        a for a in listed if a["id"] == fresh_id
    ).items()
    for account in (a for a in listed if a["is_crm_record"]):
        company = int(account["id"]) if box.provider == "hubspot" else _world_company(account["id"])
        assert account_value(box, company, "account_milestone") == "target"
        with box.world.lock:
            for pid in box.world.people_of_company(company):
                person = box.world.get("person", pid)
                if person.archived or (box.provider == "salesforce" and person.is_lead_only):
                    continue
                touches = [
                    a
                    for a in box.world.activities_of(pid)
                    if box.world.get(kind_of(a), a).kind in ("email", "call", "meeting")
                    and not box.world.get(kind_of(a), a).archived
                ]
                assert touches == [], (account, pid)
    assert box.run("report") == 0
    text = capsys.readouterr().out
    assert "TARGET ACCOUNTS NOBODY HAS CONTACTED" in text and "ACCOUNTS:" in text
    html = tmp_path / "report.html"
    assert box.run("report", "--html", str(html)) == 0
    assert 'id="accounts"' in html.read_text(encoding="utf-8")


def _world_company(account_id: str) -> int:
    """The world company behind a sandbox Account id."""
    return id_number(account_id)


def test_a_person_moving_company_rolls_up_both_accounts(box: Sandbox) -> None:
    assert box.run("sync") == 0
    ranked = {m: i for i, m in enumerate(m.label for m in Milestone)}
    with box.world.lock:
        pairs = [
            (c, p)
            for c in box.world.ids("company")
            for p in box.world.people_of_company(c)
            if _can_answer(box, p) and box.value("person", p, "milestone") in ("client", "advocate")
        ]
    source, mover = next(
        (c, p) for c, p in pairs
        if max(people_levels(box, c)).label == box.value("person", p, "milestone")
        and sorted(people_levels(box, c))[-2:-1] != [max(people_levels(box, c))]
    )  # fmt: skip
    target = next(
        c for c in box.world.ids("company")
        if account_value(box, c, "account_milestone") == "target" and c != source
    )  # fmt: skip
    settle(box)
    box.world.update("person", mover, {"company_id": target})
    settle(box)
    assert box.run("sync") == 0
    moved_level = box.value("person", mover, "milestone")
    assert account_value(box, target, "account_milestone") == moved_level
    left = people_levels(box, source)
    expected = max(left).label if left else "target"
    assert account_value(box, source, "account_milestone") == expected
    assert ranked[expected] < ranked[moved_level]


def test_salesforce_lead_groups_are_reported_not_written_and_a_conversion_moves_the_lead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    box = start_sandbox("salesforce", tmp_path)
    box.config.write_text(box.config.read_text() + "[accounts]\nenabled = true\n")
    for name, value in box.env.items():
        monkeypatch.setenv(name, value)
    try:
        assert box.run("fields", "--create") == 0
        assert box.run("sync") == 0
        with Store(box.state, read_only=True) as store:
            groups = {a.rollup.account_id: a for a in store.accounts.all()}
        lead_groups = [g for g in groups if g.startswith("domain:")]
        assert lead_groups  # unconverted Leads, grouped by email domain and Company
        with Store(box.state, read_only=True) as store:
            pending = [store.outbox.of(g) for g in lead_groups]
        assert pending == [None] * len(pending)  # nothing to write them to
        capsys.readouterr()
        assert box.run("explain", lead_groups[0]) == 0
        assert "reported, never written" in capsys.readouterr().out

        with box.world.lock:
            lead = next(
                p
                for p in box.world.iter("person")
                if p.is_lead_only and p.company_id and p.email and not p.archived
            )
        settle(box)
        box.world.update(
            "person", lead.id, {"is_lead_only": False, "converted_ms": box.world.clock()}
        )
        settle(box)
        assert box.run("sync") == 0
        account = sf_id("001", lead.company_id)
        with Store(box.state, read_only=True) as store:
            members = store.accounts.members([account])[account]
            in_groups = [
                m
                for g, rows in store.accounts.members(lead_groups).items()
                for m in rows
                if m.member.person_id.startswith("00Q") and id_number(m.member.person_id) == lead.id
            ]
        assert any(id_number(m.member.person_id) == lead.id for m in members)
        assert in_groups == []
    finally:
        box.server.stop()


HOSTILE = "\x1b]0;pwned\x07Evil\u202eCo\x1b[2J"


def test_a_hostile_company_name_never_reaches_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    box = start_sandbox("salesforce", tmp_path)
    box.config.write_text(box.config.read_text() + "[accounts]\nenabled = true\n")
    for name, value in box.env.items():
        monkeypatch.setenv(name, value)
    try:
        with box.world.lock:
            lead = next(
                p for p in box.world.iter("person") if p.is_lead_only and p.company_id and p.email
            )
        box.world.update("company", lead.company_id, {"name": HOSTILE})
        assert box.run("fields", "--create") == 0
        assert box.run("sync") == 0
        with Store(box.state, read_only=True) as store:
            group = next(
                a.rollup.account_id
                for a in store.accounts.all()
                if a.rollup.account_id.startswith("domain:") and "evil" in a.rollup.account_id
            )
        capsys.readouterr()
        assert box.run("explain", group) == 0
        assert box.run("report") == 0
        out = capsys.readouterr().out
        assert "\\x1b" in out  # shown, visibly
        for raw in ("\x1b", "\x07", "\u202e"):
            assert raw not in out
        assert box.run("explain", group, "--json") == 0
        assert json.loads(capsys.readouterr().out)["id"] == group  # data given back whole
    finally:
        box.server.stop()
