"""The ``[salesforce]`` table of the config, one model per auth mode, and Salesforce's
default written field names.

The modes, in the order a new integration should consider them (reference
crm-api-changes-2026.md section 5.1): ``client_credentials`` (the default, also when ``auth``
is left out) and ``jwt`` log in through an External Client App; ``password`` is SOAP
login(), kept for existing orgs until Salesforce retires it in Summer '27; ``session`` uses
a given session id. Importing it loads no simple-salesforce (the CLI's start-up stays light).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, Discriminator, Field, SecretStr, Tag, field_validator

from milestones.connectors.settings import Pacing, Settings, required_secret
from milestones.mapping.fields import FieldKey

DEFAULT_AUTH: Literal["client_credentials"] = "client_credentials"
DATA_API_VERSION = "68.0"  # Winter '27, the newest the sandbox serves and the tests run on
# SOAP login() is not offered from API 65.0 on (reference crm-api-changes-2026.md 5.2).
LAST_SOAP_LOGIN_VERSION = "64.0"
_VERSION = r"^\d{2,3}\.0$"
_AUTH_DOC = "Which login flow; the other keys depend on it."


class _SalesforceAuthBase(Settings):
    instance_url: AnyHttpUrl = Field(description="The org's My Domain URL.")
    api_version: str = Field(
        default=DATA_API_VERSION,
        pattern=_VERSION,
        description="Salesforce REST API version of the data calls (query, describe, "
        "collections, Tooling); the newest the worker is tested with.",
    )
    ca_bundle: Path | None = Field(
        default=None, description="PEM bundle to trust for a private CA (a proxy, the sandbox)."
    )
    budget_share: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        default=0.5, description="Share of the remaining daily API requests one run may spend."
    )
    pacing: Pacing = Pacing()


class SalesforcePassword(_SalesforceAuthBase):
    """Legacy: username, password and security token through SOAP login(). Off by default on
    orgs created since Winter '26, not offered from API 65.0, retired by Salesforce in
    Summer '27; move to `client_credentials`."""

    auth: Literal["password"] = Field(description=_AUTH_DOC)
    username: str = Field(description="The integration user's login.")
    password: SecretStr = Field(description="The user's password (from the env).")
    _password_given = field_validator("password")(required_secret)
    security_token: SecretStr = Field(
        default=SecretStr(""),
        description="The user's security token; empty when the org trusts the IP range.",
    )
    login_api_version: str = Field(
        default=LAST_SOAP_LOGIN_VERSION,
        pattern=_VERSION,
        description="API version of the SOAP login() call only, apart from api_version: "
        "64.0 is the last that offers login(); 65.0 and later are refused.",
    )
    domain: str = Field(
        default="login",
        description="Kept for older configs: logins go to instance_url (My Domain), which "
        "works for every org.",
    )

    @field_validator("login_api_version")
    @classmethod
    def _login_offered(cls, version: str) -> str:
        if float(version) > float(LAST_SOAP_LOGIN_VERSION):
            raise ValueError(
                f"SOAP login() is not available from API version 65.0; "
                f"use {LAST_SOAP_LOGIN_VERSION} or earlier (the data calls keep api_version)"
            )
        return version


class SalesforceJwt(_SalesforceAuthBase):
    """OAuth 2.0 JWT bearer flow: an External Client App's consumer key, a private key whose
    certificate the app holds, and a pre-authorised user."""

    auth: Literal["jwt"] = Field(description=_AUTH_DOC)
    username: str = Field(description="The integration user the token is issued for.")
    consumer_key: SecretStr = Field(
        description="The External Client App's consumer key (from the env)."
    )
    _key_given = field_validator("consumer_key")(required_secret)
    private_key_file: Path = Field(
        description="PEM private key whose X.509 certificate is uploaded to the External "
        "Client App."
    )
    domain: str = Field(
        default="login",
        description="The token's audience: login for a production org, test for a sandbox org.",
    )


class SalesforceClientCredentials(_SalesforceAuthBase):
    """OAuth 2.0 client credentials flow through an External Client App, running as its
    Run As user. The default: a table without `auth` uses this mode."""

    auth: Literal["client_credentials"] = Field(
        default=DEFAULT_AUTH, description=_AUTH_DOC + " Left out, it is client_credentials."
    )
    consumer_key: SecretStr = Field(
        description="The External Client App's consumer key (from the env)."
    )
    _keys_given = field_validator("consumer_key", "consumer_secret")(required_secret)
    consumer_secret: SecretStr = Field(
        description="The External Client App's consumer secret (from the env)."
    )


class SalesforceSession(_SalesforceAuthBase):
    """An existing session id; cannot log in again when it expires."""

    auth: Literal["session"] = Field(description=_AUTH_DOC)
    session_id: SecretStr = Field(description="An existing session id (from the env).")
    _session_given = field_validator("session_id")(required_secret)


def auth_mode(value: Any) -> Any:
    """The union's tag: the table's ``auth``, ``client_credentials`` when it is left out."""
    if isinstance(value, dict):
        return value.get("auth", DEFAULT_AUTH)
    return getattr(value, "auth", None)


SalesforceSettings = Annotated[
    Annotated[SalesforceClientCredentials, Tag("client_credentials")]
    | Annotated[SalesforceJwt, Tag("jwt")]
    | Annotated[SalesforcePassword, Tag("password")]
    | Annotated[SalesforceSession, Tag("session")],
    Discriminator(auth_mode),
]

AnySalesforceSettings = (
    SalesforceClientCredentials | SalesforceJwt | SalesforcePassword | SalesforceSession
)

SALESFORCE_FIELD_NAMES: dict[FieldKey, str] = {
    "milestone": "Sales_Milestone__c",
    "milestone_date": "Sales_Milestone_Date__c",
    "next_milestone": "Sales_Next_Milestone__c",
    "disqualified": "Sales_Disqualified__c",
    "disqualified_reason": "Sales_Disqualified_Reason__c",
    "is_advocate": "Is_Advocate__c",
    "advocate_since": "Advocate_Since__c",
    "deal_milestone": "Deal_Milestone__c",
}
# Written only with [likelihood] writeback = true (a Percent field, on Contact and Lead).
SALESFORCE_LIKELIHOOD_FIELD = "Next_Milestone_Likelihood__c"
