"""Each milestone dated by the earliest evidence that proves it, observed or inferred."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from milestones.mapping.dating import Evidence, evidence_of, held_since, key_of
from milestones.mapping.derive import Derived, derive, is_flag_set
from milestones.mapping.records import Activity, Bundle, Contact, Deal, Milestone, Referral
from milestones.mapping.rules import MappingRules

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RULES = MappingRules.model_validate(
    {
        "stages": {
            "appointmentscheduled": "prospect",
            "presentationscheduled": "opportunity",
            "contractsent": "opportunity",
            "closedwon": "client",
            "closedlost": "target",
        },
        "advocate": {
            "flag_properties": ["reference_customer"],
            "nps_property": "nps",
            "nps_date_property": "nps_at",
        },
    }
)


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 10, 0, tzinfo=UTC)


def reply(day: int, month: int = 3) -> Activity:
    return Activity(f"e{month}-{day}", "email", direction="inbound", occurred_at=at(day, month))


def won_deal(entered: dict[str, datetime], **kw: object) -> Deal:
    values: dict[str, object] = {
        "created_at": at(1),
        "stage_id": "closedwon",
        "is_closed": True,
        "is_won": True,
        "close_date": date(2026, 4, 20),
        "stage_entered": entered,
    }
    values.update(kw)
    return Deal("d1", **values)  # type: ignore[arg-type]


def run(bundle: Bundle) -> Derived:
    return derive(bundle, {}, RULES, NOW)


def dates(result: Derived) -> dict[str, tuple[str, str]]:
    return {m.label: (e.on.isoformat(), e.basis) for m, e in sorted(result.reached.items())}


PATH = {"appointmentscheduled": at(1), "contractsent": at(15), "closedwon": at(20, 4)}

CASES = [
    (
        "a reply, then a deal through its stages: each milestone at its own date",
        Bundle(Contact("p"), (won_deal(PATH, created_at=at(3)),), (reply(2),)),
        {
            "prospect": ("2026-03-01", "observed"),  # the deal entered its first stage
            "opportunity": ("2026-03-15", "observed"),
            "client": ("2026-04-20", "observed"),
        },
    ),
    (
        "no reply logged: the first deal's creation, inferred",
        Bundle(Contact("p"), (won_deal({"contractsent": at(15), "closedwon": at(20, 4)}),)),
        {
            "prospect": ("2026-03-01", "inferred"),
            "opportunity": ("2026-03-15", "observed"),
            "client": ("2026-04-20", "observed"),
        },
    ),
    (
        "a deal created already won: opportunity and client on the same day, observed",
        Bundle(
            Contact("p"),
            (won_deal({"closedwon": at(9)}, created_at=at(9), close_date=date(2026, 3, 9)),),
            (reply(2),),
        ),
        {
            "prospect": ("2026-03-02", "observed"),
            "opportunity": ("2026-03-09", "observed"),
            "client": ("2026-03-09", "observed"),
        },
    ),
    (
        "no stage history (Salesforce without OpportunityHistory): creation, inferred",
        Bundle(Contact("p"), (won_deal({}),), (reply(5),)),
        {
            "prospect": ("2026-03-01", "inferred"),
            "opportunity": ("2026-03-01", "inferred"),
            "client": ("2026-04-20", "observed"),
        },
    ),
    (
        "an open deal whose stage entry the CRM gives: that entry, observed",
        Bundle(
            Contact("p"),
            (Deal("d2", stage_id="contractsent", created_at=at(1), stage_changed_at=at(12)),),
            (reply(2),),
        ),
        {
            "prospect": ("2026-03-01", "inferred"),
            "opportunity": ("2026-03-12", "observed"),
        },
    ),
    (
        "won without a close date: the won stage's entry",
        Bundle(Contact("p"), (won_deal({"closedwon": at(7, 4)}, close_date=None),)),
        {
            "prospect": ("2026-03-01", "inferred"),
            "opportunity": ("2026-04-07", "observed"),
            "client": ("2026-04-07", "observed"),
        },
    ),
    (
        "a deal lost after a proposal still proves the proposal",
        Bundle(
            Contact("p"),
            (
                Deal(
                    "d3",
                    stage_id="closedlost",
                    is_closed=True,
                    is_won=False,
                    created_at=at(1),
                    stage_entered={"contractsent": at(4), "closedlost": at(30)},
                ),
            ),
            (reply(2),),
        ),
        {
            "prospect": ("2026-03-01", "inferred"),
            "opportunity": ("2026-03-04", "observed"),
        },
    ),
    (
        "a referral made after the win: the referred person's creation",
        Bundle(
            Contact("p"),
            (won_deal(PATH),),
            (reply(2),),
            (Referral("contact", "r1", at(10, 5)),),
        ),
        {
            "prospect": ("2026-03-01", "observed"),
            "opportunity": ("2026-03-15", "observed"),
            "client": ("2026-04-20", "observed"),
            "advocate": ("2026-05-10", "observed"),
        },
    ),
    (
        "a referral before the win: an advocate from the client date, inferred",
        Bundle(
            Contact("p"),
            (won_deal(PATH),),
            (reply(2),),
            (Referral("contact", "r1", at(20)),),
        ),
        {
            "prospect": ("2026-03-01", "observed"),
            "opportunity": ("2026-03-15", "observed"),
            "client": ("2026-04-20", "observed"),
            "advocate": ("2026-04-20", "inferred"),
        },
    ),
    (
        "a promoter score with its answer date",
        Bundle(
            Contact("p", properties={"nps": "10", "nps_at": "2026-05-02T09:00:00Z"}),
            (won_deal(PATH),),
        ),
        {
            "prospect": ("2026-03-01", "observed"),
            "opportunity": ("2026-03-15", "observed"),
            "client": ("2026-04-20", "observed"),
            "advocate": ("2026-05-02", "observed"),
        },
    ),
    (
        "an advocacy flag without a date: the client date, inferred",
        Bundle(Contact("p", properties={"reference_customer": "true"}), (won_deal(PATH),)),
        {
            "prospect": ("2026-03-01", "observed"),
            "opportunity": ("2026-03-15", "observed"),
            "client": ("2026-04-20", "observed"),
            "advocate": ("2026-04-20", "inferred"),
        },
    ),
    (
        "an advocacy flag set after the win: the day it was set, observed",
        Bundle(
            Contact(
                "p",
                properties={"reference_customer": "true"},
                property_set_at={"reference_customer": at(9, 5)},
            ),
            (won_deal(PATH),),
        ),
        {
            "prospect": ("2026-03-01", "observed"),
            "opportunity": ("2026-03-15", "observed"),
            "client": ("2026-04-20", "observed"),
            "advocate": ("2026-05-09", "observed"),
        },
    ),
    (
        "an advocacy flag set before the win: the client date, inferred",
        Bundle(
            Contact(
                "p",
                properties={"reference_customer": "true"},
                property_set_at={"reference_customer": at(9)},
            ),
            (won_deal(PATH),),
        ),
        {
            "prospect": ("2026-03-01", "observed"),
            "opportunity": ("2026-03-15", "observed"),
            "client": ("2026-04-20", "observed"),
            "advocate": ("2026-04-20", "inferred"),
        },
    ),
]

HISTORIES = [
    ("set once", [(1, "true")], 1),
    ("created unset, set later", [(1, None), (4, "true")], 4),
    ("cleared and set again", [(1, "true"), (3, "false"), (6, "true"), (8, "yes")], 6),
    ("cleared last", [(1, "true"), (3, "")], None),
    ("out of order", [(6, "true"), (3, "false"), (1, "true")], 6),
    ("no history", [], None),
]


@pytest.mark.parametrize(("case", "history", "since"), HISTORIES, ids=[h[0] for h in HISTORIES])
def test_a_flag_is_dated_since_it_last_became_set(
    case: str, history: list[tuple[int, str | None]], since: int | None
) -> None:
    found = held_since([(at(day), value) for day, value in history], is_flag_set)
    assert found == (at(since) if since is not None else None), case


@pytest.mark.parametrize(("case", "bundle", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_milestone_dated_by_its_own_evidence(
    case: str, bundle: Bundle, expected: dict[str, tuple[str, str]]
) -> None:
    assert dates(run(bundle)) == expected


def test_written_date_is_the_current_milestones() -> None:
    result = run(Bundle(Contact("p"), (won_deal(PATH),), (reply(2),)))
    assert result.milestone is Milestone.CLIENT
    assert result.fields()["milestone_date"] == "2026-04-20"


def test_an_earlier_prior_date_stands_and_a_later_one_gives_way() -> None:
    bundle = Bundle(Contact("p"), (won_deal(PATH),), (reply(2),))
    fresh = run(bundle)
    earlier = {
        m: e.redated(date(2026, 2, 1), False) if m is Milestone.PROSPECT else e
        for m, e in fresh.reached.items()
    }
    later = {m: e.redated(date(2026, 5, 30), False) for m, e in fresh.reached.items()}
    kept = derive(bundle, {}, RULES, NOW, Derived("p", Milestone.CLIENT, earlier))
    redated = derive(bundle, {}, RULES, NOW, Derived("p", Milestone.CLIENT, later))
    assert kept.reached[Milestone.PROSPECT].on == date(2026, 2, 1)
    assert dates(redated) == dates(fresh)


def ev(day: int, rule: str, kind: str, rid: str, is_inferred: bool = False) -> Evidence:
    return Evidence(date(2026, 3, day), rule, kind, rid, is_inferred)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (ev(1, "z", "deal", "9"), ev(2, "a", "deal", "1")),
        (ev(1, "z", "deal", "9"), ev(1, "a", "a", "1", True)),
        (ev(1, "b", "deal", "1"), ev(1, "a", "deal", "2")),
        (ev(1, "a", "deal", "2"), ev(1, "a", "deal", "10")),
        (ev(1, "a", "deal", "1"), ev(1, "a", "deal", "1")),
    ],
)
def test_evidence_keys_sort_as_earliest_picks(a: Evidence, b: Evidence) -> None:
    """derive() compares evidence as keys: the lower key is the one ``earliest`` keeps
    (the earlier day, then observed before inferred, then the evidence's own order)."""
    for first, second in ((a, b), (b, a)):
        by_key = first if key_of(first) <= key_of(second) else second
        assert by_key == min((first, second), key=lambda e: (e.on, e.is_inferred, e))
        assert evidence_of(key_of(first)) == first
