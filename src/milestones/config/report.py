"""``[report]``: the defaults of ``milestones report`` (each one also a command option)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class ReportSettings(BaseModel):
    """``[report]``: when a client counts as forgotten and an advocate as about to lapse."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    silent_days: Annotated[int, Field(ge=1, le=3_650)] = Field(
        default=90,
        description="A client (or advocate) with no two-way contact for longer than this is "
        "listed as at risk of being forgotten.",
    )
    lapse_warning_days: Annotated[int, Field(ge=1, le=365)] = Field(
        default=30,
        description="An advocate whose evidence stops counting within this many days is "
        "listed as about to lapse (see mapping.advocate.lapse_days).",
    )
    owner_names: dict[str, str] = Field(
        default={},
        description="CRM owner (sales rep) id -> the name the report shows, over the name "
        "read from the CRM (HubSpot owners, Salesforce User.Name; read by sync at most daily); "
        "owners with neither show their id.",
    )
    top: Annotated[int, Field(ge=1, le=1_000)] = Field(
        default=10,
        description="Length of each list (top referrers, silent clients, idle targets), per view.",
    )
