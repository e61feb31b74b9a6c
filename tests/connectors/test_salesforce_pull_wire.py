"""Salesforce pulls against exact wire answers (`responses`): SOQL, paging, resume, records."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses
from sf_fixtures import (
    API,
    HOST,
    LIMIT_HEADER,
    FakeOrg,
    contact_row,
    lead_row,
    session_settings,
    sf_error,
    spec,
    stamp,
)

from milestones.connectors.base import Connector, StreamError, Window
from milestones.connectors.salesforce.connector import SalesforceConnector
from milestones.mapping.records import Activity, Contact, Deal, Link

UNTIL = datetime(2024, 5, 2, tzinfo=UTC)
SINCE = datetime(2024, 5, 1, 9, 59, 50, tzinfo=UTC)
PATH = API.removeprefix(HOST)  # the data API's path, as nextRecordsUrl gives it


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def connector(**kw) -> SalesforceConnector:
    return SalesforceConnector(session_settings(), spec(), sleep=lambda s: None, **kw)


def test_connector_offers_what_the_engine_reads(mock):
    # Conformance of the signatures is checked by mypy where the engine gets its connector
    # (milestones.sync.factory assigns it to a ``Connector``); this runs the protocol's
    # members the other tests here leave out.
    FakeOrg(mock)
    sf: Connector = connector()
    assert (sf.provider, sf.write_batch_size) == ("salesforce", 200)
    assert sf.kinds == ("contacts", "deals", "deal_contacts", "activities")
    assert sf.write([]) == []
    assert sf.usage().total == 0
    sf.close()


def test_full_pull_of_people_pages_contacts_then_leads(mock):
    org = FakeOrg(mock)
    org.describe("Contact")  # Sales_Milestone__c etc. not created yet
    org.describe("Lead", ["Sales_Milestone__c"])
    contacts = [contact_row(n, n // 2, NPS_Score__c=9.0 if n == 1 else None) for n in range(5)]
    contacts[3]["IsDeleted"] = True
    contacts[4]["Referred_By__c"] = contacts[1]["Id"]
    leads = [
        lead_row(1, 3, Sales_Milestone__c="prospect"),
        lead_row(2, 4, IsConverted=True, ConvertedContactId=contacts[2]["Id"]),
    ]
    first_contacts = org.pages("Contact", contacts, 2)
    first_leads = org.pages("Lead", leads, 2000)
    org.query(lambda q: (200, first_contacts if " FROM Contact " in q else first_leads))

    pages = list(connector().pull("contacts", Window(None, UNTIL)))

    # one Page per API page: 3 Contact pages (2+2+1 rows) and 1 Lead page
    assert [len(p.records) + len(p.deleted_ids) for p in pages] == [2, 2, 1, 2]
    assert pages[1].deleted_ids == [contacts[3]["Id"]]
    people = [r for p in pages for r in p.records]
    assert all(isinstance(r, Contact) for r in people)
    assert [r.id for r in people] == [contacts[i]["Id"] for i in (0, 1, 2, 4)] + [
        leads[0]["Id"],
        leads[1]["Id"],
    ]
    by_id = {r.id: r for r in people}
    assert by_id[contacts[1]["Id"]].properties["NPS_Score__c"] == "9"
    assert by_id[contacts[4]["Id"]].referred_by == contacts[1]["Id"]
    lead = by_id[leads[0]["Id"]]
    assert (lead.kind, lead.lead_status, lead.converted_to) == ("lead", "Working - Contacted", None)
    assert lead.properties["Sales_Milestone__c"] == "prospect"
    converted = by_id[leads[1]["Id"]]
    assert converted.converted_to == contacts[2]["Id"]
    # SOQL: only described fields, window capped at until, tie-safe order, queryAll
    contact_soql, lead_soql = org.queries
    assert "Sales_Milestone__c" not in contact_soql and "Sales_Milestone__c" in lead_soql
    # a full pull has no time bounds: the engine takes what it does not see as gone
    assert contact_soql.endswith("FROM Contact ORDER BY SystemModstamp, Id")
    # resume tokens: last (SystemModstamp, Id) of each page; next object after the last
    # Contact page; None at the very end
    assert json.loads(pages[0].resume) == {
        "object": "Contact",
        "stamp": stamp(0),
        "id": contacts[1]["Id"],
    }
    assert json.loads(pages[2].resume) == {"object": "Lead"}
    assert pages[3].resume is None


def test_incremental_pull_filters_the_window_and_resumes_after_a_tie(mock):
    org = FakeOrg(mock)
    org.describe("Opportunity", ["Deal_Milestone__c", "LastStageChangeDate"])
    rows = [
        {
            "Id": f"006xx00000000{n:02d}AAA",
            "Name": f"Deal {n}",
            "StageName": "Closed Won",
            "IsClosed": True,
            "IsWon": True,
            "CloseDate": "2024-04-30",
            "Amount": 1200.0,
            "OwnerId": None,
            "AccountId": None,
            "CreatedDate": stamp(0),
            "IsDeleted": False,
            "SystemModstamp": stamp(5),
            "LastStageChangeDate": stamp(4),
            "Deal_Milestone__c": None,
        }
        for n in range(3)
    ]
    first = org.pages("Opportunity", rows[2:], 2000)
    org.query(lambda q: (200, first))
    # a crash after the page that ended on the second of three rows sharing one second
    token = json.dumps({"object": "Opportunity", "stamp": stamp(5), "id": rows[1]["Id"]})

    pages = list(connector().pull("deals", Window(SINCE, UNTIL), resume=token))

    (soql,) = org.queries
    assert (
        "WHERE SystemModstamp >= 2024-05-01T09:59:50+00:00 "
        "AND SystemModstamp < 2024-05-02T00:00:00+00:00 "
        "AND (SystemModstamp > 2024-05-01T10:00:05+00:00 OR "
        "(SystemModstamp = 2024-05-01T10:00:05+00:00 AND Id > '006xx0000000001AAA')) "
        "ORDER BY SystemModstamp, Id"
    ) in soql
    (deal,) = pages[0].records
    assert isinstance(deal, Deal)
    assert (deal.stage_id, deal.is_won, deal.amount, deal.contact_ids) == (
        "Closed Won",
        True,
        1200.0,
        (),
    )
    assert deal.stage_changed_at == datetime(2024, 5, 1, 10, 0, 4, tzinfo=UTC)
    assert pages[0].resume is None


def test_an_expired_cursor_restarts_from_the_last_row_read(mock):
    org = FakeOrg(mock)
    org.describe("OpportunityContactRole")
    rows = [
        {
            "Id": f"00Kxx00000000{n:02d}AAA",
            "OpportunityId": "006xx0000000001AAA",
            "ContactId": f"003xx00000000{n:02d}AAA",
            "IsDeleted": n == 2,
            "SystemModstamp": stamp(1),
        }
        for n in range(4)
    ]
    first = org.pages("OpportunityContactRole", rows[:2], 2000)
    first = {**first, "done": False, "nextRecordsUrl": f"{PATH}/queryAll/01gDEAD-2"}
    rest = {"totalSize": 2, "done": True, "records": rows[2:]}
    mock.add(
        responses.GET,
        f"{API}/queryAll/01gDEAD-2",
        json=sf_error("INVALID_QUERY_LOCATOR", "invalid query locator"),
        status=400,
    )
    org.query(lambda q: (200, first if len(org.queries) == 1 else rest))

    pages = list(connector().pull("deal_contacts", Window(None, UNTIL)))

    assert len(org.queries) == 2
    assert "Id > '00Kxx0000000001AAA'" in org.queries[1]
    links = [r for p in pages for r in p.records]
    assert all(isinstance(r, Link) for r in links)
    assert [(link.contact_id, link.is_deleted) for link in links] == [
        ("003xx0000000000AAA", False),
        ("003xx0000000001AAA", False),
        ("003xx0000000002AAA", True),
        ("003xx0000000003AAA", False),
    ]


def test_activities_from_tasks_events_and_received_emails(mock):
    org = FakeOrg(mock)
    for sobject in ("Task", "Event", "EmailMessage"):
        org.describe(sobject)
    who, deal = "003xx0000000001AAA", "006xx0000000001AAA"
    tasks = [
        {
            "Id": "00Txx0000000001AAA",
            "WhoId": who,
            "WhatId": deal,
            "Status": "Completed",
            "TaskSubtype": "Email",
            "SystemModstamp": stamp(1),
            "CompletedDateTime": stamp(1),
        },
        {
            "Id": "00Txx0000000002AAA",
            "WhoId": who,
            "WhatId": "001xx0000000001AAA",
            "Status": "Completed",
            "TaskSubtype": "Call",
            "CallType": "Inbound",
            "CallDisposition": "Connected",
            "SystemModstamp": stamp(2),
            "ActivityDate": "2024-04-30",
        },
        {
            "Id": "00Txx0000000003AAA",
            "WhoId": None,
            "WhatId": None,
            "Status": "Not Started",
            "TaskSubtype": "Task",
            "SystemModstamp": stamp(3),
        },
    ]
    events = [
        {
            "Id": "00Uxx0000000001AAA",
            "WhoId": who,
            "WhatId": deal,
            "SystemModstamp": stamp(1),
            "StartDateTime": stamp(10),
            "EndDateTime": stamp(40),
        },
    ]
    emails = [
        {
            "Id": "02sxx0000000001AAA",
            "Incoming": True,
            "MessageDate": stamp(7),
            "SystemModstamp": stamp(7),
        }
    ]
    pages_by_object = {
        "Task": org.pages("Task", tasks, 2000),
        "Event": org.pages("Event", events, 2000),
        "EmailMessage": org.pages("EmailMessage", emails, 2000),
    }
    org.query(lambda q: (200, pages_by_object[q.split(" FROM ")[1].split()[0]]))
    relations = {
        "totalSize": 1,
        "done": True,
        "records": [{"EmailMessageId": "02sxx0000000001AAA", "RelationId": who}],
    }
    org.query(lambda q: (200, relations), endpoint="query")

    records = [r for p in connector().pull("activities", Window(None, UNTIL)) for r in p.records]

    assert all(isinstance(r, Activity) for r in records)
    email, call, task, meeting, reply = records
    assert (email.kind, email.direction, email.deal_ids) == ("email", "outbound", (deal,))
    assert (call.kind, call.direction, call.status, call.disposition) == (
        "call",
        "inbound",
        "completed",
        "Connected",
    )
    assert call.deal_ids == () and call.contact_ids == (who,)
    assert call.occurred_at == datetime(2024, 4, 30, tzinfo=UTC)
    assert (task.kind, task.status, task.contact_ids) == ("task", "not started", ())
    assert (meeting.kind, meeting.status) == ("meeting", None)
    assert meeting.ends_at == datetime(2024, 5, 1, 10, 0, 40, tzinfo=UTC)
    assert (reply.kind, reply.direction, reply.contact_ids) == ("email", "inbound", (who,))
    assert "Incoming = true" in org.queries[2]
    assert org.queries[3] == (
        "SELECT EmailMessageId, RelationId FROM EmailMessageRelation WHERE "
        "RelationType = 'FromAddress' AND EmailMessageId IN ('02sxx0000000001AAA')"
    )


def test_orgs_without_email_messages_skip_them(mock):
    org = FakeOrg(mock)
    org.describe("Task")
    org.describe("Event")
    org.describe("EmailMessage", status=404)
    empty = {"totalSize": 0, "done": True, "records": []}
    org.query(lambda q: (200, empty))

    pages = list(connector().pull("activities", Window(SINCE, UNTIL)))

    assert len(pages) == 2 and pages[-1].resume is None
    assert all("EmailMessage" not in q for q in org.queries)


def test_stage_catalogue(mock):
    FakeOrg(mock)
    mock.add(
        responses.GET,
        f"{API}/query/",
        json={
            "totalSize": 2,
            "done": True,
            "records": [
                {
                    "ApiName": "Prospecting",
                    "MasterLabel": "Prospecting",
                    "IsActive": True,
                    "IsClosed": False,
                    "IsWon": False,
                    "DefaultProbability": 10.0,
                    "SortOrder": 1,
                },
                {
                    "ApiName": "Closed Won",
                    "MasterLabel": "Closed Won",
                    "IsActive": True,
                    "IsClosed": True,
                    "IsWon": True,
                    "DefaultProbability": 100.0,
                    "SortOrder": 9,
                },
            ],
        },
        headers=LIMIT_HEADER,
    )

    stages = connector().stages()

    assert [(s.id, s.probability, s.is_won, s.display_order) for s in stages] == [
        ("Prospecting", 0.1, False, 1),
        ("Closed Won", 1.0, True, 9),
    ]


def test_hostile_field_names_and_resume_ids_never_reach_soql(mock):
    org = FakeOrg(mock)
    org.describe("Contact", ["Name FROM User --"])  # a hostile field name is never selected
    org.describe("Lead")
    empty = {"totalSize": 0, "done": True, "records": []}
    org.query(lambda q: (200, empty))
    sf = SalesforceConnector(
        session_settings(), spec(extra_properties=("Name FROM User --",)), sleep=lambda s: None
    )

    list(sf.pull("contacts", Window(SINCE, UNTIL)))
    hostile = json.dumps({"object": "Contact", "stamp": stamp(1), "id": "003' OR Name != 'x"})
    with pytest.raises(StreamError):
        list(sf.pull("contacts", Window(SINCE, UNTIL), resume=hostile))

    assert all("User" not in q for q in org.queries) and len(org.queries) == 2


def test_a_resume_token_naming_another_kind_is_refused(mock):
    FakeOrg(mock)
    with pytest.raises(StreamError):
        list(connector().pull("deals", Window(SINCE, UNTIL), resume='{"object": "Contact"}'))


def test_a_next_records_url_that_comes_twice_stops_the_stream(mock):
    org = FakeOrg(mock)
    org.describe("Contact")
    rows = [contact_row(n, n) for n in range(2)]
    again = f"{PATH}/queryAll/01gLOOP-1"
    first = {**org.pages("Contact", rows[:1], 2000), "done": False, "nextRecordsUrl": again}
    looping = {**org.pages("Contact", rows[1:], 2000), "done": False, "nextRecordsUrl": again}
    mock.add(responses.GET, f"{API}/queryAll/01gLOOP-1", json=looping, headers=LIMIT_HEADER)
    org.query(lambda q: (200, first))

    with pytest.raises(StreamError, match=r"nextRecordsUrl \S+/01gLOOP-1 came twice") as stopped:
        list(connector().pull("contacts", Window(None, UNTIL)))

    assert stopped.value.object_name == "Contact"
    assert len(org.queries) == 1
    assert [c.request.url for c in mock.calls].count(f"{API}/queryAll/01gLOOP-1") == 1
