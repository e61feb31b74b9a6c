"""Shared helpers for the Salesforce connector tests: settings, a fake org for `responses`.

`FakeOrg` registers Salesforce-shaped answers (describe, query pages behind nextRecordsUrl,
collections) on a `responses.RequestsMock` and records every SOQL the connector sent, so tests
assert both the records and the exact wire traffic. Each of its answers carries the
`Sforce-Limit-Info` header an org sends, counting down the daily requests left as it answers;
it serves no `/limits`, which the worker never reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, urlparse

import responses

from milestones.connectors.fields import WriteSpec
from milestones.connectors.salesforce.settings import (
    DATA_API_VERSION,
    LAST_SOAP_LOGIN_VERSION,
    SALESFORCE_FIELD_NAMES,
    SalesforcePassword,
    SalesforceSession,
)
from milestones.connectors.salesforce.soql import BASE_FIELDS

HOST = "https://acme.my.salesforce.com"
API = f"{HOST}/services/data/v{DATA_API_VERSION}"
SOAP_LOGIN = f"{HOST}/services/Soap/u/{LAST_SOAP_LOGIN_VERSION}"
DAILY_MAX = 15_000
LIMIT_HEADER = {"Sforce-Limit-Info": f"api-usage=1000/{DAILY_MAX}"}

# The fake org has every standard field the connector reads, so a field added to the
# connector is served here too; but, like many orgs, no LastStageChangeDate (pulls must fall
# back on CreatedDate), and the two custom fields the rules read on Contact.
STANDARD: dict[str, list[str]] = {
    sobject: [f for f in fields if f != "LastStageChangeDate"]
    for sobject, fields in BASE_FIELDS.items()
}
STANDARD["Contact"] += ["Referred_By__c", "NPS_Score__c"]


def spec(**overrides: Any) -> WriteSpec:
    """The default Salesforce write spec: Contacts and Leads, referrer and NPS read too."""
    values: dict[str, Any] = {
        "names": dict(SALESFORCE_FIELD_NAMES),
        "person_objects": ("contact", "lead"),
        "extra_properties": ("Referred_By__c", "NPS_Score__c"),
    }
    values.update(overrides)
    return WriteSpec(**values)


def session_settings(**overrides: Any) -> SalesforceSession:
    values: dict[str, Any] = {
        "auth": "session",
        "instance_url": HOST,
        "session_id": "00Dxx!SESSION-SECRET",
        "pacing": {"max_attempts": 4, "max_wait_seconds": 30.0},
    }
    values.update(overrides)
    return SalesforceSession(**values)


def password_settings(**overrides: Any) -> SalesforcePassword:
    values: dict[str, Any] = {
        "auth": "password",
        "instance_url": HOST,
        "username": "sync@acme.example",
        "password": "PASSWORD-SECRET",
        "security_token": "TOKEN-SECRET",
        "pacing": {"max_attempts": 4, "max_wait_seconds": 30.0},
    }
    values.update(overrides)
    return SalesforcePassword(**values)


def soap_login_body(session_id: str) -> str:
    """A SOAP login answer as simple-salesforce parses it (sessionId, serverUrl)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
        f"<serverUrl>{SOAP_LOGIN}/00Dxx</serverUrl>"
        f"<sessionId>{session_id}</sessionId>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )


def stamp(second: int) -> str:
    """A SystemModstamp wire value `second` seconds after 2024-05-01T10:00:00Z."""
    minutes, seconds = divmod(second, 60)
    return f"2024-05-01T10:{minutes:02d}:{seconds:02d}.000+0000"


def sf_error(code: str, message: str = "failed") -> list[dict[str, str]]:
    return [{"message": message, "errorCode": code}]


