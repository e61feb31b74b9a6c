"""Limits, faults, sessions and logins of the Salesforce sandbox, via simple-salesforce."""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.request
from collections.abc import Iterator

import jwt
import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)
from simple_salesforce.login import SalesforceLogin, token_login

from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.salesforce.auth import Credentials
from milestones.sandbox.salesforce.cli import start_salesforce
from milestones.sandbox.world.gen import generate_world

CREDS = Credentials()


def trusting_session(server: SalesforceServer) -> requests.Session:
    session = requests.Session()
    session.verify = server.ca_bundle
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (reference 6.1)
    return session


def client_for(server: SalesforceServer, session_id: str | None = None) -> Salesforce:
    return Salesforce(
        instance_url=server.url,
        session_id=session_id or server.token,
        session=trusting_session(server),
    )


def serve(faults: str | None = None, **options: object) -> SalesforceServer:
    return SalesforceServer(generate_world(seed=5, contacts=40), faults=faults, **options)


@pytest.fixture(scope="module")
def server() -> Iterator[SalesforceServer]:
    with serve(daily_api_max=500) as srv:
        yield srv


def test_every_answer_reports_api_usage(server: SalesforceServer) -> None:
    sf = client_for(server)
    sf.query("SELECT Id FROM Contact LIMIT 1")
    before = sf.api_usage["api-usage"]
    sf.query("SELECT Id FROM Contact LIMIT 1")
    after = sf.api_usage["api-usage"]
    assert after.used == before.used + 1 and after.total == 500
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 500, "Remaining": 500 - (after.used + 1)}


def test_daily_allocation_exhausted_answers_403() -> None:
    with serve(daily_api_max=2) as srv:
        sf = client_for(srv)
        sf.query("SELECT Id FROM Contact LIMIT 1")
        sf.query("SELECT Id FROM Contact LIMIT 1")
        with pytest.raises(SalesforceRefusedRequest) as info:
            sf.query("SELECT Id FROM Contact LIMIT 1")
    assert info.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


@pytest.mark.parametrize(
    ("spec", "error", "check"),
    [
        ("429=1", SalesforceRefusedRequest, "ConcurrentPerOrgLongTxn Limit exceeded."),
        ("daily_quota=0", SalesforceRefusedRequest, "TotalRequests Limit exceeded."),
        ("401=1", SalesforceExpiredSession, "INVALID_SESSION_ID"),
        ("503=1", SalesforceGeneralError, "<html>"),
    ],
)
def test_faults_take_salesforce_shapes(spec: str, error: type, check: str) -> None:
    with serve(spec) as srv, pytest.raises(error) as info:
        client_for(srv).query("SELECT Id FROM Contact LIMIT 1")
    content = info.value.content
    assert check in (json.dumps(content) if isinstance(content, list) else content)


def test_slow_fault_delays_then_answers() -> None:
    with serve("slow=1,slow_ms=1500") as srv:
        waits: list[float] = []
        srv.sleep = waits.append
        page = client_for(srv).query("SELECT Id FROM Contact LIMIT 2")
    assert waits == [1.5] and len(page["records"]) == 2


def test_unknown_session_gets_the_json_array_401(server: SalesforceServer) -> None:
    with pytest.raises(SalesforceExpiredSession) as info:
        client_for(server, "00D5g0000000001!forged").query("SELECT Id FROM Contact")
    assert info.value.status == 401
    assert info.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_expired_sessions_need_a_new_login() -> None:
    with serve() as srv:
        session = trusting_session(srv)
        srv.expire_sessions()
        with pytest.raises(SalesforceExpiredSession):
            client_for(srv).query("SELECT Id FROM Contact LIMIT 1")
        # SOAP partner login at the instance URL (simple-salesforce's scratch_url).
        session_id, instance = SalesforceLogin(
            username=CREDS.username,
            password=CREDS.password,
            security_token=CREDS.security_token,
            session=session,
            scratch_url=srv.url,
        )
        assert instance == f"127.0.0.1:{srv.port}"
        assert client_for(srv, session_id).query("SELECT COUNT() FROM Contact")["totalSize"] > 0
        # OAuth client credentials.
        token, _ = token_login(
            f"{srv.url}/services/oauth2/token",
            {"grant_type": "client_credentials"},
            "login",
            CREDS.client_id,
            {"Authorization": "Basic c2FuZGJveC1jbGllbnQtaWQ6c2FuZGJveC1jbGllbnQtc2VjcmV0"},
            None,
            session,
        )
        assert client_for(srv, token).query("SELECT COUNT() FROM Lead")["totalSize"] > 0


