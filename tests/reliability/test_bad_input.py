"""Bad input: malformed records and unusable config, each answered with a clear message and
nothing lost.

Every record case starts a twin of a reference sandbox CRM (same seed), breaks one thing in
what the CRM serves, and runs the real ``milestones`` command in-process. It checks what
the user sees (exit code, a message naming the problem, no traceback) and what the CRM
holds: every record the bad input does not concern gets exactly the reference run's values.
Record cases are mostly HubSpot, whose wire values are strings, so anything can arrive.
Bad API answers are in ``test_bad_answers.py``, unusable config in ``test_bad_config.py``,
shared pieces in ``bad_input_support``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from bad_input_support import (
    CONTACTS_LIST,
    DEALS_LIST,
    EMAILS_LIST,
    SF_QUERY,
    Case,
    Reference,
    assert_clean,
    assert_intact,
    assert_valid_milestones,
    hubspot_ref,
    persons_of_activities,
    persons_of_deals,
    persons_of_emails,
    salesforce_ref,
    set_property,
    twin,
)
from reliability_support import Crm, Tamper, differing, edit_json, path_is

__all__ = ["hubspot_ref", "salesforce_ref", "twin"]  # fixtures used by the tests below


# --- records ------------------------------------------------------------------------------


def nps_answer(value: Any) -> Callable[[Crm, Reference], None]:
    """A client's promoter score arrives as ``value``: unreadable scores prove nothing."""

    def case(crm: Crm, ref: Reference) -> None:
        client = ref.people("client")[0]
        crm.server.mutate("update", kind="person", id=client, values={"nps": 3})
        Tamper(
            crm.server,
            CONTACTS_LIST,
            edit_json(set_property("hs_feedback_last_nps_rating", value, {str(client)})),
        )
        outcome = crm.cli("sync")
        assert_clean(outcome)
        assert outcome.code == 0, outcome.text
        if value in ("-3", "999"):  # a number is quoted; text, which may name someone, is not
            assert f"hs_feedback_last_nps_rating={value!r}" in outcome.text, outcome.text
        if value in ("ten", "nine and a half"):
            assert "hs_feedback_last_nps_rating (" in outcome.text, outcome.text
            assert repr(value) not in outcome.text
        if value in ("ten", "-3", "999", "nine and a half"):
            assert "NPS ignored" in outcome.text
        if value in ("ten", "", "-3", "999", "nine and a half"):
            assert_intact(crm, ref)  # still a client, like everyone else unchanged
        else:
            assert_intact(crm, ref, {("person", client)})
            assert_valid_milestones(crm, {client})

    return case


def nps_promoter_control(crm: Crm, ref: Reference) -> None:
    """The control: a readable 10 does make the client an advocate (the check can fail)."""
    client = ref.people("client")[0]
    crm.server.mutate("update", kind="person", id=client, values={"nps": 3})
    Tamper(
        crm.server,
        CONTACTS_LIST,
        edit_json(set_property("hs_feedback_last_nps_rating", "10", {str(client)})),
    )
    assert crm.cli("sync").code == 0
    assert crm.crm_values()[("person", client)]["sales_milestone"] == "advocate"
    assert_intact(crm, ref, {("person", client)})


def nps_date_out_of_range(crm: Crm, ref: Reference) -> None:
    """A promoter's survey date past year 9999 (epoch ms): the score counts, undated."""
    crm.config.write_text(
        crm.config.read_text()
        + '[mapping.advocate]\nnps_date_property = "hs_feedback_last_survey_date"\n'
    )
    client = ref.people("client")[0]
    crm.server.mutate("update", kind="person", id=client, values={"nps": 10})
    Tamper(
        crm.server,
        CONTACTS_LIST,
        edit_json(
            set_property("hs_feedback_last_survey_date", "99999999999999999999", {str(client)})
        ),
    )
    outcome = crm.cli("sync")
    assert_clean(outcome)
    assert outcome.code == 0, outcome.text
    assert crm.crm_values()[("person", client)]["sales_milestone"] == "advocate"


