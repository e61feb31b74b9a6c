"""The Salesforce sandbox's query API through the real simple-salesforce client."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.salesforce.ids import normalize_id
from milestones.sandbox.world.gen import generate_world

WIRE_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000$")
BATCH_200 = {"Sforce-Query-Options": "batchSize=200"}


def client_for(server: SalesforceServer) -> Salesforce:
    """simple-salesforce in session mode, trusting the sandbox CA whatever the env says."""
    session = requests.Session()
    session.verify = server.ca_bundle
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (reference 6.1)
    return Salesforce(instance_url=server.url, session_id=server.token, session=session)


@pytest.fixture(scope="module")
def server() -> Iterator[SalesforceServer]:
    with SalesforceServer(generate_world(seed=7, contacts=700)) as srv:
        yield srv


@pytest.fixture(scope="module")
def sf(server: SalesforceServer) -> Salesforce:
    return client_for(server)


def test_pages_follow_next_records_url_until_done(sf: Salesforce) -> None:
    soql = "SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id"
    first = sf.query(soql, headers=BATCH_200)
    assert first["done"] is False and len(first["records"]) == 200
    assert re.fullmatch(r"/services/data/v59\.0/query/01g\w{12}-200", first["nextRecordsUrl"])
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=BATCH_200)
    assert second["totalSize"] == first["totalSize"]
    assert second["records"][0]["Id"] != first["records"][-1]["Id"]
    records = list(sf.query_all_iter(soql, headers=BATCH_200))
    assert len(records) == first["totalSize"] == len({r["Id"] for r in records})
    keys = [(r["SystemModstamp"], r["Id"]) for r in records]
    assert keys == sorted(keys)


def test_query_more_by_locator_and_default_page_of_2000(sf: Salesforce) -> None:
    first = sf.query("SELECT Id FROM Task", include_deleted=True)
    assert first["totalSize"] > 2000 and len(first["records"]) == 2000
    locator = first["nextRecordsUrl"].rsplit("/", 1)[1]
    rest = sf.query_more(locator, include_deleted=True)
    assert rest["done"] is True and "nextRecordsUrl" not in rest
    assert len(first["records"]) + len(rest["records"]) == first["totalSize"]


@pytest.mark.parametrize(("asked", "served"), [("50", 200), ("999", 999), ("100000", 2000)])
def test_batch_size_is_clamped(sf: Salesforce, asked: str, served: int) -> None:
    options = {"Sforce-Query-Options": f"batchSize={asked}"}
    page = sf.query("SELECT Id FROM Task", include_deleted=True, headers=options)
    assert len(page["records"]) == served


def test_unknown_or_finished_locator_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query_more("01g5g0000009999-200")
    assert info.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_eleventh_open_cursor_releases_the_oldest(sf: Salesforce) -> None:
    pages = [sf.query("SELECT Id FROM Task", headers=BATCH_200) for _ in range(11)]
    with pytest.raises(SalesforceMalformedRequest):
        sf.query_more(pages[0]["nextRecordsUrl"], identifier_is_url=True)
    assert sf.query_more(pages[10]["nextRecordsUrl"], identifier_is_url=True)["records"]


def test_records_carry_attributes_ids_and_wire_datetimes(sf: Salesforce) -> None:
    page = sf.query(
        "SELECT Id, CreatedDate, LastModifiedDate, SystemModstamp, IsDeleted FROM Contact LIMIT 5"
    )
    for record in page["records"]:
        assert record["attributes"] == {
            "type": "Contact",
            "url": f"/services/data/v59.0/sobjects/Contact/{record['Id']}",
        }
        assert len(record["Id"]) == 18 and normalize_id(record["Id"]) == record["Id"]
        for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            assert WIRE_DATETIME.match(record[name])
        assert record["LastModifiedDate"] <= record["SystemModstamp"]


def test_system_modstamp_ties_are_resolved_by_id_keyset(sf: Salesforce) -> None:
    rows = list(
        sf.query_all_iter("SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id")
    )
    stamps = [r["SystemModstamp"] for r in rows]
    tied = next(s for s in stamps if stamps.count(s) > 1)
    at = stamps.index(tied)
    last = rows[at]
    stamp = tied.replace(".000+0000", "Z")
    soql = format_soql(
        "SELECT Id FROM Contact WHERE (SystemModstamp = {:literal} AND Id > {}) "
        "OR SystemModstamp > {:literal} ORDER BY SystemModstamp, Id",
        stamp,
        last["Id"],
        stamp,
    )
    after = [r["Id"] for r in sf.query_all_iter(soql)]
    assert after == [r["Id"] for r in rows[at + 1 :]]


def test_query_all_adds_deleted_rows(sf: Salesforce) -> None:
    live = sf.query("SELECT COUNT() FROM Contact")["totalSize"]
    everything = sf.query("SELECT COUNT() FROM Contact", include_deleted=True)["totalSize"]
    deleted = sf.query_all("SELECT Id FROM Contact WHERE IsDeleted = true", include_deleted=True)
    assert everything == live + deleted["totalSize"] and deleted["totalSize"] > 0
    assert sf.query("SELECT COUNT() FROM Contact WHERE IsDeleted = true")["totalSize"] == 0


def test_old_activities_are_archived_out_of_query(sf: Salesforce) -> None:
    everything = sf.query("SELECT COUNT() FROM Task", include_deleted=True)["totalSize"]
    live = sf.query("SELECT COUNT() FROM Task")["totalSize"]
    archived = sf.query_all(
        "SELECT Id, Status, ActivityDate FROM Task WHERE IsArchived = true", include_deleted=True
    )["records"]
    assert archived and all(r["Status"] == "Completed" for r in archived)
    deleted = sf.query("SELECT COUNT() FROM Task WHERE IsDeleted = true", include_deleted=True)
    assert live < everything <= live + len(archived) + deleted["totalSize"]
    assert sf.query("SELECT COUNT() FROM Task WHERE IsArchived = true")["totalSize"] == 0


def test_oversized_query_uri_is_refused(sf: Salesforce) -> None:
    ids = [f"0035g{n:010d}" for n in range(1200)]
    with pytest.raises(SalesforceGeneralError) as info:
        sf.query(format_soql("SELECT Id FROM Contact WHERE Id IN {}", ids))
    assert info.value.status == 414


def test_parent_fields_nest_and_null_lookups_are_null(sf: Salesforce) -> None:
    rows = sf.query_all("SELECT Id, AccountId, Account.Name, Owner.Email FROM Contact")["records"]
    with_account = next(r for r in rows if r["AccountId"])
    assert with_account["Account"]["attributes"]["type"] == "Account"
    assert with_account["Account"]["Name"]
    assert with_account["Owner"]["Email"].endswith(".example")
    assert next(r for r in rows if r["AccountId"] is None)["Account"] is None


def test_child_subqueries_nest_query_results(sf: Salesforce) -> None:
    soql = (
        "SELECT Id, (SELECT ContactId, IsPrimary FROM OpportunityContactRoles "
        "ORDER BY IsPrimary DESC LIMIT 1) FROM Opportunity ORDER BY Id"
    )
    opportunities = sf.query_all(soql)["records"]
    roles = sf.query_all("SELECT OpportunityId, ContactId, IsPrimary FROM OpportunityContactRole")
    primary = {r["OpportunityId"]: r["ContactId"] for r in roles["records"] if r["IsPrimary"]}
    for opp in opportunities:
        nested = opp["OpportunityContactRoles"]
        if opp["Id"] in primary:
            assert nested["totalSize"] == 1 and nested["done"] is True
            assert nested["records"][0]["ContactId"] == primary[opp["Id"]]
        else:
            assert nested is None
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id, (SELECT Id FROM Nope) FROM Opportunity")
    assert info.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_leads_converted_and_disqualified(sf: Salesforce) -> None:
    converted = sf.query_all(
        "SELECT Id, Status, ConvertedContactId, ConvertedContact.Email FROM Lead "
        "WHERE IsConverted = TRUE"
    )["records"]
    assert converted and all(r["Status"] == "Closed - Converted" for r in converted)
    assert all(r["ConvertedContactId"].startswith("003") for r in converted)
    found = sf.query(
        format_soql("SELECT Id FROM Contact WHERE Id = {}", converted[0]["ConvertedContactId"])
    )
    assert found["totalSize"] == 1
    closed = sf.query("SELECT COUNT() FROM Lead WHERE Status = 'Closed - Not Converted'")
    assert closed["totalSize"] > 0


def test_email_messages_tie_to_people(sf: Salesforce) -> None:
    incoming = sf.query_all(
        "SELECT Id, FromAddress, ActivityId FROM EmailMessage WHERE Incoming = true"
    )
    assert incoming["totalSize"] > 0
    ids = [r["Id"] for r in incoming["records"][:50]]
    relations = sf.query_all(
        format_soql(
            "SELECT EmailMessageId, RelationId, RelationAddress FROM EmailMessageRelation "
            "WHERE RelationType = 'FromAddress' AND EmailMessageId IN {}",
            ids,
        )
    )["records"]
    assert {r["EmailMessageId"] for r in relations} == set(ids)
    assert all(r["RelationId"][:3] in ("003", "00Q") for r in relations)
    sender = {r["EmailMessageId"]: r["RelationId"] for r in relations}
    first = incoming["records"][0]
    task = sf.query(
        format_soql("SELECT WhoId, TaskSubtype FROM Task WHERE Id = {}", first["ActivityId"])
    )["records"][0]
    assert task["TaskSubtype"] == "Email"
    assert task["WhoId"] == sender[first["Id"]]


def test_calls_events_and_stages_read_like_salesforce(sf: Salesforce) -> None:
    calls = sf.query_all(
        "SELECT CallType, CallDisposition, Status FROM Task WHERE TaskSubtype = 'Call' AND "
        "CallType = 'Inbound' AND Status = 'Completed'"
    )
    assert calls["totalSize"] > 0
    events = sf.query_all("SELECT StartDateTime, EndDateTime FROM Event")["records"]
    assert events and all(e["StartDateTime"] < e["EndDateTime"] for e in events)
    stages = sf.query("SELECT ApiName, IsClosed, IsWon, DefaultProbability FROM OpportunityStage")
    won = [s["ApiName"] for s in stages["records"] if s["IsWon"]]
    assert "Closed Won" in won
    opps = sf.query(
        "SELECT COUNT() FROM Opportunity WHERE StageName = 'Closed Won' AND IsWon = true"
    )
    assert opps["totalSize"] > 0


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Contact WHERE LastName = '' OR '1'='1'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE A = 1 AND B = 2 OR C = 3", "MALFORMED_QUERY"),
        ("SELECT Nope__c FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE SystemModstamp > 2024-01-01", "INVALID_FIELD"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
        ("SELECT Id FROM Contact WHERE Id = 'nonsense'", "INVALID_QUERY_FILTER_OPERATOR"),
    ],
)
def test_refused_queries_answer_400_error_arrays(sf: Salesforce, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query(soql)
    assert info.value.status == 400
    assert info.value.content[0]["errorCode"] == code
    assert info.value.content[0]["message"]


def test_escaped_values_cannot_inject(sf: Salesforce) -> None:
    hostile = "x' OR LastName != 'y"
    assert (
        sf.query(format_soql("SELECT Id FROM Contact WHERE LastName = {}", hostile))["totalSize"]
        == 0
    )
    obrien = sf.query("SELECT COUNT() FROM Contact WHERE LastName = 'O\\'Brien'")["totalSize"]
    again = sf.query(format_soql("SELECT COUNT() FROM Contact WHERE LastName = {}", "O'Brien"))
    assert obrien == again["totalSize"] > 0
