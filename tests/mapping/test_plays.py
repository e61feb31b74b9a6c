"""Plays: which situation asks for which task, the templates' safety, and the config's checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from milestones.mapping.derive import derive
from milestones.mapping.play_rules import PlaysRules, check_template, render_template
from milestones.mapping.plays import TaskDraft, draft_tasks, lapse_horizon, situation_of
from milestones.mapping.records import Activity, Bundle, Contact, Deal, Referral
from milestones.mapping.rules import MappingRules

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
RULES = MappingRules.model_validate({"stages": {"closedwon": "client"}})


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def person(owner: str | None = "u1", **kw: Any) -> Contact:
    return Contact("c1", email="ada@example.com", first_name="Ada", owner_id=owner, **kw)


def email(direction: str, days_ago: int) -> Activity:
    return Activity(f"e{days_ago}", "email", direction=direction, occurred_at=ago(days_ago))  # type: ignore[arg-type]


def won(days_ago: int) -> Deal:
    return Deal("d1", stage_id="closedwon", close_date=ago(days_ago).date(), contact_ids=("c1",))


def tasks(
    bundle: Bundle, plays: dict[str, Any], disqualified_on: date | None = None
) -> list[TaskDraft]:
    rules = PlaysRules.model_validate(plays)
    enabled = rules.enabled()
    derived = derive(bundle, {}, RULES, NOW)
    situation = situation_of(
        bundle,
        derived,
        {},
        RULES,
        NOW,
        disqualified_on=disqualified_on,
        lapse_horizon_days=lapse_horizon(enabled),
    )
    return draft_tasks(enabled, situation, TODAY, rules.subject_prefix)


def names(drafts: list[TaskDraft]) -> list[str]:
    return [d.play for d in drafts]


ON = {"enabled": True}


@pytest.mark.parametrize(
    ("bundle", "plays", "expected"),
    [
        # reach_target: a target untouched (or touched long ago) with an owner
        (Bundle(person()), {"reach_target": ON}, ["reach_target"]),
        (
            Bundle(person(), activities=(email("outbound", 20),)),
            {"reach_target": ON},
            ["reach_target"],
        ),
        (Bundle(person(), activities=(email("outbound", 3),)), {"reach_target": ON}, []),
        (
            Bundle(person(), activities=(email("outbound", 3),)),
            {"reach_target": {"enabled": True, "days": 2}},
            ["reach_target"],
        ),
        (Bundle(person(), activities=(email("inbound", 40),)), {"reach_target": ON}, []),
        # a task (ours or anyone's) is no touch: the target still waits for a conversation
        (
            Bundle(person(), activities=(Activity("t1", "task", occurred_at=ago(1)),)),
            {"reach_target": ON},
            ["reach_target"],
        ),
        (Bundle(person()), {}, []),  # every built-in is off until enabled
        (Bundle(person(lead_status="UNQUALIFIED")), {"reach_target": ON}, []),
        # ask_for_advocacy: a client long enough, without advocacy
        (Bundle(person(), deals=(won(90),)), {"ask_for_advocacy": ON}, ["ask_for_advocacy"]),
        (Bundle(person(), deals=(won(10),)), {"ask_for_advocacy": ON}, []),
        (
            Bundle(person(), deals=(won(90),), referrals=(Referral("contact", "c9", ago(5)),)),
            {"ask_for_advocacy": ON},
            [],
        ),
        # revisit_disqualified: only a chosen reason, only long enough ago
        (Bundle(person(lead_status="UNQUALIFIED")), {"revisit_disqualified": ON}, []),
        (Bundle(person(is_opted_out=True)), {"revisit_disqualified": ON}, []),
        # "go away": no play touches a person who opted out, even a client
        (Bundle(person(is_opted_out=True), deals=(won(90),)), {"ask_for_advocacy": ON}, []),
    ],
)
def test_built_in_plays(bundle: Bundle, plays: dict[str, Any], expected: list[str]) -> None:
    assert names(tasks(bundle, plays)) == expected


def test_revisit_disqualified_counts_from_the_day_it_was_seen() -> None:
    bundle = Bundle(person(lead_status="Unqualified"))
    plays = {"revisit_disqualified": {"enabled": True, "days": 30}}
    assert names(tasks(bundle, plays, disqualified_on=TODAY - timedelta(days=31))) == [
        "revisit_disqualified"
    ]
    assert tasks(bundle, plays, disqualified_on=TODAY - timedelta(days=29)) == []
    assert tasks(bundle, plays, disqualified_on=None) == []


def test_keep_advocate_only_when_the_evidence_lapses_within_the_window() -> None:
    # lapse_days is 365: a referral 350 days ago counts 15 more days and stops on the 16th
    lapsing = Bundle(person(), deals=(won(400),), referrals=(Referral("contact", "c9", ago(350)),))
    fresh = Bundle(person(), deals=(won(400),), referrals=(Referral("contact", "c9", ago(10)),))
    drafts = tasks(lapsing, {"keep_advocate": ON})
    assert names(drafts) == ["keep_advocate"]
    assert (TODAY + timedelta(days=16)).isoformat() in drafts[0].body
    assert tasks(fresh, {"keep_advocate": ON}) == []
    assert tasks(lapsing, {"keep_advocate": {"enabled": True, "days": 10}}) == []


def test_a_draft_carries_owner_due_day_priority_and_the_marking_prefix() -> None:
    plays = {"reach_target": {"enabled": True, "due_in_days": 2, "priority": "high"}}
    [draft] = tasks(Bundle(person()), plays)
    assert draft.owner_id == "u1" and draft.contact_id == "c1"
    assert draft.due_on == TODAY + timedelta(days=2) and draft.priority == "high"
    assert draft.subject == "[milestones] Reach out to Ada"
    assert "since never" in draft.body


def test_a_person_without_owner_is_drafted_with_none_for_the_caller_to_count() -> None:
    [draft] = tasks(Bundle(person(owner=None)), {"reach_target": ON})
    assert draft.owner_id is None


def test_custom_play_from_the_same_conditions() -> None:
    plays = {
        "custom": {
            "silent_prospect": {
                "milestone": "prospect",
                "min_days_since_two_way": 30,
                "owner_ids": ["u1"],
                "subject": "Follow up with {first_name} ({milestone} since {milestone_date})",
                "body": "Last reply {last_two_way}.",
            }
        }
    }
    silent = Bundle(person(), activities=(email("inbound", 45),))
    [draft] = tasks(silent, plays)
    reply_day = ago(45).date().isoformat()
    assert draft.subject == f"[milestones] Follow up with Ada (prospect since {reply_day})"
    assert draft.body == f"Last reply {reply_day}."
    assert tasks(Bundle(person(), activities=(email("inbound", 5),)), plays) == []
    other_owner = Bundle(person(owner="u2"), activities=(email("inbound", 45),))
    assert tasks(other_owner, plays) == []
    off = {"custom": {"silent_prospect": {**plays["custom"]["silent_prospect"], "enabled": False}}}
    assert tasks(silent, off) == []


def test_crm_text_in_a_template_is_data() -> None:
    hostile = Contact("c1", first_name="{email} {{x}} \n[urgent]", owner_id="u1")
    [draft] = tasks(Bundle(hostile), {"reach_target": {"enabled": True, "subject": "Hi {name}"}})
    assert draft.subject == "[milestones] Hi {email} {{x}} [urgent]"


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{name.__class__}", "unknown template field"),
        ("{0}", "unknown template field"),
        ("{name!r}", "unknown template field"),
        ("{name:>10}", "unknown template field"),
        ("a { b", "lone brace"),
        ("a } b", "lone brace"),
    ],
)
def test_templates_name_fields_only(template: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_template(template)
    with pytest.raises(ValidationError, match=problem):
        PlaysRules.model_validate({"reach_target": {"subject": template}})


def test_doubled_braces_are_literal() -> None:
    assert render_template("{{{name}}}", {"name": "Ada"}) == "{Ada}"


@pytest.mark.parametrize(
    ("plays", "problem"),
    [
        ({"custom": {"reach_target": {"subject": "x"}}}, "built-in play"),
        ({"custom": {"Bad Name": {"subject": "x"}}}, "play name"),
        ({"custom": {"p": {"milestone": "prospect"}}}, "needs a subject"),
        ({"custom": {"p": {"subject": "x", "milestone": "lead"}}}, "milestone"),
        ({"max_per_owner_per_day": 0}, "max_per_owner_per_day"),
        ({"on_clear": "delete"}, "on_clear"),
        ({"reach_target": {"dayz": 3}}, "dayz"),
    ],
)
def test_bad_play_config_names_the_key(plays: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        PlaysRules.model_validate(plays)


def test_no_play_is_enabled_by_default() -> None:
    assert PlaysRules().enabled() == []


def test_a_bad_play_in_the_config_file_is_named_by_its_toml_path() -> None:
    from milestones.config.settings import ConfigError, parse_config

    raw = {
        "provider": "hubspot",
        "hubspot": {"access_token": "x"},
        "plays": {"reach_target": {"subject": "{secret}"}, "custom": {"p": {"days": 3}}},
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, environ={})
    problems = "\n".join(caught.value.problems)
    assert "plays.reach_target.subject: unknown template field {secret}" in problems
    assert "plays.custom.p.days: unknown key" in problems
