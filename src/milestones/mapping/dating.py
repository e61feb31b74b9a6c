"""When each milestone was reached: dated evidence, observed or inferred, from a person's deals.

Pure, like ``derive``: records in, evidence out. A deal proves a milestone for each stage it
entered, on the day it entered it (HubSpot's ``hs_v2_date_entered_<stage>``, Salesforce's
OpportunityHistory rows), so a won deal dates the opportunity by the day it reached a
proposal stage and the client by the day it was won, not both on the won date. Where the CRM
keeps no such history, the date is *inferred* from what it does keep (the creation date,
the close date) and said to be so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from milestones.mapping.records import Deal, Milestone

StageMilestone = Callable[[str], Milestone | None]


@dataclass(frozen=True, slots=True, order=True)
class Evidence:
    """One fact behind a milestone: the record and the rule that made it count.

    ``is_inferred``: the date is not the fact's own (a deal's creation standing in for a
    first conversation nobody logged, a score without an answer date, advocacy dated to
    the client date it may not precede).
    """

    on: date
    rule: str
    record_kind: str
    record_id: str
    is_inferred: bool = False

    @property
    def basis(self) -> str:
        """``observed`` or ``inferred``: how the date was known."""
        return "inferred" if self.is_inferred else "observed"

    def describe(self) -> str:
        """A one-line account such as ``2025-03-04 inbound_email (activity 123)``."""
        inferred = " [inferred]" if self.is_inferred else ""
        return f"{self.on.isoformat()}{inferred} {self.rule} ({self.record_kind} {self.record_id})"

    def redated(self, on: date, is_inferred: bool) -> Evidence:
        """The same fact, dated otherwise."""
        return Evidence(on, self.rule, self.record_kind, self.record_id, is_inferred)


# Evidence as a plain tuple that sorts the way ``earliest`` picks: (on, is_inferred, rule,
# record_kind, record_id). derive() compares many candidates per person and keeps few; it
# compares these and makes an ``Evidence`` only of what it keeps.
EvidenceKey = tuple[date, bool, str, str, str]


def key_of(evidence: Evidence) -> EvidenceKey:
    """``evidence`` as a key: the lower key is the earlier evidence."""
    return (
        evidence.on,
        evidence.is_inferred,
        evidence.rule,
        evidence.record_kind,
        evidence.record_id,
    )


def evidence_of(key: EvidenceKey) -> Evidence:
    """The evidence a key stands for."""
    on, is_inferred, rule, record_kind, record_id = key
    return Evidence(on, rule, record_kind, record_id, is_inferred)


def earliest(evidence: Iterable[Evidence]) -> Evidence | None:
    """The earliest evidence; on the same day an observed date wins over an inferred one."""
    return min(evidence, key=key_of, default=None)


def held_since(
    history: Iterable[tuple[datetime, str | None]], holds: Callable[[str | None], bool]
) -> datetime | None:
    """Since when a property has held a value ``holds`` accepts, without a break.

    ``history`` is the property's (moment, value) changes in any order. A flag cleared and
    set again dates from the last setting; None when the latest value does not hold (the
    history disagrees with the value read) or there is no history.
    """
    since: datetime | None = None
    for at, value in sorted(history, key=lambda change: change[0]):
        if not holds(value):
            since = None
        elif since is None:
            since = at
    return since


StageEntry = tuple[date, Milestone, str]  # (day entered, milestone it proves, stage id)
_DEAL_LEVELS = (Milestone.PROSPECT, Milestone.OPPORTUNITY, Milestone.CLIENT)


def dated_deal_evidence(
    deal: Deal, proves: Milestone, entries: list[StageEntry]
) -> list[tuple[Milestone, EvidenceKey]]:
    """Each milestone ``deal`` proves (up to ``proves``), dated, as evidence keys.

    ``entries`` are the deal's ``stage_entries``. Each milestone: the first entry into a
    stage proving that much or more (observed); besides, the deal's creation proves a
    prospect (inferred: a conversation opened it, logged or not); without stage history the
    opportunity and the client fall back: else (client) the close date, else (opportunity)
    the current stage's entry when that stage is an opportunity one, else the creation date,
    inferred.
    """
    created = deal.created_at.date() if deal.created_at else None
    found: list[tuple[Milestone, EvidenceKey]] = []
    if created is not None:
        found.append((Milestone.PROSPECT, (created, True, "deal_created", "deal", deal.id)))
    for level in _DEAL_LEVELS:
        if proves < level:
            break
        dated = _dated_level(deal, level, proves, entries, created)
        if dated is not None:
            on, rule, is_inferred = dated
            found.append((level, (on, is_inferred, rule, "deal", deal.id)))
    return found


def stage_entries(deal: Deal, milestone_of: StageMilestone) -> list[StageEntry]:
    """The stages the deal entered that prove a milestone, earliest first."""
    if not deal.stage_entered:
        return []
    entries = []
    for stage_id, at in deal.stage_entered.items():
        level = milestone_of(stage_id)
        if level is not None:
            entries.append((at.date(), level, stage_id))
    entries.sort()
    return entries


def _dated_level(
    deal: Deal,
    level: Milestone,
    proves: Milestone,
    entries: list[StageEntry],
    created: date | None,
) -> tuple[date, str, bool] | None:
    for on, reached, stage_id in entries:
        # A prospect is observed in a prospect stage only: a later stage proves it by then.
        if reached >= level and (level is not Milestone.PROSPECT or reached is level):
            return on, _rule(level, stage_id), False
    if level is Milestone.PROSPECT:
        return None  # the creation date, inferred, stands in
    rule = _rule(level, deal.stage_id)
    if level is Milestone.CLIENT:
        if deal.close_date is not None:
            return deal.close_date, rule, False
        if deal.stage_changed_at is not None:
            return deal.stage_changed_at.date(), rule, False
        return (created, rule, True) if created else None
    if proves is Milestone.OPPORTUNITY and deal.stage_changed_at is not None:
        return deal.stage_changed_at.date(), rule, False
    if created is not None:
        return created, rule, True
    return (deal.close_date, rule, True) if deal.close_date else None


def _rule(level: Milestone, stage_id: str | None) -> str:
    return "deal_won" if level is Milestone.CLIENT else f"deal_stage:{stage_id}"
