"""The ``[salesforce]`` table of the config, one model per auth mode, and Salesforce's
default written field names.

Importing it loads no simple-salesforce (the CLI's start-up stays light).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator

from milestones.connectors.settings import Pacing, Settings, required_secret
from milestones.mapping.fields import FieldKey


class _SalesforceAuthBase(Settings):
    instance_url: AnyHttpUrl = Field(description="The org's My Domain URL.")
    api_version: str = Field(
        default="62.0", pattern=r"^\d{2,3}\.0$", description="Salesforce REST API version."
    )
    ca_bundle: Path | None = Field(
        default=None, description="PEM bundle to trust for a private CA (a proxy, the sandbox)."
    )
    budget_share: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        default=0.5, description="Share of the remaining daily API requests one run may spend."
    )
    pacing: Pacing = Pacing()


class SalesforcePassword(_SalesforceAuthBase):
    """Username, password and security token (SOAP login)."""

    auth: Literal["password"] = Field(description="Which login flow; the other keys depend on it.")
    username: str = Field(description="The integration user's login.")
    password: SecretStr = Field(description="The user's password (from the env).")
    _password_given = field_validator("password")(required_secret)
    security_token: SecretStr = Field(
        default=SecretStr(""),
        description="The user's security token; empty when the org trusts the IP range.",
    )
    domain: str = Field(
        default="login",
        description="Kept for older configs: logins go to instance_url (My Domain), which "
        "works for every org.",
    )


class SalesforceJwt(_SalesforceAuthBase):
    """OAuth 2.0 JWT bearer flow: a connected app's consumer key and a private key file."""

    auth: Literal["jwt"] = Field(description="Which login flow; the other keys depend on it.")
    username: str = Field(description="The integration user the token is issued for.")
    consumer_key: SecretStr = Field(description="The connected app's consumer key (from the env).")
    _key_given = field_validator("consumer_key")(required_secret)
    private_key_file: Path = Field(
        description="PEM private key whose certificate is uploaded to the connected app."
    )
    domain: str = Field(
        default="login",
        description="The token's audience: login for a production org, test for a sandbox org.",
    )


class SalesforceClientCredentials(_SalesforceAuthBase):
    """OAuth 2.0 client credentials flow."""

    auth: Literal["client_credentials"] = Field(
        description="Which login flow; the other keys depend on it."
    )
    consumer_key: SecretStr = Field(description="The connected app's consumer key (from the env).")
    _keys_given = field_validator("consumer_key", "consumer_secret")(required_secret)
    consumer_secret: SecretStr = Field(
        description="The connected app's consumer secret (from the env)."
    )


class SalesforceSession(_SalesforceAuthBase):
    """An existing session id; cannot log in again when it expires."""

    auth: Literal["session"] = Field(description="Which login flow; the other keys depend on it.")
    session_id: SecretStr = Field(description="An existing session id (from the env).")
    _session_given = field_validator("session_id")(required_secret)


SalesforceSettings = Annotated[
    SalesforcePassword | SalesforceJwt | SalesforceClientCredentials | SalesforceSession,
    Field(discriminator="auth"),
]

AnySalesforceSettings = (
    SalesforcePassword | SalesforceJwt | SalesforceClientCredentials | SalesforceSession
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
