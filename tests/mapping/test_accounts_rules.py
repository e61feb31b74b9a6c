"""Which account a person belongs to, and what an account's people add up to."""

from __future__ import annotations

import pytest

from milestones.mapping.account_rules import AccountRules
from milestones.mapping.accounts import Member, account_of, roll_up
from milestones.mapping.records import Contact, Milestone

RULES = AccountRules(enabled=True)


@pytest.mark.parametrize(
    ("contact", "rules", "expected"),
    [
        (Contact("1", company_id="900", email="a@gmail.com"), RULES, "900"),
        (Contact("2", email="ana@Acme.example", properties={"company": "Acme  Ltd"}), RULES,
         "domain:acme.example|acme ltd"),
        (Contact("3", email="bo@acme.example"), RULES, "domain:acme.example"),
        (Contact("4", email="bo@gmail.com", properties={"company": "Acme"}), RULES, None),
        (Contact("5", email="x@corp.example"),
         AccountRules(free_mail_domains=("@Corp.example",)), None),
        (Contact("6", email="x@corp.example"), AccountRules(group_by_domain=False), None),
        (Contact("7", kind="lead", company_id="900", converted_to="8"), RULES, None),
        (Contact("9", company_id="900", is_deleted=True), RULES, None),
        (Contact("10", email="no-at-sign"), RULES, None),
        (Contact("11", email="a@b.example", properties={"company": "\x1b]0;x\x07" + "A" * 5000}),
         RULES, "domain:b.example|\x1b]0;x\x07" + "a" * 114),
    ],
)  # fmt: skip
def test_account_of(contact: Contact, rules: AccountRules, expected: str | None) -> None:
    assert account_of(contact, rules, "company") == expected


def test_roll_up_takes_the_furthest_milestone_on_the_earliest_day_it_was_reached() -> None:
    members = [
        Member("a", Milestone.PROSPECT, "2026-01-01"),
        Member("b", Milestone.CLIENT, "2026-05-01"),
        Member("c", Milestone.CLIENT, "2026-03-01", is_advocate=True),
        Member("d", Milestone.TARGET),
    ]
    rollup = roll_up("900", members)
    assert (rollup.milestone, rollup.milestone_date, rollup.carrier) == (
        Milestone.CLIENT,
        "2026-03-01",
        "c",
    )
    assert (rollup.advocates, rollup.engaged, rollup.people) == (1, 3, 4)
    assert rollup.fields() == {
        "account_milestone": "client",
        "account_milestone_date": "2026-03-01",
        "account_advocates": "1",
        "account_contacts_engaged": "3",
    }
    assert rollup.is_crm_record


def test_an_account_of_targets_has_no_date_and_a_group_is_not_a_crm_record() -> None:
    rollup = roll_up("domain:acme.example", [Member("a", Milestone.TARGET)])
    assert (rollup.milestone, rollup.milestone_date, rollup.engaged) == (Milestone.TARGET, None, 0)
    assert not rollup.is_crm_record
    empty = roll_up("900", [])
    assert (empty.milestone, empty.people, empty.carrier) == (Milestone.TARGET, 0, None)


def test_account_field_names_are_checked() -> None:
    with pytest.raises(ValueError, match="not an account field"):
        AccountRules(fields={"milestone": "x"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="not a field name"):
        AccountRules(fields={"account_milestone": "bad name;"})
