"""The Salesforce connector end to end: the real simple-salesforce client over TLS against
the sandbox org on 127.0.0.1 (with REQUESTS_CA_BUNDLE pointing elsewhere, as it does in CI).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sf_fixtures import spec

from milestones.connectors.base import Page, QuotaExhausted, StreamError, Window
from milestones.connectors.salesforce.connector import SalesforceConnector
from milestones.connectors.salesforce.settings import SalesforcePassword, SalesforceSession
from milestones.connectors.salesforce.soql import Position, parse_datetime, window_query
from milestones.mapping.fields import Change
from milestones.mapping.records import Activity, Contact, Link
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.salesforce.soql.parser import parse as soql_parse
from milestones.sandbox.world.gen import generate_world

SECOND = 1000
HOUR = 3600 * SECOND
EXTRAS = ("Referred_By__c", "NPS_Score__c", "Reference_Customer__c")


class Clock:
    """The world's write clock, stepped by the test (SystemModstamp keeps whole seconds)."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def org(monkeypatch) -> Iterator[SalesforceServer]:
    # The pitfall the connector must survive: requests lets this variable override
    # session.verify (reference section 6.1).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    world = generate_world(seed=11, contacts=300)
    world.clock = Clock(world.anchor_ms + HOUR)
    with SalesforceServer(world) as server:
        yield server


def at(server: SalesforceServer, ms_after_anchor: int) -> datetime:
    return datetime.fromtimestamp((server.world.anchor_ms + ms_after_anchor) / 1000, UTC)


def session_connector(server: SalesforceServer, **kw: Any) -> SalesforceConnector:
    settings = SalesforceSession(
        auth="session",
        instance_url=server.url,
        session_id=server.token,
        ca_bundle=server.ca_bundle,
        **kw.pop("settings", {}),
    )
    return SalesforceConnector(settings, spec(extra_properties=EXTRAS), sleep=lambda s: None, **kw)


def truth(server: SalesforceServer, sobject: str) -> dict[str, bool]:
    """Every row of ``sobject`` the org holds (deleted too): id -> IsDeleted."""
    obj = server.objects[sobject]
    return {obj.row_id(r): bool(obj.fields["IsDeleted"].get(r)) for r in obj.rows(True)}


def changed(server: SalesforceServer, sobjects: tuple[str, ...], window: Window) -> set[str]:
    """Ids of rows whose SystemModstamp lies in ``window``, read off the org directly."""
    since = window.since.timestamp() * 1000 if window.since else 0
    until = window.until.timestamp() * 1000
    found = set()
    for name in sobjects:
        obj = server.objects[name]
        for row in obj.rows(True):
            if since <= obj.fields["SystemModstamp"].get(row) < until:
                found.add(obj.row_id(row))
    return found


def ids_of(pages: list[Page]) -> tuple[list[str], list[str]]:
    live = [r.id for p in pages for r in p.records]
    deleted = [i for p in pages for i in p.deleted_ids]
    return live, deleted


def test_full_pull_is_exact_for_every_kind(org):
    sf = session_connector(org, page_size=200)
    until = at(org, 2 * HOUR)
    pulled = {kind: list(sf.pull(kind, Window(None, until))) for kind in sf.kinds}

    live, deleted = ids_of(pulled["contacts"])
    people = {**truth(org, "Contact"), **truth(org, "Lead")}
    assert sorted(live + deleted) == sorted(people)
    assert len(live) == len(set(live))
    assert {i for i, gone in people.items() if gone} == set(deleted)
    leads = [r for p in pulled["contacts"] for r in p.records if r.kind == "lead"]
    converted = [r for r in leads if r.converted_to]
    assert converted and all(r.converted_to.startswith("003") for r in converted)
    assert all(r.converted_to in live for r in converted)

    live, deleted = ids_of(pulled["deals"])
    assert sorted(live + deleted) == sorted(truth(org, "Opportunity"))
    links = [r for p in pulled["deal_contacts"] for r in p.records]
    assert all(isinstance(r, Link) for r in links)
    assert sorted(r.id for r in links) == sorted(truth(org, "OpportunityContactRole"))

    activities = [r for p in pulled["activities"] for r in p.records]
    assert all(isinstance(r, Activity) for r in activities)
    gone = [i for p in pulled["activities"] for i in p.deleted_ids]
    expected = {**truth(org, "Task"), **truth(org, "Event")}
    received = {
        i: d
        for i, d in truth(org, "EmailMessage").items()
        if org.objects["EmailMessage"].fields["Incoming"].get(org.objects["EmailMessage"].lookup(i))
    }
    assert sorted([a.id for a in activities] + gone) == sorted({**expected, **received})
    replies = [a for a in activities if a.id.startswith("02s")]
    assert replies and all(a.direction == "inbound" and a.contact_ids for a in replies)

    # the floor: one query call per API page (senders come in the EmailMessage subquery);
    # besides, the seven objects described in one Composite call, and no /limits: the
    # budget comes from the Sforce-Limit-Info header the sandbox sends on every answer
    calls = sf.usage().calls
    assert calls["query"] == sum(len(v) for v in pulled.values())
    assert calls["meta"] == 1 and "limits" not in calls
    endpoints = org.stats()["endpoints"]
    assert endpoints["POST composite"] == 1 and "GET describe" not in endpoints
    left_at_start = org.daily_api_max - (org.api_used - sf.usage().total)
    assert sf.client.budget.allowance == left_at_start // 2
    assert org.stats()["total"] == sf.usage().total


