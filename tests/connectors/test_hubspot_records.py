"""Wire format -> canonical records: string-or-null properties, read the documented way."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta

import pytest

from milestones.connectors.fields import WriteSpec
from milestones.connectors.hubspot.fields import definition
from milestones.connectors.hubspot.records import (
    PropertyPlan,
    parse_time,
    rollup_activities,
    to_activity,
    to_contact,
    to_deal,
    to_stages,
)
from milestones.connectors.hubspot.settings import HUBSPOT_FIELD_NAMES, HubSpotSettings
from milestones.mapping.records import Stage

SETTINGS = HubSpotSettings(access_token="pat-test")
SPEC = WriteSpec(names=dict(HUBSPOT_FIELD_NAMES), extra_properties=("referred_by", "nps"))


def _raw(rid: str, **props: str | None) -> dict:
    return {"id": rid, "properties": props, "archived": False}


def test_contact_reads_status_optout_referrer_and_our_fields() -> None:
    plan = PropertyPlan.build(SETTINGS, SPEC)
    raw = _raw(
        "11",
        email="a@x.io",
        hs_lead_status="UNQUALIFIED",
        hs_email_optout="true",
        referred_by="22",
        nps="10",
        sales_milestone="prospect",
        lastmodifieddate="2026-01-02T03:04:05.678Z",
    )
    contact = to_contact(raw, plan)
    assert contact.lead_status == "UNQUALIFIED"
    assert contact.is_opted_out is True
    assert contact.referred_by == "22"
    assert contact.modified_at == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert contact.properties["nps"] == "10"
    assert contact.properties["sales_milestone"] == "prospect"
    assert contact.properties["is_advocate"] is None  # requested but unset: None
    assert "email" not in contact.properties


def test_property_plan_requests_only_what_the_mapping_needs() -> None:
    plan = PropertyPlan.build(SETTINGS, SPEC, ["closedwon"])
    assert "lifecyclestage" not in plan.contacts
    assert "deal_milestone" in plan.deals and "sales_milestone" not in plan.deals
    assert "hs_v2_date_entered_closedwon" in plan.deals
    assert "hs_date_entered_closedwon" in plan.deals
    crowded = PropertyPlan.build(SETTINGS, SPEC, [f"{n:010d}" for n in range(80)])
    assert not any("date_entered_0" in name for name in crowded.deals)  # URL kept short
    mirrored = SETTINGS.model_copy(update={"lifecycle_mirror": {"client": "customer"}})
    assert "lifecyclestage" in PropertyPlan.build(mirrored, SPEC).contacts


def test_deal_stage_entry_never_uses_the_modified_time() -> None:
    plan = PropertyPlan.build(SETTINGS, SPEC, ["qualifiedtobuy"])
    stages = {"qualifiedtobuy": Stage("qualifiedtobuy", "Q", is_closed=False)}
    raw = _raw(
        "5",
        dealstage="qualifiedtobuy",
        createdate="2026-01-01T00:00:00Z",
        hs_lastmodifieddate="2026-03-01T00:00:00Z",
        closedate="2026-02-15T00:00:00.000Z",
    )
    deal = to_deal(raw, plan, ["1", "2"], stages)
    assert deal.stage_changed_at == datetime(2026, 1, 1, tzinfo=UTC)  # createdate fallback
    assert deal.is_closed is False and deal.is_won is False  # from the stage catalogue
    assert deal.close_date == date(2026, 2, 15)
    assert deal.contact_ids == ("1", "2")
    legacy = dict(raw["properties"], hs_date_entered_qualifiedtobuy="2026-01-03T00:00:00Z")
    deal = to_deal({**raw, "properties": legacy}, plan, [], stages)
    assert deal.stage_changed_at == datetime(2026, 1, 3, tzinfo=UTC)
    entered = dict(legacy, hs_v2_date_entered_qualifiedtobuy="1767312000000")
    deal = to_deal({**raw, "properties": entered}, plan, [], stages)
    assert deal.stage_changed_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert not any("date_entered" in name for name in deal.properties)


@pytest.mark.parametrize(
    ("object_type", "props", "expected"),
    [
        ("emails", {"hs_email_direction": "INCOMING_EMAIL"}, ("email", "inbound", None, None)),
        ("emails", {"hs_email_direction": "FORWARDED_EMAIL"}, ("email", "outbound", None, None)),
        (
            "calls",
            {
                "hs_call_direction": "INBOUND",
                "hs_call_status": "COMPLETED",
                "hs_call_disposition": "f240bbac-87c9-4f6e-bf70-924b57d47db7",
            },
            ("call", "inbound", "completed", "f240bbac-87c9-4f6e-bf70-924b57d47db7"),
        ),
        ("meetings", {"hs_meeting_outcome": "NO_SHOW"}, ("meeting", None, "no_show", None)),
        ("meetings", {"hs_meeting_outcome": None}, ("meeting", None, None, None)),
        ("notes", {}, ("note", None, None, None)),
    ],
)
def test_activity_normalisation(object_type: str, props: dict, expected: tuple) -> None:
    raw = _raw("9", hs_timestamp="2026-01-05T10:00:00Z", **props)
    activity = to_activity(raw, object_type, ["1"], ["7"])
    assert (activity.kind, activity.direction, activity.status, activity.disposition) == expected
    assert activity.occurred_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert activity.contact_ids == ("1",) and activity.deal_ids == ("7",)


def test_rollups_become_inbound_emails_keyed_by_property() -> None:
    settings = SETTINGS.model_copy(update={"activities": "rollups"})
    plan = PropertyPlan.build(settings, SPEC)
    raw = _raw("3", hs_sales_email_last_replied="2026-02-01T00:00:00Z")
    [activity] = rollup_activities(raw, plan)
    assert activity.id == "3:hs_sales_email_last_replied"
    assert (activity.kind, activity.direction, activity.contact_ids) == ("email", "inbound", ("3",))


def test_stage_catalogue_keys_on_id_with_string_metadata() -> None:
    pipelines = [
        {
            "id": "default",
            "stages": [
                {
                    "id": "closedwon",
                    "label": "Won!",
                    "displayOrder": 5,
                    "metadata": {"isClosed": "true", "probability": "1.0"},
                },
                {
                    "id": "closedlost",
                    "label": "Lost",
                    "displayOrder": 6,
                    "metadata": {"isClosed": "true", "probability": "0.0"},
                },
                {
                    "id": "123",
                    "label": "Custom",
                    "metadata": {
                        "isClosed": "false",
                        "probability": "0.40000000000000002220446049250313080847263336181640625",
                    },
                },
            ],
        }
    ]
    won, lost, custom = to_stages(pipelines)
    assert (won.id, won.is_closed, won.is_won) == ("closedwon", True, True)
    assert (lost.is_closed, lost.is_won) == (True, False)
    assert custom.probability == pytest.approx(0.4) and not custom.is_closed


def test_times_parse_iso_and_epoch_millis() -> None:
    assert parse_time("1700000000000") == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert parse_time("") is None and parse_time(None) is None


def test_field_definitions_carry_their_options() -> None:
    milestone = definition("milestone", "sales_milestone")
    assert (milestone["type"], milestone["fieldType"]) == ("enumeration", "select")
    assert [o["value"] for o in milestone["options"]] == [
        "target",
        "prospect",
        "opportunity",
        "client",
        "advocate",
    ]
    flag = definition("is_advocate", "is_advocate")
    assert (flag["type"], [o["value"] for o in flag["options"]]) == ("bool", ["true", "false"])
    assert definition("milestone_date", "d")["type"] == "date"
    assert definition("milestone", "x")["groupName"] == "milestones"


def test_batch_errors_name_their_records_in_every_documented_shape() -> None:
    from milestones.connectors.hubspot.write import _errors_by_id, _named_ids

    missing = {  # 207 from batch read/update (hubspot-api.md §1.3)
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": "Could not get some CONTACT objects, they may be deleted or not exist.",
        "context": {"ids": ["999", "1000"]},
    }
    nested = {"category": "VALIDATION_ERROR", "errors": [{"context": {"id": ["7"]}}]}
    assert _named_ids(missing) == {"999", "1000"}
    assert _named_ids(nested) == {"7"}
    assert _named_ids({"id": 12, "message": "x"}) == {"12"}
    assert _named_ids({"category": "VALIDATION_ERROR", "message": "bad value"}) == set()
    assert _errors_by_id([missing])["1000"] == (missing, missing["message"])


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T10:00:00Z",
        "2024-05-01T10:00:00.123Z",
        "2024-05-01T10:00:00.123456Z",
        " 2024-05-01T10:00:00Z",  # not the usual form: the careful path strips it
        "2024-05-01Z",  # a date with a zone: no time to read
        "yesterday Z",
    ],
)
def test_the_usual_utc_form_reads_as_the_careful_path_reads_it(text: str) -> None:
    expected = None
    with contextlib.suppress(ValueError):
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        expected = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    got = parse_time(text)
    assert got == expected
    assert got is None or got.utcoffset() == timedelta(0)


def test_records_keep_only_requested_properties_as_strings_and_v2_entry_dates_win() -> None:
    """What a record keeps is decided once per plan: unrequested properties a server sends
    are dropped, non-string values read as strings, and of a stage's two entry dates the v2
    one is kept, whichever order they arrive in."""
    spec = WriteSpec(
        names=dict(HUBSPOT_FIELD_NAMES), extra_properties=("nps",), referrer_property="referred_by"
    )  # the referrer is named but never requested
    plan = PropertyPlan.build(SETTINGS, spec, ["won"])
    contact = to_contact(_raw("4", nps=9, referred_by="22", unasked="x"), plan)
    assert contact.properties["nps"] == "9" and "unasked" not in contact.properties
    assert contact.referred_by is None  # the referrer was not requested
    v2, legacy = "2026-01-03T00:00:00Z", "2026-01-02T00:00:00Z"
    for props in (
        {"hs_v2_date_entered_won": v2, "hs_date_entered_won": legacy},
        {"hs_date_entered_won": legacy, "hs_v2_date_entered_won": v2},
    ):
        deal = to_deal(_raw("5", dealstage="won", amount=5, **props), plan, [], {})
        assert deal.stage_entered == {"won": datetime(2026, 1, 3, tzinfo=UTC)}
        assert deal.stage_changed_at == datetime(2026, 1, 3, tzinfo=UTC)  # no current_stage
        assert deal.amount == 5.0 and not any("date_entered" in n for n in deal.properties)
    only_legacy = to_deal(_raw("6", dealstage="won", hs_date_entered_won=legacy), plan, [], {})
    assert only_legacy.stage_entered == {"won": datetime(2026, 1, 2, tzinfo=UTC)}
    unplanned = to_deal(_raw("7", dealstage="lost", hs_v2_date_entered_lost=v2), plan, [], {})
    assert unplanned.stage_entered == {} and unplanned.stage_changed_at is None