def email_time(value: Any) -> Callable[[Crm, Reference], None]:
    """Every email's timestamp arrives as ``value``: milestones stand, only dates may move."""

    def case(crm: Crm, ref: Reference) -> None:
        Tamper(crm.server, EMAILS_LIST, edit_json(set_property("hs_timestamp", value)))
        outcome = crm.cli("sync")
        assert_clean(outcome)
        assert outcome.code == 0, outcome.text
        assert not value or "is not a date or time" in outcome.text
        assert not value or repr(value) not in outcome.text  # CRM values are not logged
        touched = persons_of_emails(crm)
        assert_intact(crm, ref, touched)
        assert_valid_milestones(crm, {rid for _, rid in touched})

    return case


def contact_time(name: str, value: Any) -> Callable[[Crm, Reference], None]:
    """A contact date property is garbage on every contact: nothing changes, nothing lost."""

    def case(crm: Crm, ref: Reference) -> None:
        Tamper(crm.server, CONTACTS_LIST, edit_json(set_property(name, value)))
        outcome = crm.cli("sync")
        assert_clean(outcome)
        assert outcome.code == 0, outcome.text
        assert_intact(crm, ref)

    return case


def deal_close_date_null(crm: Crm, ref: Reference) -> None:
    Tamper(crm.server, DEALS_LIST, edit_json(set_property("closedate", None)))
    outcome = crm.cli("sync")
    assert outcome.code == 0, outcome.text
    touched = persons_of_deals(crm)
    assert_intact(crm, ref, touched)
    assert_valid_milestones(crm, {rid for _, rid in touched})


def deal_close_date(value: str) -> Case:
    """Every deal's close date is unreadable: named in a warning, ignored, nothing stops."""

    def case(crm: Crm, ref: Reference) -> None:
        Tamper(crm.server, DEALS_LIST, edit_json(set_property("closedate", value)))
        outcome = crm.cli("sync")
        assert_clean(outcome)
        assert outcome.code == 0, outcome.text
        assert "is not a date or time; ignored" in outcome.text
        assert repr(value) not in outcome.text  # CRM values are not logged
        touched = persons_of_deals(crm)
        assert_intact(crm, ref, touched)
        assert_valid_milestones(crm, {rid for _, rid in touched})

    return case


def empty_id(crm: Crm, ref: Reference) -> None:
    """A record arrives without an id: skipped with a warning; a full sync recovers it."""
    blanked: list[str] = []

    def blank(payload: Any) -> None:
        blanked.append(str(payload["results"][0]["id"]))
        payload["results"][0]["id"] = ""

    Tamper(crm.server, CONTACTS_LIST, edit_json(blank), times=1)
    outcome = crm.cli("sync")
    assert outcome.code == 0, outcome.text
    assert "without an id" in outcome.text
    assert_intact(crm, ref, {("person", int(blanked[0]))})
    with sqlite3.connect(crm.state) as db:
        assert db.execute("SELECT count(*) FROM contacts WHERE id = ''").fetchone() == (0,)
    assert crm.cli("sync", "--full").code == 0
    assert_intact(crm, ref)


def duplicate_ids(crm: Crm, ref: Reference) -> None:
    def duplicate(payload: Any) -> None:
        payload["results"].append(json.loads(json.dumps(payload["results"][0])))

    Tamper(crm.server, CONTACTS_LIST, edit_json(duplicate))
    outcome = crm.cli("sync")
    assert outcome.code == 0, outcome.text
    assert_intact(crm, ref)


def null_properties(crm: Crm, ref: Reference) -> None:
    def nullify(payload: Any) -> None:
        payload["results"][1]["properties"] = None

    Tamper(crm.server, CONTACTS_LIST, edit_json(nullify), times=1)
    outcome = crm.cli("sync")
    assert_clean(outcome)
    assert outcome.code == 0, outcome.text
    assert_intact(crm, ref)