def test_incremental_pull_sees_exactly_what_changed_including_ties(org):
    sf = session_connector(org, page_size=200)
    first_until = at(org, HOUR)  # the world's clock stands at anchor + 1 h: writes land later
    list(sf.pull("contacts", Window(None, first_until)))
    people = org.world.records["person"].values()
    contacts = [p.id for p in people if not p.is_lead_only and not p.archived]  # live ones
    org.world.clock.ms += 5 * SECOND
    tied = contacts[:210]  # one bulk edit: 210 rows share one SystemModstamp second
    for number in tied:
        org.world.update("person", number, {"job_title": "Buyer"})
    org.world.clock.ms += 1 * SECOND
    org.world.add_inbound_email(contacts[-1])

    window = Window(first_until - timedelta(seconds=10), at(org, HOUR + 60 * SECOND))
    pages = list(sf.pull("contacts", window))
    live, deleted = ids_of(pages)

    expected = changed(org, ("Contact", "Lead"), window)
    assert len(expected) >= 211  # the tie plus the replier (converted Leads show too)
    assert sorted(live) == sorted(expected) and not deleted
    # a crash after the first page, which ended inside the tie: resume reads the rest exactly
    tie = org.objects["Contact"].fields["SystemModstamp"].get(org.world.records["person"][tied[0]])
    first = pages[0]
    assert len(first.records) == 200
    assert parse_datetime(json.loads(first.resume)["stamp"]).timestamp() * 1000 == tie
    rest = list(sf.pull("contacts", window, resume=first.resume))
    rest_ids, _ = ids_of(rest)
    assert sorted(rest_ids) == sorted(set(live) - {r.id for r in first.records})

    activities = [r for p in sf.pull("activities", window) for r in p.records]
    reply = [a for a in activities if a.kind == "email" and a.direction == "inbound"]
    person = org.objects["Contact"].row_id(org.world.records["person"][contacts[-1]])
    assert [a.contact_ids for a in reply] == [(person,)]


def test_records_changed_mid_pull_are_read_now_and_again_next_run(org):
    sf = session_connector(org, page_size=200)
    until = at(org, HOUR)
    people = org.world.records["person"].values()
    contacts = [p.id for p in people if not p.is_lead_only and not p.archived]  # live ones
    org.world.clock.ms += 30 * SECOND
    pulled: list[Page] = []
    for page in sf.pull("contacts", Window(None, until)):
        if not pulled:  # the run is reading: someone edits a read and an unread record
            for number in (contacts[0], contacts[-1]):
                org.world.update("person", number, {"job_title": "Changed"})
        pulled.append(page)

    live, deleted = ids_of(pulled)
    everyone = {**truth(org, "Contact"), **truth(org, "Lead")}
    # a full pull reads everyone, once, the records edited meanwhile included
    assert sorted(live + deleted) == sorted(everyone)
    nxt = Window(until - timedelta(seconds=10), at(org, HOUR + 60 * SECOND))
    again, _ = ids_of(list(sf.pull("contacts", nxt)))
    assert sorted(again) == sorted(changed(org, ("Contact", "Lead"), nxt))
    row_id = org.objects["Contact"].row_id
    people = org.world.records["person"]
    assert {row_id(people[n]) for n in (contacts[0], contacts[-1])} <= set(again)


