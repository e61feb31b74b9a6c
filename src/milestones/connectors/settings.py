"""Provider settings: the ``[hubspot]``, ``[salesforce]`` and ``[fields]`` tables of the config.

They live beside the connectors that read them; ``milestones.config.settings`` composes them into
the whole file's model. Secrets are ``SecretStr`` so they never print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator

from milestones.mapping.fields import FieldKey, ObjectKind


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _required_secret(value: SecretStr) -> SecretStr:
    """A credential the CRM needs: empty means ``${VAR}`` read an empty variable."""
    if not value.get_secret_value().strip():
        raise ValueError("is empty (is its environment variable set to an empty string?)")
    return value


class Pacing(_Settings):
    """Retry and pacing knobs shared by both connectors."""

    max_attempts: Annotated[int, Field(ge=1, le=20)] = Field(
        default=6, description="Tries per request before a passing fault becomes an error."
    )
    max_wait_seconds: Annotated[float, Field(gt=0, le=600)] = Field(
        default=60.0, description="Longest single backoff wait."
    )


class HubSpotSettings(_Settings):
    """``[hubspot]``: a private app's access token and where the API lives."""

    access_token: SecretStr = Field(description="Private app access token (from the env).")
    _token_given = field_validator("access_token")(_required_secret)
    base_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.hubapi.com"),
        description="API root; a sandbox or proxy may replace it.",
    )
    ca_bundle: Path | None = Field(
        default=None, description="PEM bundle to trust for a private CA (a proxy, the sandbox)."
    )
    activities: Literal["engagements", "rollups"] = Field(
        default="engagements",
        description="engagements: read emails, calls and meetings (exact, costs reads per "
        "activity page); rollups: read contact-level properties such as the last reply date "
        "instead (cheap, coarser: no per-activity evidence).",
    )
    rollup_properties: list[str] = Field(
        default=["hs_sales_email_last_replied", "hs_last_sales_activity_timestamp"],
        description="rollups mode: contact date properties that prove a two-way exchange.",
    )
    ten_second_limit: Annotated[int, Field(ge=1)] = Field(
        default=100, description="Requests per rolling 10 s the app may make (pacing ceiling)."
    )
    search_per_second: Annotated[int, Field(ge=1)] = Field(
        default=5, description="Search requests per second (HubSpot's own, stricter limit)."
    )
    lifecycle_mirror: dict[str, str] = Field(
        default={},
        description="Optional: milestone -> lifecyclestage value to set as well "
        "(e.g. client = 'customer', advocate = 'evangelist'). Empty: leave lifecyclestage alone.",
    )
    lifecycle_allow_backwards: bool = Field(
        default=False,
        description="Clear lifecyclestage first when the mirror would move it backwards "
        "(HubSpot only moves it forward otherwise).",
    )
    pacing: Pacing = Pacing()


class _SalesforceAuthBase(_Settings):
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
    _password_given = field_validator("password")(_required_secret)
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
    _key_given = field_validator("consumer_key")(_required_secret)
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
    _keys_given = field_validator("consumer_key", "consumer_secret")(_required_secret)
    consumer_secret: SecretStr = Field(
        description="The connected app's consumer secret (from the env)."
    )


class SalesforceSession(_SalesforceAuthBase):
    """An existing session id; cannot log in again when it expires."""

    auth: Literal["session"] = Field(description="Which login flow; the other keys depend on it.")
    session_id: SecretStr = Field(description="An existing session id (from the env).")
    _session_given = field_validator("session_id")(_required_secret)


SalesforceSettings = Annotated[
    SalesforcePassword | SalesforceJwt | SalesforceClientCredentials | SalesforceSession,
    Field(discriminator="auth"),
]

HUBSPOT_FIELD_NAMES: dict[FieldKey, str] = {
    "milestone": "sales_milestone",
    "milestone_date": "sales_milestone_date",
    "next_milestone": "sales_next_milestone",
    "disqualified": "sales_disqualified",
    "disqualified_reason": "sales_disqualified_reason",
    "is_advocate": "is_advocate",
    "advocate_since": "advocate_since",
    "deal_milestone": "deal_milestone",
}
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
FIELD_TYPES: dict[FieldKey, Literal["milestone", "date", "boolean", "text"]] = {
    "milestone": "milestone",
    "milestone_date": "date",
    "next_milestone": "milestone",
    "disqualified": "boolean",
    "disqualified_reason": "text",
    "is_advocate": "boolean",
    "advocate_since": "date",
    "deal_milestone": "milestone",
}


class WriteSpec(_Settings):
    """What a connector needs to know about the fields it reads back and writes."""

    names: dict[FieldKey, str]
    person_objects: tuple[ObjectKind, ...] = ("contact",)
    extra_properties: tuple[str, ...] = Field(
        default=(),
        description="Properties the rules read (referrer, NPS, flags) to request on pulls.",
    )
    referrer_property: str | None = Field(
        default=None,
        description="The property naming a record's referrer (also among extra_properties); "
        "without it, the first extra property.",
    )

    @property
    def referrer(self) -> str | None:
        """The referrer property: named explicitly, else the first extra property."""
        if self.referrer_property:
            return self.referrer_property
        return self.extra_properties[0] if self.extra_properties else None

    def name(self, key: FieldKey) -> str:
        """The CRM field name for a canonical key."""
        return self.names[key]
