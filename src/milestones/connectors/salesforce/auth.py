"""Salesforce sessions: the HTTP session's trust settings and one login per auth mode.

simple-salesforce builds every login URL as ``https://{domain}.salesforce.com`` (reference
salesforce-api.md, section 6.1), which no proxy or private deployment can answer. We log in
at the org's own My Domain URL (``instance_url``) instead, still through simple-salesforce's
login functions: the SOAP login takes that URL through its ``scratch_url`` argument and the
OAuth flows go through its ``token_login``. Every mode hands back a session id and the
instance host; the data calls then run on ``Salesforce(session_id=..., instance_url=...)``.
Logins run through the client's request path, whose error table turns a refused login
(simple-salesforce's ``SalesforceAuthenticationFailed``) into a ``ConfigurationError``.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.login import SalesforceLogin, token_login

from milestones.connectors.base import ConfigurationError
from milestones.connectors.salesforce.settings import (
    AnySalesforceSettings,
    SalesforceClientCredentials,
    SalesforceJwt,
    SalesforcePassword,
    SalesforceSession,
)

Login = Callable[[], tuple[str, str]]

# What to do when an org refuses SOAP login() (reference crm-api-changes-2026.md 5.1).
MOVE_ON = (
    'switch to auth = "client_credentials" with an External Client App (steps in README.md, '
    '"Quick start: Salesforce"); or have an admin {fix}, which works until Salesforce retires '
    "SOAP login() in Summer '27"
)
ENABLE_SOAP = (
    'enable "SOAP API login()" (Setup > User Interface) and give the user the Use Any API '
    "Auth permission"
)

DEFAULT_TIMEOUT = (10.0, 120.0)  # simple-salesforce sets none (reference section 6.2)


class TrustingAdapter(HTTPAdapter):
    """An adapter that pins the CA bundle and a default timeout on every request.

    ``requests`` lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override ``session.verify``
    (psf/requests #3829, reference section 6.1), so a configured bundle set only on the
    session is silently ignored wherever those variables are set. The adapter sees the
    final ``verify`` value, so it wins; the environment's proxies still apply.
    """

    def __init__(self, ca_bundle: Path | None) -> None:
        super().__init__()
        self.ca_bundle = ca_bundle

    # requests' stub spells out send's keyword parameters; they pass through here unchanged.
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.ca_bundle is not None:
            kwargs["verify"] = str(self.ca_bundle)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = DEFAULT_TIMEOUT
        return super().send(request, **kwargs)


def prepare_session(session: requests.Session | None, ca_bundle: Path | None) -> requests.Session:
    """The session every call uses, with the CA bundle really applied to https."""
    if ca_bundle is not None and not Path(ca_bundle).is_file():
        raise ConfigurationError(
            f"ca_bundle {ca_bundle} is not a readable file", connector="salesforce"
        )
    session = session or requests.Session()
    if ca_bundle is not None:
        session.verify = str(ca_bundle)
    session.mount("https://", TrustingAdapter(ca_bundle))
    return session


def refused_login(
    settings: AnySalesforceSettings, code: str | None, vendor_message: str
) -> ConfigurationError:
    """The error for a login the org refused: what happened and what to do about it.

    SOAP login() is off by default on orgs created since Winter '26 (INVALID_OPERATION),
    is not offered from API 65.0 (INVALID_OPERATION again) and needs Use Any API Auth on
    orgs created since Summer '26 (INSUFFICIENT_ACCESS). Salesforce's own message is kept;
    it names no credential.
    """
    said = f"Salesforce said: {vendor_message.strip()[:300]}" if vendor_message.strip() else ""
    if code == "INVALID_OPERATION" and "not available in the API version" in vendor_message:
        version = getattr(settings, "login_api_version", settings.api_version)
        text = (
            f"SOAP login() is not offered at API version {version} (only up to 64.0): set "
            f'login_api_version = "64.0", or better, ' + MOVE_ON.format(fix=ENABLE_SOAP)
        )
    elif code == "INVALID_OPERATION":
        text = (
            "SOAP login() is switched off in this org (the default for orgs created since "
            "Winter '26): " + MOVE_ON.format(fix=ENABLE_SOAP)
        )
    elif code == "INSUFFICIENT_ACCESS":
        text = (
            'the user lacks the "Use Any API Auth" permission, which SOAP login() needs in '
            "orgs created since Summer '26: "
            + MOVE_ON.format(
                fix='give the user "Use Any API Auth" (and keep SOAP API login() enabled)'
            )
        )
    elif isinstance(settings, SalesforcePassword):
        text = "login refused: check username, password and security_token in [salesforce]"
    else:
        text = (
            "login refused: check the consumer key (and secret or private key) in "
            "[salesforce], and that the External Client App has the flow enabled and the "
            "user (Run As, or pre-authorised for JWT) set"
        )
    return ConfigurationError(
        f"{text}. {said}" if said else text, connector="salesforce", code=code
    )


def _base_url(settings: AnySalesforceSettings) -> str:
    return str(settings.instance_url).rstrip("/")


def login_for(settings: AnySalesforceSettings, session: requests.Session) -> Login | None:
    """A function that logs in afresh, or None when the mode cannot (a given session id)."""
    if isinstance(settings, SalesforceSession):
        return None
    if isinstance(settings, SalesforcePassword):
        return lambda: _password_login(settings, session)
    if isinstance(settings, SalesforceJwt):
        return lambda: _jwt_login(settings, session)
    return lambda: _client_credentials_login(settings, session)


def _password_login(settings: SalesforcePassword, session: requests.Session) -> tuple[str, str]:
    # SOAP login at the My Domain URL; scratch_url is simple-salesforce's way to name it.
    # The login speaks its own version: login() is gone from API 65.0 on, while the data
    # calls run at api_version (reference crm-api-changes-2026.md 5.2).
    return SalesforceLogin(
        username=settings.username,
        password=settings.password.get_secret_value(),
        security_token=settings.security_token.get_secret_value(),
        sf_version=settings.login_api_version,
        session=session,
        domain=settings.domain,
        scratch_url=_base_url(settings),
    )


def _jwt_login(settings: SalesforceJwt, session: requests.Session) -> tuple[str, str]:
    try:
        key = Path(settings.private_key_file).read_bytes()
    except OSError as error:
        raise ConfigurationError(
            f"cannot read private_key_file: {error.strerror}", connector="salesforce"
        ) from None
    claims = {
        "iss": settings.consumer_key.get_secret_value(),
        "sub": settings.username,
        "aud": f"https://{settings.domain}.salesforce.com",  # login or test, per the docs
        "exp": int(time.time()) + 180,
    }
    try:
        assertion = jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError):
        raise ConfigurationError(
            "private_key_file is not a usable RSA private key", connector="salesforce"
        ) from None
    data = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    return _token(settings, session, data, None)


def _client_credentials_login(
    settings: SalesforceClientCredentials, session: requests.Session
) -> tuple[str, str]:
    pair = (
        f"{settings.consumer_key.get_secret_value()}:{settings.consumer_secret.get_secret_value()}"
    )
    headers = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    data = {"grant_type": "client_credentials"}
    return _token(settings, session, data, headers)


def _token(
    settings: AnySalesforceSettings,
    session: requests.Session,
    data: dict[str, str],
    headers: dict[str, str] | None,
) -> tuple[str, str]:
    url = _base_url(settings) + "/services/oauth2/token"
    token, instance = token_login(url, data, "login", "", headers, None, session)
    return str(token), str(instance).rstrip("/")