def strange_names(values: dict[str, Any]) -> Callable[[Crm, Reference], None]:
    """Unicode, control characters or megabyte strings in a client's own fields."""

    def case(crm: Crm, ref: Reference) -> None:
        client = ref.people("client")[0]
        crm.server.mutate("update", kind="person", id=client, values=values)
        outcome = crm.cli("sync")
        assert_clean(outcome)
        assert outcome.code == 0, outcome.text
        assert_intact(crm, ref)
        explained = crm.cli("explain", str(client), "--json")
        assert explained.code == 0 and json.loads(explained.out)["milestone"] == "client"

    return case


def referrer_text(value: str) -> Callable[[Crm, Reference], None]:
    """A referrer reference that names nobody (or injects SQL): nobody becomes an advocate."""

    def case(crm: Crm, ref: Reference) -> None:
        target = ref.people("target")[0]
        Tamper(
            crm.server, CONTACTS_LIST, edit_json(set_property("referred_by", value, {str(target)}))
        )
        outcome = crm.cli("sync")
        assert outcome.code == 0, outcome.text
        assert_intact(crm, ref)

    return case


def self_referral(crm: Crm, ref: Reference) -> None:
    """A client named as their own referrer is no advocate for it."""
    client = ref.people("client")[0]
    Tamper(
        crm.server,
        CONTACTS_LIST,
        edit_json(set_property("referred_by", str(client), {str(client)})),
    )
    assert crm.cli("sync").code == 0
    assert_intact(crm, ref)


def unknown_lead_status(crm: Crm, ref: Reference) -> None:
    Tamper(crm.server, CONTACTS_LIST, edit_json(set_property("hs_lead_status", "SOMETHING_NEW")))
    assert crm.cli("sync").code == 0
    diff = differing(ref.values, crm.crm_values())
    for before, after in diff.values():  # only the UNQUALIFIED ones lose the flag
        assert "lead status" in str(before.get("sales_disqualified_reason")), (before, after)
        assert after.get("sales_milestone") == before.get("sales_milestone")


def association_to_nobody(crm: Crm, ref: Reference) -> None:
    """A deal associated with a contact id that does not exist."""

    def add_ghost(payload: Any) -> None:
        for result in payload.get("results", []):
            result.setdefault("to", []).append({"toObjectId": 99999999, "associationTypes": []})

    Tamper(
        crm.server,
        path_is("POST", "/crm/associations/2026-09/deals/contacts"),
        edit_json(add_ghost),
    )
    outcome = crm.cli("sync")
    assert outcome.code == 0, outcome.text
    assert_intact(crm, ref)


def sf_nps_text(crm: Crm, ref: Reference) -> None:
    """NPS_Score__c arrives as text ('ten') in the query answer."""

    def score(payload: Any) -> None:
        for row in payload.get("records") or []:
            if "NPS_Score__c" in row:
                row["NPS_Score__c"] = "ten"

    Tamper(crm.server, SF_QUERY, edit_json(score))
    outcome = crm.cli("sync")
    assert_clean(outcome)
    assert outcome.code == 0, outcome.text
    with crm.world.lock:
        scored = {p.id for p in crm.world.iter("person") if p.nps is not None}
    assert_intact(crm, ref, {("person", pid) for pid in scored})
    assert_valid_milestones(crm, scored)


def sf_bad_date(field: str, value: str, sobject: str, touches: str) -> Case:
    """One date field is unreadable on every row of ``sobject``: warned about, ignored."""

    def case(crm: Crm, ref: Reference) -> None:
        def spoil(payload: Any) -> None:
            for row in payload.get("records") or []:
                if field in row and row.get("attributes", {}).get("type") == sobject:
                    row[field] = value

        Tamper(crm.server, SF_QUERY, edit_json(spoil))
        outcome = crm.cli("sync")
        assert_clean(outcome)
        assert outcome.code == 0, outcome.text
        assert f"{field} ({len(value)} characters) is not a" in outcome.text, outcome.text[-1500:]
        assert repr(value) not in outcome.text  # CRM values are not logged
        if touches == "deals":
            touched = persons_of_deals(crm)
        else:
            touched = persons_of_emails(crm) | persons_of_activities(crm)
        assert_intact(crm, ref, touched)
        assert_valid_milestones(crm, {rid for _, rid in touched})

    return case


