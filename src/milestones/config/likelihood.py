"""``[likelihood]``: how the chance of reaching the next milestone is estimated and checked."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class LikelihoodSettings(BaseModel):
    """``[likelihood]``: the history a curve needs, and the backtest's cutoff."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_sample: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=30,
        description="People who must have reached a milestone before the chance of going on "
        "from it is estimated; below it the likelihood says 'not enough history (n = ...)'.",
    )
    writeback: bool = Field(
        default=False,
        description="Write each person's chance of reaching their next milestone within 90 "
        "days, in bands of 10 percent, to next_milestone_likelihood (HubSpot) or "
        "Next_Milestone_Likelihood__c (Salesforce; a Percent field); `fields --create` "
        "creates it. Needs the likelihood extra.",
    )
    backtest_days: Annotated[int, Field(ge=90, le=3_650)] = Field(
        default=180,
        description="The backtest fits on the ledger as it stood this many days ago and "
        "compares the next 90 days' predictions with what happened.",
    )
