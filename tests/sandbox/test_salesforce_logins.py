"""The Salesforce sandbox's logins as a 2026 org answers them, through simple-salesforce's
own login functions over TLS: the External Client App's client credentials and checked JWT
bearer assertions, SOAP login() switched off or refused, and the API versions it serves."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError
from simple_salesforce.login import SalesforceLogin, token_login

from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.salesforce.auth import (
    NO_USE_ANY_API_AUTH,
    SOAP_LOGIN_DISABLED,
    Credentials,
)
from milestones.sandbox.salesforce.cli import start_salesforce
from milestones.sandbox.world.gen import generate_world

CREDS = Credentials()
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def serve(**options: Any) -> SalesforceServer:
    return SalesforceServer(generate_world(seed=5, contacts=10), **options)


@pytest.fixture(scope="module")
def org() -> Iterator[SalesforceServer]:
    with serve() as server:
        yield server


def trusting(server: SalesforceServer) -> requests.Session:
    session = requests.Session()
    session.verify = server.ca_bundle
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (reference 6.1)
    return session


def soap_login(server: SalesforceServer, version: str = "64.0", **wrong: str) -> Any:
    return SalesforceLogin(
        username=CREDS.username,
        password=wrong.get("password", CREDS.password),
        security_token=CREDS.security_token,
        sf_version=version,
        session=trusting(server),
        scratch_url=server.url,
    )


def token(server: SalesforceServer, data: dict[str, str], headers: Any = None) -> Any:
    url = f"{server.url}/services/oauth2/token"
    return token_login(url, data, "login", CREDS.client_id, headers, None, trusting(server))


def assertion(server: SalesforceServer, key: bytes | None = None, **claims: Any) -> str:
    body = {
        "iss": CREDS.client_id,
        "sub": CREDS.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
        **claims,
    }
    if key is None:
        assert server.jwt_key_file is not None
        key = server.jwt_key_file.read_bytes()
    return jwt.encode(body, key, algorithm="RS256")


def other_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# -- client credentials ------------------------------------------------------------------


def test_client_credentials_by_basic_auth_or_form_fields(org: SalesforceServer) -> None:
    pair = base64.b64encode(f"{CREDS.client_id}:{CREDS.client_secret}".encode()).decode()
    grant = {"grant_type": "client_credentials"}
    by_header, _ = token(org, grant, {"Authorization": f"Basic {pair}"})
    form = {**grant, "client_id": CREDS.client_id, "client_secret": CREDS.client_secret}
    by_form, _ = token(org, form)
    for session_id in (by_header, by_form):
        sf = Salesforce(instance_url=org.url, session_id=session_id, session=trusting(org))
        assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] > 0


def test_a_wrong_client_secret_is_refused(org: SalesforceServer) -> None:
    form = {"grant_type": "client_credentials", "client_id": CREDS.client_id}
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        token(org, {**form, "client_secret": "not-the-secret"})
    assert caught.value.code == "invalid_grant"


# -- JWT bearer --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "audience", ["https://login.salesforce.com", "https://test.salesforce.com", "own"]
)
def test_a_signed_assertion_gets_a_session(org: SalesforceServer, audience: str) -> None:
    signed = assertion(org, aud=org.url if audience == "own" else audience)
    session_id, _ = token(org, {"grant_type": JWT_GRANT, "assertion": signed})
    sf = Salesforce(instance_url=org.url, session_id=session_id, session=trusting(org))
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] > 0


@pytest.mark.parametrize(
    ("case", "claims", "error", "description"),
    [
        ("signed by another key", {"key": "other"}, "invalid_grant", "invalid assertion"),
        ("expired", {"exp": int(time.time()) - 60}, "invalid_grant", "expired authorization code"),
        ("another app", {"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
        ("another audience", {"aud": "https://x.example"}, "invalid_grant", "audience is invalid"),
        ("another user", {"sub": "u@x"}, "invalid_grant", "user hasn't approved this consumer"),
    ],
)  # fmt: skip
def test_a_bad_assertion_is_refused_as_salesforce_does(
    org: SalesforceServer, case: str, claims: dict[str, Any], error: str, description: str
) -> None:
    key = other_key() if claims.pop("key", None) else None
    signed = assertion(org, key, **claims)
    answer = trusting(org).post(
        f"{org.url}/services/oauth2/token", {"grant_type": JWT_GRANT, "assertion": signed}
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": error, "error_description": description}


def test_an_unsigned_assertion_is_refused(org: SalesforceServer) -> None:
    unsigned = jwt.encode(
        {"iss": CREDS.client_id, "sub": CREDS.username, "aud": "https://login.salesforce.com",
         "exp": int(time.time()) + 180},
        None,
        algorithm="none",
    )  # fmt: skip
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        token(org, {"grant_type": JWT_GRANT, "assertion": unsigned})
    assert (caught.value.code, caught.value.auth_message) == ("invalid_grant", "invalid assertion")


def test_the_app_certificate_can_be_given() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app")])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(datetime(2020, 1, 1)).not_valid_after(datetime(2040, 1, 1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    with serve(credentials=Credentials(jwt_certificate=pem)) as srv:
        assert srv.jwt_key_file is None  # nothing made: the given certificate decides
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        session_id, _ = token(srv, {"grant_type": JWT_GRANT, "assertion": assertion(srv, private)})
        assert session_id


# -- SOAP login() --------------------------------------------------------------------------


def test_soap_login_works_up_to_64(org: SalesforceServer) -> None:
    session_id, instance = soap_login(org, "64.0")
    assert session_id and instance == f"127.0.0.1:{org.port}"


@pytest.mark.parametrize("version", ["65.0", "68.0"])
def test_soap_login_is_not_offered_from_65(org: SalesforceServer, version: str) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        soap_login(org, version)
    assert caught.value.code == "INVALID_OPERATION"
    assert caught.value.auth_message == (
        f"The SOAP Login operation is not available in the API version specified ({version}). "
        "Refer to the documentation for supported versions."
    )


def test_soap_login_below_the_oldest_version_is_unsupported(org: SalesforceServer) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        soap_login(org, "30.0")
    assert caught.value.code == "UNSUPPORTED_API_VERSION"


def test_soap_login_switched_off_as_on_a_new_org() -> None:
    with serve(soap_login=False) as srv:
        with pytest.raises(SalesforceAuthenticationFailed) as caught:
            soap_login(srv)
        assert (caught.value.code, caught.value.auth_message) == (
            "INVALID_OPERATION",
            SOAP_LOGIN_DISABLED,
        )
        assert SOAP_LOGIN_DISABLED.startswith("SOAP API login() is disabled by default")
        # the External Client App still works on the same org
        form = {"grant_type": "client_credentials", "client_id": CREDS.client_id}
        assert token(srv, {**form, "client_secret": CREDS.client_secret})[0]


def test_soap_login_for_a_user_without_use_any_api_auth() -> None:
    with serve(use_any_api_auth=False) as srv:
        with pytest.raises(SalesforceAuthenticationFailed) as caught:
            soap_login(srv)
        assert (caught.value.code, caught.value.auth_message) == (
            "INSUFFICIENT_ACCESS",
            NO_USE_ANY_API_AUTH,
        )
        with pytest.raises(SalesforceAuthenticationFailed) as wrong:
            soap_login(srv, password="wrong")  # the credentials are checked first
        assert wrong.value.code == "INVALID_LOGIN"


# -- versions ------------------------------------------------------------------------------


def test_every_version_up_to_68_is_listed_and_served(org: SalesforceServer) -> None:
    listed = trusting(org).get(f"{org.url}/services/data").json()  # no session needed
    numbers = [entry["version"] for entry in listed]
    assert numbers == [f"{v}.0" for v in range(31, 69)]
    assert listed[-1] == {"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"}
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in listed
    for version in numbers:
        sf = Salesforce(
            instance_url=org.url, session_id=org.token, session=trusting(org), version=version
        )
        assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] > 0


@pytest.mark.parametrize(("version", "status"), [("30.0", 410), ("21.0", 410), ("69.0", 404)])
def test_unserved_versions(org: SalesforceServer, version: str, status: int) -> None:
    sf = Salesforce(
        instance_url=org.url, session_id=org.token, session=trusting(org), version=version
    )
    with pytest.raises(SalesforceError) as caught:
        sf.query("SELECT COUNT() FROM Contact")
    assert caught.value.status == status
    if status == 410:
        assert caught.value.content[0]["errorCode"] == "GONE"


# -- the sandbox command -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "code"),
    [("on", None), ("off", "INVALID_OPERATION"), ("no-api-auth", "INSUFFICIENT_ACCESS")],
)
def test_the_command_switches_soap_login(choice: str, code: str | None) -> None:
    server, lines = start_salesforce(generate_world(seed=5, contacts=10), soap_login=choice)
    try:
        text = "\n".join(lines)
        assert 'auth = "client_credentials"' in text
        assert f"SF_CONSUMER_KEY='{CREDS.client_id}'" in text
        assert str(server.jwt_key_file) in text
        if code is None:
            assert soap_login(server)[0]
        else:
            with pytest.raises(SalesforceAuthenticationFailed) as caught:
                soap_login(server)
            assert caught.value.code == code
    finally:
        server.stop()
    assert server.jwt_key_file is not None and not server.jwt_key_file.exists()
