"""Table-driven checks of every rule in DESIGN.md's milestone table and the seed's edge cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from milestones.mapping.derive import Derived, Evidence, deal_milestone, derive, stage_milestone
from milestones.mapping.records import Activity, Bundle, Contact, Deal, Milestone, Referral, Stage
from milestones.mapping.rules import AdvocateRules, MappingRules

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CONNECTED = "f240bbac-87c9-4f6e-bf70-924b57d47db7"
RULES = MappingRules.model_validate(
    {
        "stages": {
            "appointmentscheduled": "prospect",
            "qualifiedtobuy": "prospect",
            "presentationscheduled": "opportunity",
            "contractsent": "opportunity",
            "closedwon": "client",
        },
        "two_way": {"call_connected_dispositions": [CONNECTED]},
        "advocate": {"flag_properties": ["reference_customer"]},
    }
)
STAGES = {
    "closedlost": Stage("closedlost", "Closed lost", is_closed=True, probability=0.0),
    "renewal_signed": Stage("renewal_signed", "Signed", is_closed=True, is_won=True),
    "renewal_talks": Stage("renewal_talks", "Talks", probability=0.7),
    "renewal_intro": Stage("renewal_intro", "Intro", probability=0.1),
}


def at(day: int, month: int = 3, year: int = 2026) -> datetime:
    return datetime(year, month, day, 10, 0, tzinfo=UTC)


def email(direction: str, day: int = 5, **kw: object) -> Activity:
    return Activity(f"e-{direction}-{day}", "email", direction=direction, occurred_at=at(day), **kw)  # type: ignore[arg-type]


def call(direction: str, status: str, disposition: str | None = None) -> Activity:
    return Activity(
        f"c-{direction}-{status}",
        "call",
        direction=direction,  # type: ignore[arg-type]
        status=status,
        disposition=disposition,
        occurred_at=at(6),
    )


def meeting(status: str | None, ends: datetime | None = None) -> Activity:
    return Activity(f"m-{status}", "meeting", status=status, occurred_at=at(7), ends_at=ends)


def deal(stage: str, **kw: object) -> Deal:
    values: dict[str, object] = {"created_at": at(10), "contact_ids": ("p",)}
    values.update(kw)
    return Deal(f"d-{stage}", stage_id=stage, **values)  # type: ignore[arg-type]


def person(**kw: object) -> Contact:
    return Contact("p", **kw)  # type: ignore[arg-type]


def run(bundle: Bundle, rules: MappingRules = RULES, prior: Derived | None = None) -> Derived:
    return derive(bundle, STAGES, rules, NOW, prior)


CASES = [
    ("nobody talked to them", Bundle(person()), Milestone.TARGET),
    ("outbound email only", Bundle(person(), activities=(email("outbound"),)), Milestone.TARGET),
    ("they replied", Bundle(person(), activities=(email("inbound"),)), Milestone.PROSPECT),
    (
        "outbound call unanswered",
        Bundle(person(), activities=(call("outbound", "no_answer"),)),
        Milestone.TARGET,
    ),
    (
        "outbound call completed but not connected",
        Bundle(person(), activities=(call("outbound", "completed"),)),
        Milestone.TARGET,
    ),
    (
        "outbound call with the connected disposition",
        Bundle(person(), activities=(call("outbound", "completed", CONNECTED),)),
        Milestone.PROSPECT,
    ),
    (
        "inbound call completed",
        Bundle(person(), activities=(call("inbound", "completed"),)),
        Milestone.PROSPECT,
    ),
    (
        "inbound call missed",
        Bundle(person(), activities=(call("inbound", "no_answer"),)),
        Milestone.TARGET,
    ),
    ("meeting held", Bundle(person(), activities=(meeting("completed"),)), Milestone.PROSPECT),
    ("meeting no-show", Bundle(person(), activities=(meeting("no_show"),)), Milestone.TARGET),
    ("meeting scheduled", Bundle(person(), activities=(meeting("scheduled"),)), Milestone.TARGET),
    (
        "meeting without outcome that has ended",
        Bundle(person(), activities=(meeting(None, at(7)),)),
        Milestone.PROSPECT,
    ),
    (
        "meeting without outcome still ahead",
        Bundle(person(), activities=(meeting(None, at(7, month=7)),)),
        Milestone.TARGET,
    ),
    (
        "a note is no conversation",
        Bundle(person(), activities=(Activity("n", "note", occurred_at=at(3)),)),
        Milestone.TARGET,
    ),
    (
        "deleted reply does not count",
        Bundle(person(), activities=(email("inbound", is_deleted=True),)),
        Milestone.TARGET,
    ),
    (
        "go away: opted out, replies do not open a line",
        Bundle(person(is_opted_out=True), activities=(email("inbound"),)),
        Milestone.TARGET,
    ),
    (
        "early-stage deal makes a prospect",
        Bundle(person(), deals=(deal("qualifiedtobuy"),)),
        Milestone.PROSPECT,
    ),
    (
        "proposal stage makes an opportunity",
        Bundle(person(), deals=(deal("presentationscheduled"),)),
        Milestone.OPPORTUNITY,
    ),
    (
        "closed-lost does not advance",
        Bundle(person(), deals=(deal("closedlost", is_closed=True),)),
        Milestone.TARGET,
    ),
    (
        "closed-won makes a client",
        Bundle(person(), deals=(deal("closedwon", close_date=date(2026, 4, 1)),)),
        Milestone.CLIENT,
    ),
    (
        "unmapped won stage falls back to client",
        Bundle(person(), deals=(deal("renewal_signed"),)),
        Milestone.CLIENT,
    ),
    (
        "unmapped likely stage falls back to opportunity",
        Bundle(person(), deals=(deal("renewal_talks"),)),
        Milestone.OPPORTUNITY,
    ),
    (
        "unmapped unlikely stage falls back to prospect",
        Bundle(person(), deals=(deal("renewal_intro"),)),
        Milestone.PROSPECT,
    ),
    (
        "stage unknown to the catalogue, deal won",
        Bundle(person(), deals=(deal("mystery", is_won=True, is_closed=True),)),
        Milestone.CLIENT,
    ),
    (
        "opted-out client keeps client",
        Bundle(person(is_opted_out=True), deals=(deal("closedwon"),)),
        Milestone.CLIENT,
    ),
    (
        "client who referred someone is an advocate",
        Bundle(
            person(),
            deals=(deal("closedwon"),),
            referrals=(Referral("contact", "q", at(20)),),
        ),
        Milestone.ADVOCATE,
    ),
    (
        "client with a promoter score is an advocate",
        Bundle(person(properties={"hs_feedback_last_nps_rating": "9"}), deals=(deal("closedwon"),)),
        Milestone.ADVOCATE,
    ),
    (
        "client with a passive score stays a client",
        Bundle(person(properties={"hs_feedback_last_nps_rating": "8"}), deals=(deal("closedwon"),)),
        Milestone.CLIENT,
    ),
    (
        "client flagged as reference customer is an advocate",
        Bundle(person(properties={"reference_customer": "true"}), deals=(deal("closedwon"),)),
        Milestone.ADVOCATE,
    ),
    (
        "a non-client's referral does not make an advocate",
        Bundle(
            person(),
            activities=(email("inbound"),),
            referrals=(Referral("contact", "q", at(20)),),
        ),
        Milestone.PROSPECT,
    ),
    (
        "NPS written as a word is ignored",
        Bundle(
            person(properties={"hs_feedback_last_nps_rating": "ten"}), deals=(deal("closedwon"),)
        ),
        Milestone.CLIENT,
    ),
]


@pytest.mark.parametrize(("case", "bundle", "expected"), CASES, ids=[c[0] for c in CASES])
def test_milestone_rules(case: str, bundle: Bundle, expected: Milestone) -> None:
    assert run(bundle).milestone is expected, case


def test_non_client_referral_counts_when_configured() -> None:
    rules = RULES.model_copy(update={"advocate": AdvocateRules(requires_client=False)})
    bundle = Bundle(person(), referrals=(Referral("contact", "q", at(20)),))
    result = run(bundle, rules)
    assert result.milestone is Milestone.ADVOCATE
    assert result.reached_on == date(2026, 3, 20)


def test_rules_changed_by_a_copy_are_read_afresh() -> None:
    """derive() reads each rules object's stage map and value sets once; a copy with other
    values is read as itself, not as the rules it was copied from."""
    talks = Bundle(person(), deals=(deal("renewal_talks"),))
    assert run(talks).milestone is Milestone.OPPORTUNITY  # probability 0.7, not configured
    stages = {**RULES.stages, "renewal_talks": "client"}
    assert run(talks, RULES.model_copy(update={"stages": stages})).milestone is Milestone.CLIENT
    no_email = RULES.two_way.model_copy(update={"email_directions": []})
    quiet = RULES.model_copy(update={"two_way": no_email})
    reply = Bundle(person(), activities=(email("inbound"),))
    assert run(reply).milestone is Milestone.PROSPECT
    assert run(reply, quiet).milestone is Milestone.TARGET


def test_closed_won_makes_every_associated_contact_a_client() -> None:
    won = Deal("d", stage_id="closedwon", close_date=date(2026, 4, 2), contact_ids=("a", "b"))
    for contact_id in won.contact_ids:
        result = run(Bundle(Contact(contact_id), deals=(won,)))
        assert result.milestone is Milestone.CLIENT
        assert result.reached_on == date(2026, 4, 2)
        assert result.evidence == Evidence(date(2026, 4, 2), "deal_won", "deal", "d")


def test_dates_come_from_evidence_not_now() -> None:
    result = run(Bundle(person(), activities=(email("inbound", day=9),)))
    assert result.reached_on == date(2026, 3, 9)
    assert result.evidence is not None and result.evidence.rule == "inbound_email"


def test_lower_milestones_are_dated_no_later_than_higher_ones() -> None:
    bundle = Bundle(
        person(),
        activities=(email("inbound", day=20),),
        deals=(deal("closedwon", close_date=date(2026, 3, 2), created_at=at(1)),),
    )
    result = run(bundle)
    assert result.milestone is Milestone.CLIENT
    # A deal opened on 1 March and won on 2 March proves they were a prospect and an
    # opportunity by then, even though the first reply on record came later; without stage
    # history both dates are the deal's creation, inferred.
    assert result.reached[Milestone.PROSPECT].on == date(2026, 3, 1)
    assert result.reached[Milestone.PROSPECT].is_inferred
    assert result.reached[Milestone.OPPORTUNITY].on == date(2026, 3, 1)
    assert result.reached[Milestone.OPPORTUNITY].is_inferred
    assert result.reached[Milestone.CLIENT].on == date(2026, 3, 2)
    assert not result.reached[Milestone.CLIENT].is_inferred


def test_future_close_date_counts_as_today() -> None:
    result = run(Bundle(person(), deals=(deal("closedwon", close_date=date(2026, 9, 1)),)))
    assert result.reached_on == NOW.date()


def test_disqualified_by_lead_status_keeps_the_milestone() -> None:
    bundle = Bundle(person(lead_status="UNQUALIFIED"), activities=(email("inbound"),))
    result = run(bundle)
    assert result.milestone is Milestone.PROSPECT
    assert result.is_disqualified and result.disqualified_reason == "lead status UNQUALIFIED"
    assert result.fields()["disqualified"] == "true"


def test_go_away_flags_a_target_disqualified_but_not_a_client() -> None:
    target = run(Bundle(person(is_opted_out=True), activities=(email("inbound"),)))
    assert target.is_disqualified and target.disqualified_reason == "opted out of email"
    client = run(Bundle(person(is_opted_out=True), deals=(deal("closedwon"),)))
    assert not client.is_disqualified


def test_high_water_mark_survives_a_deal_moving_back() -> None:
    first = run(Bundle(person(), deals=(deal("contractsent"),)))
    assert first.milestone is Milestone.OPPORTUNITY
    later = run(Bundle(person(), deals=(deal("qualifiedtobuy"),)), prior=first)
    assert later.milestone is Milestone.OPPORTUNITY
    assert later.reached_on == first.reached_on


def test_advocacy_lapses_but_the_milestone_stays() -> None:
    old = Referral("contact", "q", datetime(2024, 1, 10, tzinfo=UTC))
    bundle = Bundle(
        person(), deals=(deal("closedwon", close_date=date(2023, 6, 1)),), referrals=(old,)
    )
    result = run(bundle)
    assert result.milestone is Milestone.ADVOCATE
    assert result.advocate_since == date(2024, 1, 10)
    assert not result.is_advocate
    fresh = replace(old, at=at(1))
    assert run(replace(bundle, referrals=(old, fresh))).is_advocate


def test_endorsement_before_buying_dates_advocacy_from_the_purchase() -> None:
    early = Referral("contact", "q", datetime(2025, 1, 5, tzinfo=UTC))
    bundle = Bundle(
        person(), deals=(deal("closedwon", close_date=date(2026, 2, 1)),), referrals=(early,)
    )
    assert run(bundle).advocate_since == date(2026, 2, 1)


def test_advocate_fields_and_next_milestone() -> None:
    bundle = Bundle(
        person(properties={"reference_customer": "yes"}),
        deals=(deal("closedwon", close_date=date(2026, 4, 1)),),
    )
    fields = run(bundle).fields()
    assert fields == {
        "milestone": "advocate",
        "milestone_date": "2026-04-01",
        "next_milestone": None,
        "disqualified": "false",
        "disqualified_reason": None,
        "is_advocate": "true",
        "advocate_since": "2026-04-01",
    }


def test_target_fields() -> None:
    fields = run(Bundle(person())).fields()
    assert fields["milestone"] == "target"
    assert fields["milestone_date"] is None
    assert fields["next_milestone"] == "prospect"


def test_bad_nps_is_reported_as_a_warning() -> None:
    bundle = Bundle(person(properties={"hs_feedback_last_nps_rating": "ten"}))
    assert run(bundle).warnings == (
        "hs_feedback_last_nps_rating (3 characters) is not a number; NPS ignored",
    )


@pytest.mark.parametrize(
    ("stage", "expected", "mapped"),
    [
        (Stage("closedwon", "Won", is_closed=True, is_won=True), Milestone.CLIENT, True),
        (Stage("contractsent", "Contract", probability=0.9), Milestone.OPPORTUNITY, True),
        (Stage("renewal_talks", "Talks", probability=0.7), Milestone.OPPORTUNITY, False),
        (Stage("renewal_intro", "Intro", probability=0.1), Milestone.PROSPECT, False),
        (Stage("lost", "Lost", is_closed=True), None, False),
        (Stage("odd", "No probability"), Milestone.PROSPECT, False),
    ],
)
def test_stage_milestone(stage: Stage, expected: Milestone | None, mapped: bool) -> None:
    assert stage_milestone(stage, RULES) == (expected, mapped)


def test_stage_mapped_to_target_proves_nothing() -> None:
    rules = MappingRules(stages={"qualifiedtobuy": "target"})
    assert deal_milestone(deal("qualifiedtobuy"), {}, rules) is None