def sf_unreadable_stamp(crm: Crm, ref: Reference) -> None:
    """A SystemModstamp the cursor cannot use stops those streams, loudly; nothing else."""

    def spoil(payload: Any) -> None:
        for row in payload.get("records") or []:
            if row.get("attributes", {}).get("type") == "Opportunity":
                row["SystemModstamp"] = "yesterday"

    tamper = Tamper(crm.server, SF_QUERY, edit_json(spoil))
    outcome = crm.cli("sync")
    assert_clean(outcome)
    assert outcome.code == 1 and "unreadable datetime 'yesterday'" in outcome.text
    tamper.remove()
    crm.settle()
    assert crm.cli("sync").code == 0
    assert_intact(crm, ref)


HUBSPOT_RECORDS: dict[str, Case] = {
    "nps 'ten'": nps_answer("ten"),
    "nps empty string": nps_answer(""),
    "nps negative": nps_answer("-3"),
    "nps '9.5'": nps_answer("9.5"),
    "nps 999": nps_answer("999"),
    "nps as a sentence": nps_answer("nine and a half"),
    "nps survey date past year 9999": nps_date_out_of_range,
    "email timestamp malformed": email_time("2024-13-45T99:00:00Z"),
    "email timestamp null": email_time(None),
    "email timestamp empty": email_time(""),
    "contact createdate garbage": contact_time("createdate", "yesterday"),
    "contact modified date garbage": contact_time("lastmodifieddate", "not a date"),
    "deal close date null": deal_close_date_null,
    "deal close date past year 9999": deal_close_date("99999999999999999999"),
    "deal close date malformed": deal_close_date("31/02/2024"),
    "empty record id": empty_id,
    "duplicate record ids": duplicate_ids,
    "properties null": null_properties,
    "unicode and control characters": strange_names(
        {"firstname": "Zoë 👩‍💼 ‮ʇxǝʇ\u0000", "lastname": "Ñúñez-Łódź 李"}
    ),
    "megabyte strings": strange_names({"lastname": "x" * 1_000_000, "jobtitle": "é" * 100_000}),
    "referrer names nobody": referrer_text("no-such-person@example.invalid"),
    "referrer injects SQL": referrer_text("'; DROP TABLE contacts; --"),
    "self referral": self_referral,
    "unknown lead status": unknown_lead_status,
    "association to a missing contact": association_to_nobody,
}
SALESFORCE_RECORDS: dict[str, Case] = {
    "NPS as text": sf_nps_text,
    "CloseDate malformed": sf_bad_date("CloseDate", "31/02/2024", "Opportunity", "deals"),
    "ActivityDate malformed": sf_bad_date("ActivityDate", "garbage", "Task", "activities"),
    "MessageDate malformed": sf_bad_date(
        "MessageDate", "2024-99-99T00:00:00.000+0000", "EmailMessage", "activities"
    ),
    "SystemModstamp unreadable": sf_unreadable_stamp,
}


@pytest.mark.parametrize("provider", ["hubspot"])
@pytest.mark.parametrize("name", list(HUBSPOT_RECORDS))
def test_hubspot_bad_record(provider: str, name: str, twin: tuple[Crm, Reference]) -> None:
    HUBSPOT_RECORDS[name](*twin)


@pytest.mark.parametrize("provider", ["hubspot"])
def test_a_readable_promoter_score_is_seen(provider: str, twin: tuple[Crm, Reference]) -> None:
    nps_promoter_control(*twin)


@pytest.mark.parametrize("provider", ["salesforce"])
@pytest.mark.parametrize("name", list(SALESFORCE_RECORDS))
def test_salesforce_bad_record(provider: str, name: str, twin: tuple[Crm, Reference]) -> None:
    SALESFORCE_RECORDS[name](*twin)
