"""OpportunityHistory: one read-only row each time an Opportunity entered a stage.

Salesforce writes a row when an Opportunity is created and whenever its StageName, Amount,
Probability, ForecastCategory or CloseDate changes; rows are never updated, and
``CreatedDate`` is when the change happened. The child relationship from Opportunity is
``OpportunityHistories``. Object reference:
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_opportunityhistory.htm

The sandbox serves the stage changes only: one row per stage the world's deal entered
(``Deal.entered``, which keeps each stage's last entry), in time order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from milestones.sandbox.salesforce import vocab as vocab
from milestones.sandbox.salesforce.schema import (
    SObject,
    computed,
    fields_of,
    id_number,
    iso_date,
    reference,
    seconds,
    sf_id,
)
from milestones.sandbox.world.store import World

STEP_SHIFT = 64  # OpportunityHistory number = deal id * STEP_SHIFT + the entry's position


class HistoryRow:
    """One stage entry of one deal."""

    __slots__ = ("at", "deal", "stage", "step")

    def __init__(self, deal: Any, step: int, stage: str, at: int) -> None:
        self.deal, self.step, self.stage, self.at = deal, step, stage, at


def _entries(deal: Any) -> list[HistoryRow]:
    ordered = sorted((at, stage) for stage, at in (deal.entered or {}).items())
    return [HistoryRow(deal, n, stage, at) for n, (at, stage) in enumerate(ordered[:STEP_SHIFT])]


def opportunity_history(world: World) -> SObject:
    """The OpportunityHistory object over the world's deals (recycled with their deal)."""
    deals = world.records["deal"]

    def rows(deleted: bool) -> Iterable[HistoryRow]:
        for deal_id in list(world.ids("deal")):
            deal = deals.get(deal_id)
            if deal is not None and (deleted or not deal.archived):
                yield from _entries(deal)

    def find(record_id: str) -> HistoryRow | None:
        if record_id[:3] != "008":
            return None
        number = id_number(record_id)
        deal = deals.get(number // STEP_SHIFT)
        found = _entries(deal) if deal is not None else []
        step = number % STEP_SHIFT
        return found[step] if step < len(found) else None

    fields = fields_of(
        computed("Id", "id", lambda r: sf_id("008", r.deal.id * STEP_SHIFT + r.step)),
        computed("IsDeleted", "boolean", lambda r: bool(r.deal.archived), nillable=False),
        reference(
            "OpportunityId", ("Opportunity",), "Opportunity", lambda r: sf_id("006", r.deal.id)
        ),
        computed("StageName", "picklist", lambda r: vocab.stage_name(r.stage)),
        computed("Amount", "currency", lambda r: r.deal.amount),
        computed("CloseDate", "date", lambda r: iso_date(r.deal.close_ms)),
        computed("CreatedDate", "datetime", lambda r: seconds(r.at)),
        computed("SystemModstamp", "datetime", lambda r: seconds(r.at)),
    )
    return SObject(
        "OpportunityHistory", rows, find, fields, is_deleted=lambda r: bool(r.deal.archived)
    )
