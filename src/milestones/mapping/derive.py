"""derive(): where one person stands on the four milestones, from their records alone.

Pure: records and rules in, a ``Derived`` out; ``now`` is passed in and nothing is read from
the clock, the network or the disk. Milestones are high-water marks: given the person's
``prior`` result, derive never returns a lower milestone or a later date for one already
reached, so a deal moving back a stage or a deleted email does not erase history.

A milestone's date is the date of the earliest evidence at or above it (reaching a client
proves the person was a prospect by then), so dates never decrease along the milestones.
Each date is observed (the evidence's own: a reply, a stage entered, a referral made) or
inferred (a deal's creation standing in for an unlogged first conversation; see ``dating``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from milestones.mapping.dating import (
    Evidence,
    EvidenceKey,
    dated_deal_evidence,
    earliest,
    evidence_of,
    key_of,
    stage_entries,
)
from milestones.mapping.records import Activity, Bundle, Deal, Milestone, Stage
from milestones.mapping.rule_tables import RuleTables, rule_tables

if TYPE_CHECKING:  # the rules are read, never built, here: pydantic stays out of the import
    from milestones.mapping.rules import MappingRules

__all__ = ["Derived", "Evidence", "deal_milestone", "derive", "is_two_way", "stage_milestone"]

_TRUE_VALUES = frozenset({"true", "1", "yes", "y", "on"})
# Evidence without a date of its own holds for as long as the CRM still shows it.
_STANDING_RULES = frozenset({"promoter_score_undated"})
# Milestones from the highest down, and the labels written for them (``Milestone.label`` and
# ``next()`` look the enum up on every call: these tables are read for every person).
_DESCENDING = (Milestone.ADVOCATE, Milestone.CLIENT, Milestone.OPPORTUNITY, Milestone.PROSPECT)
_LABELS = {m: m.label for m in Milestone}
_NEXT_LABELS = {m: (n.label if (n := m.next()) is not None else None) for m in Milestone}


@dataclass(frozen=True, slots=True)
class Derived:
    """The result for one person; ``fields()`` gives what is written to the CRM."""

    contact_id: str
    milestone: Milestone
    reached: Mapping[Milestone, Evidence] = field(default_factory=dict)
    is_disqualified: bool = False
    disqualified_reason: str | None = None
    is_advocate: bool = False
    warnings: tuple[str, ...] = ()
    # The day the person was first seen disqualified: the record's last change when it was
    # first read so (the CRM keeps no date for a lead status), kept from then on, so the
    # worker's own later writes, which move the record's modified time, do not move it.
    disqualified_on: date | None = None

    @property
    def reached_on(self) -> date | None:
        """The date the current milestone was reached (None for a target)."""
        evidence = self.reached.get(self.milestone)
        return evidence.on if evidence else None

    @property
    def evidence(self) -> Evidence | None:
        """The evidence for the current milestone."""
        return self.reached.get(self.milestone)

    @property
    def next_milestone(self) -> Milestone | None:
        """The milestone to work towards; None for an advocate."""
        return self.milestone.next()

    @property
    def advocate_since(self) -> date | None:
        """The day the person first became an advocate."""
        evidence = self.reached.get(Milestone.ADVOCATE)
        return evidence.on if evidence else None

    def fields(self) -> dict[str, str | None]:
        """The written fields under their canonical keys, as CRM-ready strings or None."""
        current = self.reached.get(self.milestone)
        advocate = self.reached.get(Milestone.ADVOCATE)
        return {
            "milestone": _LABELS[self.milestone],
            "milestone_date": current.on.isoformat() if current else None,
            "next_milestone": _NEXT_LABELS[self.milestone],
            "disqualified": "true" if self.is_disqualified else "false",
            "disqualified_reason": self.disqualified_reason,
            "is_advocate": "true" if self.is_advocate else "false",
            "advocate_since": advocate.on.isoformat() if advocate else None,
        }


def derive(
    bundle: Bundle,
    stages: Mapping[str, Stage],
    rules: MappingRules,
    now: datetime,
    prior: Derived | None = None,
) -> Derived:
    """Derive one person's milestone, its dates and evidence, disqualification and advocacy."""
    tables = rule_tables(rules)
    contact = bundle.contact
    today = now.date()
    warnings: list[str] = []
    # Candidates are compared as evidence keys; only what is kept becomes an ``Evidence``.
    best: dict[Milestone, EvidenceKey] = {}
    if bundle.activities and not contact.is_opted_out:
        first = _first_two_way(bundle.activities, tables, now, today)
        if first is not None:
            best[Milestone.PROSPECT] = first
    if bundle.deals:
        _add_deal_evidence(best, bundle.deals, stages, tables, today)
    reached = _levels(best)
    if prior is not None:
        reached = _merge_high_water(prior.reached, reached)
    advocacy = list(_advocacy_evidence(bundle, rules, reached, today, warnings))
    reached = _add_advocacy(reached, advocacy, rules)
    if prior is not None:  # keeps an advocate whose evidence has since gone
        reached = _merge_high_water(prior.reached, reached)
    milestone = max(reached, default=Milestone.TARGET)
    is_disqualified, reason = _disqualification(bundle, rules, tables, milestone)
    is_advocate = milestone is Milestone.ADVOCATE and _has_current_advocacy(advocacy, rules, today)
    disqualified_on = None
    if is_disqualified:
        if prior is not None and prior.is_disqualified and prior.disqualified_on is not None:
            disqualified_on = prior.disqualified_on
        else:
            disqualified_on = contact.modified_at.date() if contact.modified_at else today
    return Derived(
        contact_id=contact.id,
        milestone=milestone,
        reached={level: evidence_of(key) for level, key in reached.items()},
        is_disqualified=is_disqualified,
        disqualified_reason=reason,
        is_advocate=is_advocate,
        warnings=tuple(warnings),
        disqualified_on=disqualified_on,
    )


