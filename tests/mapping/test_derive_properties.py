"""Invariants of derive(), checked on generated bundles (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from milestones.mapping.derive import derive
from milestones.mapping.records import Activity, Bundle, Contact, Deal, Referral, Stage
from milestones.mapping.rules import MappingRules

NOW = datetime(2026, 6, 1, tzinfo=UTC)
RULES = MappingRules.model_validate(
    {
        "stages": {"s_prospect": "prospect", "s_opp": "opportunity", "s_won": "client"},
        "advocate": {"flag_properties": ["ref"]},
    }
)
STAGES = {
    "s_lost": Stage("s_lost", "Lost", is_closed=True),
    "s_open": Stage("s_open", "Open", probability=0.6),
}
moments = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)
ids = st.text("abcdef0123", min_size=1, max_size=4)

activities = st.builds(
    Activity,
    id=ids,
    kind=st.sampled_from(["email", "call", "meeting", "note", "task"]),
    direction=st.sampled_from([None, "inbound", "outbound"]),
    status=st.sampled_from([None, "completed", "no_answer", "scheduled", "no_show"]),
    occurred_at=st.none() | moments,
    ends_at=st.none() | moments,
    is_deleted=st.booleans(),
)
deals = st.builds(
    Deal,
    id=ids,
    stage_id=st.sampled_from(["s_prospect", "s_opp", "s_won", "s_lost", "s_open", "unknown"]),
    is_won=st.none() | st.booleans(),
    is_closed=st.none() | st.booleans(),
    close_date=st.none() | st.dates(min_value=date(2023, 1, 1), max_value=date(2027, 1, 1)),
    created_at=st.none() | moments,
    is_deleted=st.booleans(),
)
referrals = st.builds(
    Referral, record_kind=st.just("contact"), record_id=ids, at=st.none() | moments
)
contacts = st.builds(
    Contact,
    id=st.just("p"),
    is_opted_out=st.booleans(),
    lead_status=st.sampled_from([None, "UNQUALIFIED", "OPEN"]),
    properties=st.fixed_dictionaries(
        {},
        optional={
            "hs_feedback_last_nps_rating": st.sampled_from(["10", "9", "3", "ten", "", "11"]),
            "ref": st.sampled_from(["true", "false", ""]),
        },
    ),
)
bundles = st.builds(
    Bundle,
    contact=contacts,
    deals=st.lists(deals, max_size=4).map(tuple),
    activities=st.lists(activities, max_size=6).map(tuple),
    referrals=st.lists(referrals, max_size=3).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(bundles, st.randoms())
def test_deterministic_and_order_independent(bundle: Bundle, rnd: object) -> None:
    first = derive(bundle, STAGES, RULES, NOW)
    shuffled_deals = list(bundle.deals)
    shuffled_acts = list(bundle.activities)
    rnd.shuffle(shuffled_deals)  # type: ignore[attr-defined]
    rnd.shuffle(shuffled_acts)  # type: ignore[attr-defined]
    again = derive(
        Bundle(bundle.contact, tuple(shuffled_deals), tuple(shuffled_acts), bundle.referrals),
        STAGES,
        RULES,
        NOW,
    )
    assert first == again


@settings(max_examples=300, deadline=None)
@given(bundles, bundles)
def test_never_below_the_prior_high_water_mark(before: Bundle, after: Bundle) -> None:
    prior = derive(before, STAGES, RULES, NOW - timedelta(days=30))
    result = derive(after, STAGES, RULES, NOW, prior)
    assert result.milestone >= prior.milestone
    for level, evidence in prior.reached.items():
        assert result.reached[level].on <= evidence.on


@settings(max_examples=300, deadline=None)
@given(bundles)
def test_dates_never_after_now_and_monotone(bundle: Bundle) -> None:
    result = derive(bundle, STAGES, RULES, NOW)
    dates = [result.reached[m].on for m in sorted(result.reached)]
    assert all(d <= NOW.date() for d in dates)
    assert dates == sorted(dates)
    assert set(result.reached) == set(range(1, result.milestone + 1))