def test_session_expiry_mid_run_logs_in_again_and_finishes(org):
    settings = SalesforcePassword(
        auth="password",
        instance_url=org.url,
        username="integration@sandbox.example",
        password="sandbox-password",
        security_token="sandbox-security-token",
        ca_bundle=org.ca_bundle,
    )
    sf = SalesforceConnector(settings, spec(), sleep=lambda s: None, page_size=200)
    pages = []
    for page in sf.pull("activities", Window(None, at(org, 2 * HOUR))):
        if not pages:
            org.expire_sessions()
        pages.append(page)

    live, deleted = ids_of(pages)
    expected = {**truth(org, "Task"), **truth(org, "Event")}
    assert set(expected) <= set(live + deleted)  # nothing lost across the renewal
    assert len(live) == len(set(live))
    assert sf.usage().calls["auth"] == 2
    # the page after the expiry: refused (401), replayed with the new session, whose
    # cursor the old session owned (INVALID_QUERY_LOCATOR), then re-queried from the
    # last row read: two calls more than the pages
    assert sf.usage().calls["query"] == len(pages) + 2


def test_the_budget_guard_stops_before_the_orgs_hard_stop():
    world = generate_world(seed=11, contacts=300)
    with SalesforceServer(world, daily_api_max=6) as server:
        sf = session_connector(server, page_size=200)
        read: list[Page] = []
        with pytest.raises(QuotaExhausted) as caught:
            for kind in sf.kinds:
                read.extend(sf.pull(kind, Window(None, at(server, HOUR))))

        assert "budget" in str(caught.value)
        # the first answer's Sforce-Limit-Info said 5 left after it: 6 at the start, half
        # of them for this run, and no /limits call
        assert sf.usage().total == 3 and "limits" not in sf.usage().calls
        assert read and read[-1].resume is not None
        assert set(server.stats()["statuses"]) == {"200"}  # never met Salesforce's 403


def test_fields_are_created_granted_written_and_read_back(org):
    sf = session_connector(org)
    before = sf.ensure_fields(dry_run=True)
    assert {s.action for s in before} == {"would_create"}
    assert org.setup.custom_fields == []  # a dry run changes nothing

    created = sf.ensure_fields(dry_run=False)
    assert {s.action for s in created} == {"created"}
    assert {(s.exists, s.is_writable) for s in sf.ensure_fields(dry_run=False)} == {(True, True)}
    assert len(org.setup.custom_fields) == 15  # idempotent: nothing made twice

    people = [p for p in org.world.records["person"].values() if not p.archived]
    contact = next(p for p in people if not p.is_lead_only)
    lead = next(p for p in people if p.is_lead_only)
    contact_id = org.objects["Contact"].row_id(contact)
    lead_id = org.objects["Lead"].row_id(lead)
    hostile = "x' OR Name != 'y\\"
    results = sf.write(
        [
            Change(
                "contact",
                contact_id,
                {"milestone": "client", "is_advocate": "true", "disqualified_reason": hostile},
            ),
            Change("lead", lead_id, {"milestone": "bogus"}),
            Change("contact", "0035g00000ZZZZZAAA", {"milestone": "target"}),
        ]
    )

    assert [r.ok for r in results] == [True, False, False]
    assert results[1].code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert results[1].is_retryable is False and results[2].code
    fresh = session_connector(org)  # a new run describes again and sees the new fields
    org.world.clock.ms += SECOND
    window = Window(at(org, HOUR - SECOND), at(org, 2 * HOUR))
    (person,) = [r for p in fresh.pull("contacts", window) for r in p.records]
    assert isinstance(person, Contact) and person.id == contact_id
    assert person.properties["Sales_Milestone__c"] == "client"
    assert person.properties["Is_Advocate__c"] == "true"
    assert person.properties["Sales_Disqualified_Reason__c"] == hostile


def test_check_reports_a_field_that_exists_but_is_not_writable(org):
    sf = session_connector(org)
    sf.ensure_fields(dry_run=False)
    for row in org.setup.field_permissions:
        if row["Field"] == "Contact.Sales_Milestone__c":
            row["PermissionsEdit"] = False

    statuses = session_connector(org).ensure_fields(dry_run=True)

    (status,) = [s for s in statuses if s.object_kind == "contact" and s.key == "milestone"]
    assert (status.exists, status.is_writable, status.action) == (True, False, "would_grant")
    assert "cannot edit" in status.problem
    granted = session_connector(org).ensure_fields(dry_run=False)
    assert [s.action for s in granted if s.name == "Sales_Milestone__c"] == ["granted", "none"]