def redate(prior: Derived, fresh: Derived) -> Derived:
    """``prior`` re-dated by ``fresh`` (derived from the same records with no prior): each
    milestone takes the date the evidence gives now, and keeps its prior date only where its
    evidence has gone. No milestone is lost; pass the result to ``derive`` as the prior."""
    candidates = {**prior.reached, **fresh.reached}.items()
    reached = _reached_by_level((level, key_of(e)) for level, e in candidates)
    return replace(prior, reached={level: evidence_of(key) for level, key in reached.items()})


def deal_milestone(
    deal: Deal, stages: Mapping[str, Stage], rules: MappingRules
) -> Milestone | None:
    """The milestone a deal's stage proves for its people; None when it proves nothing.

    A configured stage wins; otherwise the stage's own metadata decides (see ``stage_milestone``),
    and a stage missing from the catalogue falls back on the deal's closed and won flags.
    """
    return _deal_level(deal, stages, rule_tables(rules))


def stage_milestone(stage: Stage, rules: MappingRules) -> tuple[Milestone | None, bool]:
    """The milestone a stage proves and whether that came from ``[mapping.stages]``."""
    tables = rule_tables(rules)
    if stage.id in tables.stage_levels:
        return tables.stage_levels[stage.id], True
    return _fallback_level(stage, tables.opportunity_min_probability), False


def is_two_way(activity: Activity, rules: MappingRules, now: datetime) -> str | None:
    """The rule name under which an activity proves two-way contact, or None."""
    return _two_way_rule(activity, rule_tables(rules), now)


def _two_way_rule(activity: Activity, tables: RuleTables, now: datetime) -> str | None:
    kind = activity.kind
    if kind == "email":
        direction = activity.direction
        return tables.email_rules.get(direction) if direction is not None else None
    if kind == "call":
        # Salesforce's ``CallDisposition`` is free text a rep or a dialer types ("Connected",
        # "connected "), HubSpot's a GUID: compared stripped and case-folded, for both.
        disposition = activity.disposition
        if disposition and disposition.strip().casefold() in tables.connected_dispositions:
            return "connected_call"
        if activity.direction == "inbound" and activity.status in tables.inbound_call_statuses:
            return "inbound_call"
        return None
    if kind == "meeting":
        if activity.status is not None:
            return "meeting_held" if activity.status in tables.meeting_statuses else None
        if tables.meetings_count_when_ended and activity.ends_at and activity.ends_at <= now:
            return "meeting_ended"
    return None