def test_a_new_session_cannot_resume_an_old_cursor() -> None:
    with SalesforceServer(generate_world(seed=5, contacts=150)) as srv:
        session = trusting_session(srv)
        first = client_for(srv).query(
            "SELECT Id FROM Task", headers={"Sforce-Query-Options": "batchSize=200"}
        )
        srv.expire_sessions()
        session_id, _ = SalesforceLogin(
            username=CREDS.username,
            password=CREDS.password,
            security_token=CREDS.security_token,
            session=session,
            scratch_url=srv.url,
        )
        with pytest.raises(SalesforceMalformedRequest) as info:
            client_for(srv, session_id).query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert info.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_jwt_and_wrong_password_logins() -> None:
    claims = {
        "iss": CREDS.client_id,
        "sub": CREDS.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
    }
    with serve() as srv:
        assert srv.jwt_key_file is not None
        assertion = jwt.encode(claims, srv.jwt_key_file.read_bytes(), algorithm="RS256")
        session = trusting_session(srv)
        url = f"{srv.url}/services/oauth2/token"
        grant = {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion,
        }
        token, instance = token_login(url, grant, "login", CREDS.client_id, None, None, session)
        assert instance == f"127.0.0.1:{srv.port}" and token
        with pytest.raises(SalesforceAuthenticationFailed):
            SalesforceLogin(
                username=CREDS.username,
                password="wrong",
                security_token=CREDS.security_token,
                session=session,
                scratch_url=srv.url,
            )


def test_inspection_surface_speaks_salesforce_ids(server: SalesforceServer) -> None:
    sf = client_for(server)
    contact = sf.query("SELECT Id, Email FROM Contact ORDER BY Id LIMIT 1")["records"][0]
    context = ssl.create_default_context(cafile=server.ca_bundle)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
    with opener.open(f"{server.url}/_sandbox/records/Contact/{contact['Id']}") as answer:
        shown = json.load(answer)
    assert shown["api"]["Contact"]["Email"] == contact["Email"]
    assert shown["world"]["email"] == contact["Email"]
    with opener.open(f"{server.url}/_sandbox/stats") as answer:
        stats = json.load(answer)
    assert stats["endpoints"]["GET query"] >= 1


def test_cli_start_prints_what_a_client_needs() -> None:
    server, lines = start_salesforce(generate_world(seed=5, contacts=20), rate_limits=True)
    try:
        text = "\n".join(lines)
        assert f'instance_url = "{server.url}"' in text
        assert server.ca_bundle in text and server.token in text
        assert os.stat(server.ca_bundle).st_mode & 0o777 == 0o600
        sf = client_for(server)
        sf.query("SELECT Id FROM Contact LIMIT 1")
        assert sf.api_usage["api-usage"].total == 15_000
    finally:
        server.stop()
    assert not os.path.exists(server.ca_bundle)


def test_wrong_verb_gets_an_error_array(server: SalesforceServer) -> None:
    sf = client_for(server)
    with pytest.raises(SalesforceGeneralError) as info:
        sf.restful("limits", method="POST")
    assert info.value.status == 405
    assert info.value.content[0]["errorCode"] == "METHOD_NOT_ALLOWED"
