"""The Salesforce request path against exact error sequences (`responses`): retries, what is
never retried, session renewal, the API budget guard, and writes with mixed results."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses
from sf_fixtures import (
    API,
    LIMIT_HEADER,
    SOAP_LOGIN,
    FakeOrg,
    contact_row,
    password_settings,
    session_settings,
    sf_error,
    soap_login_body,
    spec,
)

from milestones.connectors.base import ConfigurationError, QuotaExhausted, StreamError, Window
from milestones.connectors.salesforce.connector import SalesforceConnector
from milestones.connectors.salesforce.soql import MAX_URL_BYTES, id_chunks
from milestones.mapping.fields import Change

UNTIL = datetime(2024, 5, 2, tzinfo=UTC)
EMPTY = {"totalSize": 0, "done": True, "records": []}
COLLECTIONS = f"{API}/composite/sobjects"


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def make(settings=None, sleeps=None, **spec_kw):
    naps = sleeps if sleeps is not None else []
    return SalesforceConnector(settings or session_settings(), spec(**spec_kw), sleep=naps.append)


def stage_query(mock, *answers):
    """Register the stage query to answer ``answers`` in order (status, body, headers)."""
    for status, body, headers in answers:
        mock.add(responses.GET, f"{API}/query/", status=status, headers=headers, **body)


def test_503_html_and_the_concurrency_limit_are_retried(mock):
    FakeOrg(mock)
    naps: list[float] = []
    stage_query(
        mock,
        (503, {"body": "<html>503 Service Unavailable</html>"}, {"Retry-After": "2"}),
        (
            403,
            {"json": sf_error("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")},
            {},
        ),
        (200, {"json": EMPTY}, LIMIT_HEADER),
    )
    sf = make(sleeps=naps)

    assert sf.stages() == []

    assert sf.usage().calls == {"query": 3}  # no /limits: the budget comes from the header
    # api-usage=1000/15000 answered the third try: 14,000 left, plus the 3 tries spent
    # before it, at budget_share 0.5
    assert sf.client.budget.allowance == (14_000 + 3) // 2
    assert naps[0] == 2.0  # Retry-After honoured
    assert sf.usage().rate_limited == 2


@pytest.mark.parametrize("code", ["MALFORMED_QUERY", "INVALID_FIELD"])
def test_query_errors_are_never_retried(mock, code):
    FakeOrg(mock)
    stage_query(mock, (400, {"json": sf_error(code, "no such column")}, {}))
    sf = make()

    with pytest.raises(StreamError) as caught:
        sf.stages()

    assert caught.value.code == code
    assert sf.usage().calls["query"] == 1


def test_the_daily_hard_stop_raises_quota_exhausted_without_retrying(mock):
    FakeOrg(mock)
    stage_query(
        mock,
        (403, {"json": sf_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")}, {}),
    )
    sf = make()

    with pytest.raises(QuotaExhausted):
        sf.stages()
    assert sf.usage().calls["query"] == 1


def test_connection_errors_are_retried_then_raised(mock):
    import requests

    FakeOrg(mock)
    mock.add(responses.GET, f"{API}/query/", body=requests.ConnectionError("reset"))
    sf = make()

    from milestones.connectors.base import RetryableError

    with pytest.raises(RetryableError):
        sf.stages()
    assert sf.usage().calls["query"] == 4  # pacing.max_attempts


def test_an_expired_session_is_renewed_and_the_page_replayed(mock):
    org = FakeOrg(mock)
    logins = iter(["SESSION-1", "SESSION-2"])
    mock.add_callback(
        responses.POST,
        SOAP_LOGIN,
        callback=lambda request: (200, {}, soap_login_body(next(logins))),
    )
    org.describe("Contact")
    org.describe("Lead")
    rows = [contact_row(n, n) for n in range(4)]
    first = org.pages("Contact", rows, 2)
    expired = sf_error("INVALID_SESSION_ID", "Session expired or invalid")
    next_url = f"{API}/queryAll/01gContact-2"
    mock.replace(responses.GET, next_url, json=expired, status=401)
    mock.add(responses.GET, next_url, json={"totalSize": 4, "done": True, "records": rows[2:]})
    org.query(lambda q: (200, first if " FROM Contact " in q else EMPTY))
    sf = make(password_settings())

    pages = list(sf.pull("contacts", Window(None, UNTIL)))

    assert [r.id for p in pages for r in p.records] == [r["Id"] for r in rows]
    auth = [
        c.request.headers["Authorization"] for c in mock.calls if "01gContact-2" in c.request.url
    ]
    assert auth == ["Bearer SESSION-1", "Bearer SESSION-2"]
    assert sf.usage().calls["auth"] == 2
    # the password and token went only into the SOAP body, never into a URL or header
    login = next(c for c in mock.calls if "Soap" in c.request.url)
    assert "PASSWORD-SECRETTOKEN-SECRET" in login.request.body
    assert all("SECRET" not in c.request.url for c in mock.calls)


def test_an_expired_session_id_cannot_be_renewed(mock):
    FakeOrg(mock)
    stage_query(mock, (401, {"json": sf_error("INVALID_SESSION_ID", "Session expired")}, {}))
    sf = make()

    with pytest.raises(ConfigurationError) as caught:
        sf.stages()
    assert "SESSION-SECRET" not in str(caught.value)


def test_the_budget_guard_stops_a_pull_before_the_share_is_spent(mock):
    org = FakeOrg(mock, remaining=12)  # budget_share 0.5 -> 6 calls for this run
    org.describe("Contact")
    org.describe("Lead")
    rows = [contact_row(n, n) for n in range(20)]
    first = org.pages("Contact", rows, 2)
    org.query(lambda q: (200, first))
    sf = make()

    pages = []
    with pytest.raises(QuotaExhausted) as caught:
        for page in sf.pull("contacts", Window(None, UNTIL)):
            pages.append(page)

    # The describe's Sforce-Limit-Info (11 left after it) fixed the budget: 12 at the start,
    # 6 for this run. 1 describe (a Composite call) + 5 query pages = 6 calls; the 7th is
    # refused unsent.
    assert sf.client.budget.allowance == 6
    assert sf.usage().total == 6 and "limits" not in sf.usage().calls
    assert len(pages) == 5 and pages[-1].resume is not None
    assert "budget" in str(caught.value)
    assert sf.forecast["Contact"] == 5  # pages still unread when the guard stopped the run
    assert len(mock.calls) == 6
    assert org.remaining == 6  # the other half of what was left is untouched


def test_the_guard_also_watches_the_orgs_live_usage(mock):
    FakeOrg(mock)
    start = {"Sforce-Limit-Info": "api-usage=14000/15000"}  # 1,000 left: allowance 500
    busy = {"Sforce-Limit-Info": "api-usage=14600/15000"}  # others spent 599 meanwhile
    stage_query(mock, (200, {"json": EMPTY}, start), (200, {"json": EMPTY}, busy))
    sf = make()
    sf.stages()
    sf.stages()

    with pytest.raises(QuotaExhausted):
        sf.stages()
    assert sf.usage().daily_remaining == 400
    assert sf.usage().calls == {"query": 2}


def test_collections_keep_per_record_errors_and_retry_locked_rows(mock):
    FakeOrg(mock)
    answers = [
        [
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "UNABLE_TO_LOCK_ROW",
                        "message": "unable to obtain exclusive access",
                        "fields": [],
                    }
                ],
            },
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                        "message": "Milestone locked",
                        "fields": ["Sales_Milestone__c"],
                    }
                ],
            },
            {"id": "00Qxx0000000001AAA", "success": True, "errors": []},
            {"id": "006xx0000000001AAA", "success": True, "errors": []},
        ],
        [{"id": "003xx0000000002AAA", "success": True, "errors": []}],
    ]
    for answer in answers:
        mock.add(responses.PATCH, COLLECTIONS, json=answer, headers=LIMIT_HEADER)
    naps: list[float] = []
    sf = make(sleeps=naps)
    changes = [
        Change("deal", "006xx0000000001AAA", {"deal_milestone": "client"}, group="001B"),
        Change("contact", "003xx0000000003AAA", {"milestone": "client"}, group="001A"),
        Change(
            "contact",
            "003xx0000000002AAA",
            {"milestone": "prospect", "is_advocate": "false", "advocate_since": None},
            group="001A",
        ),
        Change("lead", "00Qxx0000000001AAA", {"disqualified": "true"}),
    ]

    results = sf.write(changes)

    assert [(r.record_id, r.ok, r.code) for r in results] == [
        ("006xx0000000001AAA", True, None),
        ("003xx0000000003AAA", False, "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
        ("003xx0000000002AAA", True, None),
        ("00Qxx0000000001AAA", True, None),
    ]
    assert results[1].is_retryable is False and "Sales_Milestone__c" in results[1].message
    first, second = (json.loads(c.request.body) for c in mock.calls if c.request.method == "PATCH")
    assert first["allOrNone"] is False
    # same type together, then by account: Contact(001A) x2, Lead, Opportunity
    assert [r["id"] for r in first["records"]] == [
        "003xx0000000002AAA",
        "003xx0000000003AAA",
        "00Qxx0000000001AAA",
        "006xx0000000001AAA",
    ]
    assert first["records"][0] == {
        "attributes": {"type": "Contact"},
        "id": "003xx0000000002AAA",
        "Sales_Milestone__c": "prospect",
        "Is_Advocate__c": False,
        "Advocate_Since__c": None,
    }
    assert first["records"][2]["Sales_Disqualified__c"] is True
    assert [r["id"] for r in second["records"]] == ["003xx0000000002AAA"]
    assert len(naps) == 1
    assert sf.usage().calls["write"] == 2


def test_a_row_that_stays_locked_is_returned_retryable(mock):
    FakeOrg(mock)
    locked = [{"success": False, "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "x"}]}]
    mock.add(responses.PATCH, COLLECTIONS, json=locked, headers=LIMIT_HEADER)
    sf = make()

    (result,) = sf.write([Change("contact", "003xx0000000002AAA", {"milestone": "client"})])

    assert (result.ok, result.code, result.is_retryable) == (False, "UNABLE_TO_LOCK_ROW", True)
    assert sf.usage().calls["write"] == 4


def test_more_than_200_changes_are_refused():
    sf = make()
    with pytest.raises(ValueError):
        sf.write([Change("contact", f"003{n}", {"milestone": "target"}) for n in range(201)])


def test_long_id_lists_are_chunked_under_the_url_limit():
    ids = [f"02sxx{n:010d}AAA" for n in range(3000)]
    base = f"{API}/query/"
    template = "SELECT Id FROM EmailMessageRelation WHERE EmailMessageId IN {ids}"

    chunks = list(id_chunks(template, ids, base))

    assert [i for _q, chunk in chunks for i in chunk] == ids
    assert len(chunks) > 1
    import requests

    for soql, _chunk in chunks:
        url = requests.Request("GET", base, params={"q": soql}).prepare().url
        assert len(url) < MAX_URL_BYTES - 2_000


def test_a_write_naming_an_invisible_field_asks_for_field_provisioning(mock):
    FakeOrg(mock)
    mock.add(
        responses.PATCH,
        COLLECTIONS,
        json=sf_error("INVALID_FIELD", "No such column 'Sales_Milestone__c' on entity 'Contact'"),
        status=400,
    )
    sf = make()

    with pytest.raises(ConfigurationError) as caught:
        sf.write([Change("contact", "003xx0000000002AAA", {"milestone": "client"})])

    assert "fields --create" in str(caught.value)
    assert sf.usage().calls["write"] == 1


@pytest.mark.parametrize(
    ("values", "restricted", "problem"),
    [
        (["target", "prospect", "opportunity", "client", "advocate"], True, None),
        (["target", "prospect"], True, "opportunity, client, advocate"),
        (["Target"], False, None),  # unrestricted: any value is accepted
    ],
)
def test_a_restricted_milestone_picklist_must_hold_every_value(values, restricted, problem):
    from milestones.connectors.salesforce.fields import picklist_problem

    described = {
        "restrictedPicklist": restricted,
        "picklistValues": [{"value": v} for v in values],
    }
    found = picklist_problem("milestone", described)
    assert (found is None) == (problem is None)
    assert problem is None or problem in found
    assert picklist_problem("milestone_date", described) is None