def _first_two_way(
    activities: Iterable[Activity], tables: RuleTables, now: datetime, today: date
) -> EvidenceKey | None:
    """The earliest activity that proves two-way contact, as an evidence key."""
    first: EvidenceKey | None = None
    for activity in activities:
        occurred = activity.occurred_at
        if activity.is_deleted or occurred is None or occurred > now:
            continue
        rule = _two_way_rule(activity, tables, now)
        if rule is not None:
            on = occurred.date()
            key = (on if on <= today else today, False, rule, "activity", activity.id)
            if first is None or key < first:
                first = key
    return first


def _add_deal_evidence(
    best: dict[Milestone, EvidenceKey],
    deals: Iterable[Deal],
    stages: Mapping[str, Stage],
    tables: RuleTables,
    today: date,
) -> None:
    """Keep in ``best`` the earliest evidence the deals give of each milestone."""

    def milestone_of(stage_id: str) -> Milestone | None:
        return _stage_id_level(stage_id, stages, tables)

    for deal in deals:
        if deal.is_deleted:
            continue
        entries = stage_entries(deal, milestone_of)
        proves = _deal_level(deal, stages, tables)
        for _on, level, _id in entries:  # a stage entered once proves it still
            if proves is None or level > proves:
                proves = level
        if proves is None:
            continue
        for level, key in dated_deal_evidence(deal, proves, entries):
            if key[0] > today:  # a close date set ahead counts as reached today
                key = (today, *key[1:])
            held = best.get(level)
            if held is None or key < held:
                best[level] = key


def _deal_level(deal: Deal, stages: Mapping[str, Stage], tables: RuleTables) -> Milestone | None:
    stage_id = deal.stage_id
    if stage_id is not None:
        if stage_id in tables.stage_levels:
            return tables.stage_levels[stage_id]
        stage = stages.get(stage_id)
        if stage is not None:
            return _fallback_level(stage, tables.opportunity_min_probability)
    if deal.is_won:
        return Milestone.CLIENT
    if deal.is_closed:
        return None
    return Milestone.PROSPECT


def _stage_id_level(
    stage_id: str, stages: Mapping[str, Stage], tables: RuleTables
) -> Milestone | None:
    """The milestone a stage proves, by id; None for an unknown or a lost stage."""
    if stage_id in tables.stage_levels:
        return tables.stage_levels[stage_id]
    stage = stages.get(stage_id)
    return _fallback_level(stage, tables.opportunity_min_probability) if stage else None


def _fallback_level(stage: Stage, opportunity_min_probability: float) -> Milestone | None:
    """An unconfigured stage read from its own metadata."""
    if stage.is_won:
        return Milestone.CLIENT
    if stage.is_closed:
        return None
    if stage.probability is not None and stage.probability >= opportunity_min_probability:
        return Milestone.OPPORTUNITY
    return Milestone.PROSPECT


def _advocacy_evidence(
    bundle: Bundle,
    rules: MappingRules,
    reached: Mapping[Milestone, EvidenceKey],
    today: date,
    warnings: list[str],
) -> Iterator[Evidence]:
    advocate = rules.advocate
    client = reached.get(Milestone.CLIENT)
    undated_on = client[0] if client else today
    for referral in bundle.referrals:
        on = referral.at.date() if referral.at else undated_on
        kind, rid = referral.record_kind, referral.record_id
        yield Evidence(_clamp(on, today), "referral", kind, rid, referral.at is None)
    props = bundle.contact.properties
    contact_id = bundle.contact.id
    if advocate.nps_property:
        score = _parse_score(props.get(advocate.nps_property), advocate.nps_property, warnings)
        if score is not None and score >= advocate.nps_min:
            answered = _parse_date(props.get(advocate.nps_date_property or ""), today)
            rule = "promoter_score" if answered else "promoter_score_undated"
            on = _clamp(answered or undated_on, today)
            yield Evidence(on, rule, "contact", contact_id, answered is None)
    set_at = bundle.contact.property_set_at
    for flag in advocate.flag_properties:
        if is_flag_set(props.get(flag)):
            flagged = set_at.get(flag)  # the flag's own history, where the CRM keeps it
            on = flagged.date() if flagged else undated_on
            yield Evidence(_clamp(on, today), f"flag:{flag}", "contact", contact_id, not flagged)


def is_flag_set(value: str | None) -> bool:
    """Whether an advocacy flag's value says yes (``true``, ``1``, ``yes``...)."""
    return (value or "").strip().lower() in _TRUE_VALUES


