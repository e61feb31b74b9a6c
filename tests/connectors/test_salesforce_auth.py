"""Every Salesforce auth mode against the sandbox org over TLS: log in, renew when the
session expires (where the mode can), and refuse bad credentials without leaking them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sf_fixtures import HOST, SOAP_LOGIN, FakeOrg, password_settings, soap_login_body, spec
from simple_salesforce.exceptions import SalesforceRefusedRequest

from milestones.connectors.base import ConfigurationError
from milestones.connectors.salesforce.connector import SalesforceConnector
from milestones.connectors.salesforce.grants import running_user_id
from milestones.connectors.salesforce.settings import (
    AnySalesforceSettings,
    SalesforceClientCredentials,
    SalesforceJwt,
    SalesforcePassword,
    SalesforceSession,
)
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.world.gen import generate_world


@pytest.fixture(scope="module")
def org() -> Iterator[SalesforceServer]:
    with SalesforceServer(generate_world(seed=3, contacts=20)) as server:
        yield server


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("jwt") / "server.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def settings_for(mode: str, org: SalesforceServer, key_file: Path, **wrong: Any) -> Any:
    common: dict[str, Any] = {"instance_url": org.url, "ca_bundle": org.ca_bundle}
    if mode == "password":
        return SalesforcePassword(
            auth="password",
            username="integration@sandbox.example",
            password=wrong.get("secret", "sandbox-password"),
            security_token="sandbox-security-token",
            **common,
        )
    if mode == "jwt":
        return SalesforceJwt(
            auth="jwt",
            username=wrong.get("username", "integration@sandbox.example"),
            consumer_key="sandbox-client-id",
            # the org's app holds the certificate of org.jwt_key_file; key_file is another key
            private_key_file=key_file if wrong.get("key") == "other" else org.jwt_key_file,
            **common,
        )
    if mode == "client_credentials":
        return SalesforceClientCredentials(
            auth="client_credentials",
            consumer_key="sandbox-client-id",
            consumer_secret=wrong.get("secret", "sandbox-client-secret"),
            **common,
        )
    return SalesforceSession(auth="session", session_id=org.token, **common)


def connector(settings: AnySalesforceSettings) -> SalesforceConnector:
    return SalesforceConnector(settings, spec(), sleep=lambda s: None)


@pytest.mark.parametrize("mode", ["password", "jwt", "client_credentials"])
def test_login_modes_renew_an_expired_session(org, key_file, mode):
    sf = connector(settings_for(mode, org, key_file))
    assert sf.stages()

    org.expire_sessions()
    assert sf.stages()

    calls = sf.usage().calls
    assert calls["auth"] == 2 and calls["query"] == 3  # the refused call, then its replay


def test_a_session_id_is_used_as_given(key_file):
    with SalesforceServer(generate_world(seed=3, contacts=20)) as fresh:
        sf = connector(settings_for("session", fresh, key_file))
        assert sf.stages()
        assert "auth" not in sf.usage().calls


# simple-salesforce warns on "user hasn't approved this consumer" (the wrong JWT user).
@pytest.mark.filterwarnings("ignore::UserWarning:simple_salesforce.login")
@pytest.mark.parametrize(
    ("mode", "wrong"),
    [
        ("password", {"secret": "not-the-password"}),
        ("client_credentials", {"secret": "not-the-secret"}),
        ("jwt", {"username": "someone@else.example"}),
        ("jwt", {"key": "other"}),
    ],
)
def test_refused_logins_are_configuration_errors_without_secrets(org, key_file, mode, wrong):
    sf = connector(settings_for(mode, org, key_file, **wrong))

    with pytest.raises(ConfigurationError) as caught:
        sf.stages()

    text = str(caught.value)
    assert "not-the" not in text and "sandbox-security-token" not in text
    assert sf.usage().calls == {"auth": 1}


def test_a_missing_private_key_file_is_a_configuration_error(org, tmp_path):
    sf = connector(settings_for("jwt", org, tmp_path / "absent.key", key="other"))
    with pytest.raises(ConfigurationError):
        sf.stages()


def test_password_logs_in_at_its_own_version_and_reads_at_the_data_version(org, key_file):
    settings = settings_for("password", org, key_file)
    assert (settings.login_api_version, settings.api_version) == ("64.0", "68.0")
    sf = connector(settings)
    assert sf.stages()  # the sandbox refuses SOAP login() at 65.0 and later
    assert sf.client.sf.sf_version == "68.0"


MOVE_ON = 'switch to auth = "client_credentials" with an External Client App'


@pytest.mark.parametrize(
    ("org_options", "code", "says"),
    [
        ({"soap_login": False}, "INVALID_OPERATION", "SOAP login() is switched off in this org"),
        ({"use_any_api_auth": False}, "INSUFFICIENT_ACCESS", 'lacks the "Use Any API Auth"'),
    ],
)
def test_an_org_refusing_soap_login_says_what_to_do(key_file, org_options, code, says):
    with SalesforceServer(generate_world(seed=3, contacts=5), **org_options) as refusing:
        sf = connector(settings_for("password", refusing, key_file))
        with pytest.raises(ConfigurationError) as caught:
            sf.stages()
        # the same org takes the External Client App
        assert connector(settings_for("client_credentials", refusing, key_file)).stages()

    error = caught.value
    assert error.code == code
    assert says in error.message and MOVE_ON in error.message
    assert "README.md" in error.message and "Summer '27" in error.message
    assert "sandbox-password" not in str(error) and "sandbox-security-token" not in str(error)
    assert sf.usage().calls == {"auth": 1}


def test_soap_login_refused_at_its_version_names_the_key():
    # login_api_version >= 65.0 cannot be configured, so the fault comes by replay here.
    fault = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
        "<faultcode>sf:INVALID_OPERATION</faultcode><faultstring>INVALID_OPERATION: "
        "The SOAP Login operation is not available in the API version specified (64.0). "
        "Refer to the documentation for supported versions.</faultstring><detail>"
        "<sf:LoginFault><sf:exceptionCode>INVALID_OPERATION</sf:exceptionCode>"
        "<sf:exceptionMessage>The SOAP Login operation is not available in the API version "
        "specified (64.0). Refer to the documentation for supported versions."
        "</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, SOAP_LOGIN, body=fault, status=500)
        sf = SalesforceConnector(password_settings(), spec(), sleep=lambda s: None)
        with pytest.raises(ConfigurationError) as caught:
            sf.stages()
    assert caught.value.code == "INVALID_OPERATION"
    assert "not offered at API version 64.0" in caught.value.message
    assert 'login_api_version = "64.0"' in caught.value.message and MOVE_ON in caught.value.message
    assert "PASSWORD-SECRET" not in str(caught.value)


def test_client_credentials_find_the_run_as_user_by_userinfo(org, key_file):
    sf = connector(settings_for("client_credentials", org, key_file))
    org.reset_stats()

    assert running_user_id(sf.client) == org.setup.user_id

    endpoints = org.stats()["endpoints"]
    assert endpoints.get("GET /services/oauth2/userinfo") == 1
    assert not any("query" in name for name in endpoints)  # no username to look up


def test_client_credentials_grant_the_fields_to_the_run_as_user(key_file):
    with SalesforceServer(generate_world(seed=3, contacts=5)) as fresh:
        sf = connector(settings_for("client_credentials", fresh, key_file))
        created = sf.ensure_fields(dry_run=False)
        assert created and all(status.is_writable for status in created)
        assigned = {a["AssigneeId"] for a in fresh.setup.assignments}
        assert fresh.setup.user_id in assigned


def test_client_credentials_without_userinfo_say_what_to_do():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        FakeOrg(mock)
        mock.add(
            responses.POST,
            f"{HOST}/services/oauth2/token",
            json={"access_token": "00Dxx!TOKEN", "instance_url": HOST, "token_type": "Bearer"},
        )
        mock.add(
            responses.GET,
            f"{HOST}/services/oauth2/userinfo",
            status=403,
            json=[{"errorCode": "INSUFFICIENT_ACCESS", "message": "insufficient scope"}],
        )
        settings = SalesforceClientCredentials(
            instance_url=HOST, consumer_key="key", consumer_secret="SECRET-VALUE"
        )
        sf = connector(settings)
        with pytest.raises(ConfigurationError) as caught:
            running_user_id(sf.client)
    assert caught.value.message == (
        "cannot tell which user the integration runs as (/services/oauth2/userinfo gave 403 "
        "INSUFFICIENT_ACCESS): let the External Client App's token read userinfo, or grant "
        "read and edit on the fields by hand"
    )
    assert "SECRET-VALUE" not in str(caught.value)


def test_a_soap_session_is_refused_by_userinfo_and_the_user_found_by_name(org, key_file):
    sf = connector(settings_for("password", org, key_file))
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.client.sf.oauth2("userinfo")  # the real client, straight to the sandbox
    assert (refused.value.status, refused.value.content) == (403, "Bad_OAuth_Token")
    org.reset_stats()

    assert running_user_id(sf.client) == org.setup.user_id

    endpoints = org.stats()["endpoints"]
    assert endpoints.get("GET /services/oauth2/userinfo") == 1
    assert any("query" in name for name in endpoints)  # the lookup by username ran


def test_fields_create_with_a_soap_login_grants_the_fields(key_file):
    with SalesforceServer(generate_world(seed=3, contacts=5)) as fresh:
        sf = connector(settings_for("password", fresh, key_file))
        created = sf.ensure_fields(dry_run=False)
        assert created and all(status.is_writable for status in created)
        assert fresh.setup.user_id in {a["AssigneeId"] for a in fresh.setup.assignments}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, [{"errorCode": "INVALID_AUTH_HEADER", "message": "bad header"}]),
        (404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]),
        (429, "slow down"),
    ],
)
def test_every_refusal_of_userinfo_falls_back_on_the_username(status, body):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        org = FakeOrg(mock)
        mock.add(responses.POST, SOAP_LOGIN, body=soap_login_body("00Dxx!SESSION"))
        kind = {"json": body} if isinstance(body, list) else {"body": body}
        mock.add(responses.GET, f"{HOST}/services/oauth2/userinfo", status=status, **kind)
        user = {"totalSize": 1, "done": True, "records": [{"Id": "005xx0000000001AAA"}]}
        org.query(lambda q: (200, user), endpoint="query")
        sf = connector(password_settings())
        assert running_user_id(sf.client) == "005xx0000000001AAA"
    assert org.queries == ["SELECT Id FROM User WHERE Username = 'sync@acme.example'"]