def test_locked_rows_are_retried_until_written(org):
    sf = session_connector(org)
    sf.ensure_fields(dry_run=False)
    org.configure(faults="record=0.4,seed=3")
    people = [p for p in org.world.records["person"].values() if not p.is_lead_only]
    changes = [
        Change(
            "contact",
            org.objects["Contact"].row_id(p),
            {"milestone": "prospect"},
            group=str(p.company_id),
        )
        for p in people[:40]
        if not p.archived
    ]

    results = sf.write(changes)

    assert all(r.ok for r in results), [r for r in results if not r.ok]
    assert sf.usage().calls["write"] > 1
    assert org.stats()["faults"]["injected"]


def test_the_ca_bundle_applies_despite_requests_ca_bundle(org):
    plain = requests.Session()
    plain.verify = org.ca_bundle  # what most code does: ignored when the variable is set
    with pytest.raises(requests.exceptions.SSLError):
        plain.get(f"{org.url}/services/data/v59.0/limits/", timeout=5)

    assert session_connector(org).stages()[0].id == "Prospecting"


def test_a_tampered_resume_token_never_reaches_soql(org):
    sf = session_connector(org)
    token = json.dumps(
        {
            "object": "Contact",
            "stamp": "2026-11-01T00:00:00.000+0000",
            "id": "003' OR IsDeleted = true OR Id != '",
        }
    )
    with pytest.raises(StreamError):
        list(sf.pull("contacts", Window(None, at(org, 2 * HOUR)), resume=token))
    assert org.stats()["endpoints"].get("GET queryAll") is None


def test_hostile_values_stay_string_literals_in_the_sandbox_parser():
    hostile = "003' OR IsDeleted = true OR Id != '\\"
    soql = window_query(
        "Contact",
        ["Id", "SystemModstamp"],
        datetime(2024, 5, 2, tzinfo=UTC),
        None,
        Position("Contact", "2024-05-01T10:00:00.000+0000", hostile),
    )
    where = soql_parse(soql).where
    # a full pull's only condition is the keyset: stamp > s OR (stamp = s AND Id > hostile)
    id_compare = where.operands[1].operands[1]
    assert (id_compare.path, id_compare.op) == (("Id",), ">")
    assert id_compare.value.text == hostile


def test_sender_lookups_by_id_stay_under_the_url_limit(monkeypatch):
    # An org whose describe lists no EmailMessageRelations relationship: senders are looked
    # up by id, and a page of 2,000 ids would make a URL far past 16 KB.
    world = generate_world(seed=11, contacts=2500)
    with SalesforceServer(world) as server:
        sf = session_connector(server)
        monkeypatch.setattr(sf.schema, "children", lambda sobject: set())
        pages = list(sf.pull("activities", Window(None, at(server, 2 * HOUR))))
        replies = [r for p in pages for r in p.records if r.id.startswith("02s")]

        assert len(replies) > 600 and all(r.contact_ids for r in replies)
        assert set(server.stats()["statuses"]) == {"200"}  # no 414/431 from the lookups
        lookups = sf.usage().calls["query"] - len(pages)
        assert lookups >= 2  # one page of received emails needed several lookups


def test_a_field_created_without_access_is_granted_not_created_again(org):
    from milestones.connectors.salesforce.fields import field_metadata

    # a run that died between creating the field and granting it: describe hides it
    org.setup.create_custom_field(
        org.objects,
        {
            "FullName": "Contact.Sales_Milestone__c",
            "Metadata": field_metadata("milestone", "Sales_Milestone__c"),
        },
    )
    sf = session_connector(org)

    (status,) = [
        s
        for s in sf.ensure_fields(dry_run=True)
        if s.key == "milestone" and s.object_kind == "contact"
    ]
    assert (status.exists, status.is_writable, status.action) == (True, False, "would_grant")

    after = session_connector(org).ensure_fields(dry_run=False)
    actions = {(s.object_kind, s.key): s.action for s in after}
    assert actions[("contact", "milestone")] == "granted"
    assert actions[("lead", "milestone")] == "created"
    names = [f["FullName"] for f in org.setup.custom_fields]
    assert len(names) == len(set(names)) == 15