def _add_advocacy(
    reached: dict[Milestone, EvidenceKey], advocacy: list[Evidence], rules: MappingRules
) -> dict[Milestone, EvidenceKey]:
    if not advocacy:
        return reached
    client = reached.get(Milestone.CLIENT)
    if rules.advocate.requires_client:
        if client is None:
            return reached
        first = earliest(advocacy) or advocacy[0]
        if first.on < client[0]:  # endorsed before buying: an advocate from the day they bought
            first = first.redated(client[0], True)
        return {**reached, Milestone.ADVOCATE: key_of(first)}
    candidates = list(reached.items())
    candidates.extend((Milestone.ADVOCATE, key_of(e)) for e in advocacy)
    return _reached_by_level(candidates)


def _reached_by_level(
    candidates: Iterable[tuple[Milestone, EvidenceKey]],
) -> dict[Milestone, EvidenceKey]:
    """For each milestone up to the highest proven, the earliest evidence at or above it."""
    best: dict[Milestone, EvidenceKey] = {}
    for milestone, key in candidates:
        held = best.get(milestone)
        if held is None or key <= held:
            best[milestone] = key
    return _levels(best)


def _levels(best: Mapping[Milestone, EvidenceKey]) -> dict[Milestone, EvidenceKey]:
    """Each milestone's own earliest evidence in ``best``, or a higher milestone's when that
    is earlier; a date borrowed from a higher milestone's evidence is inferred."""
    reached: dict[Milestone, EvidenceKey] = {}
    first: EvidenceKey | None = None
    for level in _DESCENDING:
        own = best.get(level)
        if own is not None and (first is None or own <= first):
            first = own
            reached[level] = own
        elif first is not None:  # proven by a later milestone's evidence: by then, at the latest
            reached[level] = first if first[1] else (first[0], True, *first[2:])
    return reached


def _merge_high_water(
    prior: Mapping[Milestone, Evidence], current: Mapping[Milestone, EvidenceKey]
) -> dict[Milestone, EvidenceKey]:
    merged: dict[Milestone, EvidenceKey] = dict(current)
    for level, evidence in prior.items():
        now_key = merged.get(level)
        # A prior date stands against a current one when earlier, or as early and as sure.
        if now_key is None or (
            evidence.on < now_key[0]
            if evidence.on != now_key[0]
            else not evidence.is_inferred or now_key[1]
        ):
            merged[level] = key_of(evidence)
    return _levels(merged)


def _disqualification(
    bundle: Bundle, rules: MappingRules, tables: RuleTables, milestone: Milestone
) -> tuple[bool, str | None]:
    contact = bundle.contact
    status = (contact.lead_status or "").strip()
    if status and status.lower() in tables.disqualifying_statuses:
        return True, f"lead status {status}"
    if (
        contact.is_opted_out
        and milestone is Milestone.TARGET
        and rules.disqualify.opt_out_disqualifies_targets
    ):
        return True, "opted out of email"
    return False, None


def _has_current_advocacy(advocacy: list[Evidence], rules: MappingRules, today: date) -> bool:
    """Whether any evidence still holds: a flag or an undated score holds while it is set."""
    lapse = rules.advocate.lapse_days
    if lapse is None:
        return bool(advocacy)
    horizon = today - timedelta(days=lapse)
    return any(
        e.rule in _STANDING_RULES or e.rule.startswith("flag:") or e.on >= horizon for e in advocacy
    )


def _parse_score(raw: str | None, name: str, warnings: list[str]) -> float | None:
    if raw is None or not raw.strip():
        return None
    try:
        score = float(raw)
    except ValueError:
        # Warnings are logged: the text itself (maybe a name, maybe an address) is not quoted.
        warnings.append(f"{name} ({len(raw)} characters) is not a number; NPS ignored")
        return None
    if not 0 <= score <= 10:
        warnings.append(f"{name}={raw[:40]!r} is outside 0-10; NPS ignored")
        return None
    return score


def _parse_date(raw: str | None, today: date) -> date | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        if text.isdigit():  # HubSpot may hold dates as epoch milliseconds
            return _clamp(datetime.fromtimestamp(int(text) / 1000, tz=UTC).date(), today)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except (ValueError, OverflowError, OSError):  # garbage, or a year out of range
        return None


def _clamp(on: date, today: date) -> date:
    """Evidence dated in the future (a close date set ahead) counts as reached today."""
    return min(on, today)