class FakeOrg:
    """Registers a small org on a RequestsMock and records the SOQL it is asked."""

    def __init__(self, mock: responses.RequestsMock, remaining: int = 14_000) -> None:
        self.mock = mock
        self.queries: list[str] = []
        self.endpoints: list[str] = []
        self.remaining = remaining  # the org's daily requests left before the next answer
        self.described: dict[str, tuple[int, Any]] = {}  # sobject -> describe status, body
        self.mock.add_callback(responses.POST, f"{API}/composite", callback=self._composite)

    def limit_header(self) -> dict[str, str]:
        """The header of one more answer: that request is spent (api-usage=used/max)."""
        self.remaining -= 1
        return {"Sforce-Limit-Info": f"api-usage={DAILY_MAX - self.remaining}/{DAILY_MAX}"}

    def answer(self, method: str, url: str, body: Any, status: int = 200) -> None:
        """Register ``body`` as the JSON answer to ``method url``, with a live limit header."""

        def callback(request: Any) -> tuple[int, dict[str, str], str]:
            return status, self.limit_header(), json.dumps(body)

        self.mock.add_callback(method, url, callback=callback)

    def describe(self, sobject: str, extra: Sequence[str] = (), *, status: int = 200) -> None:
        """Answer describe for ``sobject`` with its standard fields plus ``extra``, alone or
        inside a Composite call (an object never registered answers 404 there)."""
        if status != 200:
            missing = sf_error("NOT_FOUND", "The requested resource does not exist")
            self.described[sobject] = (status, missing)
            self.mock.add(
                responses.GET, f"{API}/sobjects/{sobject}/describe", json=missing, status=status
            )
            return
        fields = [
            {"name": n, "updateable": n.endswith("__c"), "type": "string"}
            for n in [*STANDARD[sobject], *extra]
        ]
        body = {"name": sobject, "fields": fields}
        self.described[sobject] = (200, body)
        self.answer(responses.GET, f"{API}/sobjects/{sobject}/describe", body)

    def _composite(self, request: Any) -> tuple[int, dict[str, str], str]:
        """The Composite resource over the registered describes: one call, one answer each."""
        results = []
        for sub in json.loads(request.body)["compositeRequest"]:
            sobject = sub["url"].split("/sobjects/")[1].split("/")[0]
            missing = (404, sf_error("NOT_FOUND", "The requested resource does not exist"))
            status, body = self.described.get(sobject, missing)
            results.append(
                {
                    "body": body,
                    "httpHeaders": {},
                    "httpStatusCode": status,
                    "referenceId": sub["referenceId"],
                }
            )
        return 200, self.limit_header(), json.dumps({"compositeResponse": results})

    def query(
        self, answer: Callable[[str], tuple[int, Any]], *, endpoint: str = "queryAll"
    ) -> None:
        """Route every ``endpoint`` query to ``answer(soql) -> (status, body)``."""

        def callback(request: Any) -> tuple[int, dict[str, str], str]:
            soql = parse_qs(urlparse(request.url).query)["q"][0]
            self.queries.append(soql)
            status, body = answer(soql)
            return status, self.limit_header(), json.dumps(body)

        self.mock.add_callback(responses.GET, f"{API}/{endpoint}/", callback=callback)

    def pages(self, sobject: str, rows: Sequence[dict[str, Any]], size: int) -> dict[str, Any]:
        """Register rows as pages of ``size`` behind nextRecordsUrl; returns the first page."""
        chunks = [list(rows[i : i + size]) for i in range(0, len(rows), size)] or [[]]
        bodies = []
        for number, chunk in enumerate(chunks):
            body: dict[str, Any] = {
                "totalSize": len(rows),
                "done": number == len(chunks) - 1,
                "records": [_attributes(sobject, r) for r in chunk],
            }
            if not body["done"]:
                body["nextRecordsUrl"] = (
                    f"{API.removeprefix(HOST)}/queryAll/01g{sobject}-{(number + 1) * size}"
                )
            bodies.append(body)
        for number, body in enumerate(bodies[1:], start=1):
            self.answer(responses.GET, f"{API}/queryAll/01g{sobject}-{number * size}", body)
        return bodies[0]


def _attributes(sobject: str, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "attributes": {
            "type": sobject,
            "url": f"/services/data/v{DATA_API_VERSION}/sobjects/{sobject}/{row['Id']}",
        },
        **row,
    }


def contact_row(number: int, second: int, **fields: Any) -> dict[str, Any]:
    return {
        "Id": f"003xx{number:013d}",
        "FirstName": "Ada",
        "LastName": f"Person{number}",
        "Email": f"p{number}@example.com",
        "OwnerId": "005xx0000000001AAA",
        "AccountId": "001xx0000000001AAA",
        "CreatedDate": stamp(0),
        "HasOptedOutOfEmail": False,
        "IsDeleted": False,
        "SystemModstamp": stamp(second),
        **fields,
    }


def lead_row(number: int, second: int, **fields: Any) -> dict[str, Any]:
    return {
        "Id": f"00Qxx{number:013d}",
        "FirstName": "Lea",
        "LastName": f"Lead{number}",
        "Email": f"l{number}@example.com",
        "OwnerId": "005xx0000000001AAA",
        "CreatedDate": stamp(0),
        "Status": "Working - Contacted",
        "HasOptedOutOfEmail": False,
        "IsConverted": False,
        "ConvertedContactId": None,
        "ConvertedAccountId": None,
        "IsDeleted": False,
        "SystemModstamp": stamp(second),
        **fields,
    }
