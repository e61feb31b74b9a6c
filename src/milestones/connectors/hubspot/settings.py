"""The ``[hubspot]`` table of the config and HubSpot's default written field names.

Importing it loads no HubSpot SDK (the CLI's start-up stays light).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator

from milestones.connectors.settings import Pacing, Settings, required_secret
from milestones.mapping.fields import FieldKey


class HubSpotSettings(Settings):
    """``[hubspot]``: a private app's access token and where the API lives."""

    access_token: SecretStr = Field(description="Private app access token (from the env).")
    _token_given = field_validator("access_token")(required_secret)
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
