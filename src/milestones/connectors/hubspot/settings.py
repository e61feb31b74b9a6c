"""The ``[hubspot]`` table of the config and HubSpot's default written field names.

Importing it loads no HubSpot SDK (the CLI's start-up stays light).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator

from milestones.connectors.hubspot.versions import DEFAULT_VERSION, LEGACY, VERSIONS
from milestones.connectors.settings import Pacing, Settings, required_secret
from milestones.mapping.fields import FieldKey


class HubSpotSettings(Settings):
    """``[hubspot]``: the access token, where the API lives, and which version of it to speak."""

    access_token: SecretStr = Field(
        description="A service key's or a project app's access token (from the env); a legacy "
        "private app's token works until HubSpot stops supporting those in September 2027."
    )
    _token_given = field_validator("access_token")(required_secret)
    base_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.hubapi.com"),
        description="API root; a sandbox or proxy may replace it.",
    )
    api_version: str = Field(
        default=DEFAULT_VERSION,
        description="HubSpot's dated API version (the newest this release is tested with), or "
        f'"{LEGACY}" for the numbered paths of 2024 until their end of support. '
        "`milestones check` says when the version's support ends.",
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
        default=100,
        description="Requests per rolling 10 s the app may make. Unset: the worker starts at "
        "HubSpot's documented 100 and follows the X-HubSpot-RateLimit-Max HubSpot sends "
        "(110 for an OAuth app, more on higher tiers); set: a ceiling it never passes.",
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

    @field_validator("api_version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        if value not in VERSIONS:
            known = ", ".join(f'"{v}"' for v in sorted(VERSIONS))
            raise ValueError(f"{value!r} is not an API version this worker speaks ({known})")
        return value


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
# Written only with [likelihood] writeback = true.
HUBSPOT_LIKELIHOOD_FIELD = "next_milestone_likelihood"
