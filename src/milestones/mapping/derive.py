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

from milestones.mapping.dating import Evidence, dated_deal_evidence, earliest, proven_by_history
from milestones.mapping.records import Activity, Bundle, Deal, Milestone, Stage

if TYPE_CHECKING:  # the rules are read, never built, here: pydantic stays out of the import
    from milestones.mapping.rules import MappingRules

__all__ = ["Derived", "Evidence", "deal_milestone", "derive", "is_two_way", "stage_milestone"]

_TRUE_VALUES = frozenset({"true", "1", "yes", "y", "on"})
# Evidence without a date of its own holds for as long as the CRM still shows it.
_STANDING_RULES = frozenset({"promoter_score_undated"})


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
        next_milestone = self.next_milestone
        reached_on = self.reached_on
        advocate_since = self.advocate_since
        return {
            "milestone": self.milestone.label,
            "milestone_date": reached_on.isoformat() if reached_on else None,
            "next_milestone": next_milestone.label if next_milestone else None,
            "disqualified": _bool_text(self.is_disqualified),
            "disqualified_reason": self.disqualified_reason,
            "is_advocate": _bool_text(self.is_advocate),
            "advocate_since": advocate_since.isoformat() if advocate_since else None,
        }


def derive(
    bundle: Bundle,
    stages: Mapping[str, Stage],
    rules: MappingRules,
    now: datetime,
    prior: Derived | None = None,
) -> Derived:
    """Derive one person's milestone, its dates and evidence, disqualification and advocacy."""
    contact = bundle.contact
    today = now.date()
    warnings: list[str] = []
    candidates: list[tuple[Milestone, Evidence]] = []
    if not contact.is_opted_out:
        candidates.extend(_two_way_evidence(bundle.activities, rules, now, today))
    candidates.extend(_deal_evidence(bundle.deals, stages, rules, today))
    reached = _reached_by_level(candidates)
    if prior is not None:
        reached = _merge_high_water(prior.reached, reached)
    advocacy = list(_advocacy_evidence(bundle, rules, reached, today, warnings))
    reached = _add_advocacy(reached, advocacy, rules)
    if prior is not None:  # keeps an advocate whose evidence has since gone
        reached = _merge_high_water(prior.reached, reached)
    milestone = max(reached, default=Milestone.TARGET)
    is_disqualified, reason = _disqualification(bundle, rules, milestone)
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
        reached=reached,
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
    reached = _reached_by_level({**prior.reached, **fresh.reached}.items())
    return replace(prior, reached=reached)


def deal_milestone(
    deal: Deal, stages: Mapping[str, Stage], rules: MappingRules
) -> Milestone | None:
    """The milestone a deal's stage proves for its people; None when it proves nothing.

    A configured stage wins; otherwise the stage's own metadata decides (see ``stage_milestone``),
    and a stage missing from the catalogue falls back on the deal's closed and won flags.
    """
    if deal.stage_id is not None:
        configured = rules.stage_milestone(deal.stage_id)
        if configured is not None:
            return None if configured is Milestone.TARGET else configured
        stage = stages.get(deal.stage_id)
        if stage is not None:
            return stage_milestone(stage, rules)[0]
    if deal.is_won:
        return Milestone.CLIENT
    if deal.is_closed:
        return None
    return Milestone.PROSPECT


def stage_milestone(stage: Stage, rules: MappingRules) -> tuple[Milestone | None, bool]:
    """The milestone a stage proves and whether that came from ``[mapping.stages]``."""
    configured = rules.stage_milestone(stage.id)
    if configured is not None:
        return (None if configured is Milestone.TARGET else configured), True
    if stage.is_won:
        return Milestone.CLIENT, False
    if stage.is_closed:
        return None, False
    threshold = rules.stage_fallback.opportunity_min_probability
    if stage.probability is not None and stage.probability >= threshold:
        return Milestone.OPPORTUNITY, False
    return Milestone.PROSPECT, False


def is_two_way(activity: Activity, rules: MappingRules, now: datetime) -> str | None:
    """The rule name under which an activity proves two-way contact, or None."""
    two_way = rules.two_way
    if activity.kind == "email":
        if activity.direction in two_way.email_directions:
            return f"{activity.direction}_email"
        return None
    if activity.kind == "call":
        connected = two_way.call_connected_dispositions
        if activity.disposition and _said(activity.disposition, connected):
            return "connected_call"
        if activity.direction == "inbound" and activity.status in two_way.call_inbound_statuses:
            return "inbound_call"
        return None
    if activity.kind == "meeting":
        if activity.status is not None:
            return "meeting_held" if activity.status in two_way.meeting_statuses else None
        if two_way.meetings_count_when_ended and activity.ends_at and activity.ends_at <= now:
            return "meeting_ended"
    return None


def _said(value: str, values: Iterable[str]) -> bool:
    """Whether ``value`` is one of ``values``, ignoring case and surrounding blanks.

    Salesforce's ``CallDisposition`` is free text a rep or a dialer types ("Connected",
    "connected "), HubSpot's a GUID; the same comparison serves both.
    """
    wanted = value.strip().casefold()
    return any(wanted == v.strip().casefold() for v in values)


def _two_way_evidence(
    activities: Iterable[Activity], rules: MappingRules, now: datetime, today: date
) -> Iterator[tuple[Milestone, Evidence]]:
    for activity in activities:
        if activity.is_deleted or activity.occurred_at is None or activity.occurred_at > now:
            continue
        rule = is_two_way(activity, rules, now)
        if rule is not None:
            on = _clamp(activity.occurred_at.date(), today)
            yield Milestone.PROSPECT, Evidence(on, rule, "activity", activity.id)


def _deal_evidence(
    deals: Iterable[Deal], stages: Mapping[str, Stage], rules: MappingRules, today: date
) -> Iterator[tuple[Milestone, Evidence]]:
    def milestone_of(stage_id: str) -> Milestone | None:
        return _stage_id_milestone(stage_id, stages, rules)

    for deal in deals:
        if deal.is_deleted:
            continue
        current = deal_milestone(deal, stages, rules)
        proves = max(
            (m for m in (current, proven_by_history(deal, milestone_of)) if m), default=None
        )
        if proves is None:
            continue
        for milestone, evidence in dated_deal_evidence(deal, proves, milestone_of):
            yield milestone, _clamped(evidence, today)


def _stage_id_milestone(
    stage_id: str, stages: Mapping[str, Stage], rules: MappingRules
) -> Milestone | None:
    """The milestone a stage proves, by id; None for an unknown or a lost stage."""
    configured = rules.stage_milestone(stage_id)
    if configured is not None:
        return None if configured is Milestone.TARGET else configured
    stage = stages.get(stage_id)
    return stage_milestone(stage, rules)[0] if stage is not None else None


def _advocacy_evidence(
    bundle: Bundle,
    rules: MappingRules,
    reached: Mapping[Milestone, Evidence],
    today: date,
    warnings: list[str],
) -> Iterator[Evidence]:
    advocate = rules.advocate
    client = reached.get(Milestone.CLIENT)
    undated_on = client.on if client else today
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
    reached: dict[Milestone, Evidence], advocacy: list[Evidence], rules: MappingRules
) -> dict[Milestone, Evidence]:
    if not advocacy:
        return reached
    client = reached.get(Milestone.CLIENT)
    if rules.advocate.requires_client:
        if client is None:
            return reached
        first = earliest(advocacy) or advocacy[0]
        if first.on < client.on:  # endorsed before buying: an advocate from the day they bought
            first = first.redated(client.on, True)
        return {**reached, Milestone.ADVOCATE: first}
    candidates = list(reached.items())
    candidates.extend((Milestone.ADVOCATE, e) for e in advocacy)
    return _reached_by_level(candidates)


def _reached_by_level(
    candidates: Iterable[tuple[Milestone, Evidence]],
) -> dict[Milestone, Evidence]:
    """For each milestone up to the highest proven, the earliest evidence at or above it;
    a date borrowed from a higher milestone's evidence is inferred."""
    best: dict[Milestone, Evidence] = {}
    for milestone, evidence in candidates:
        current = best.get(milestone)
        if current is None or earliest((evidence, current)) is evidence:
            best[milestone] = evidence
    if not best:
        return {}
    reached: dict[Milestone, Evidence] = {}
    first: Evidence | None = None
    for level in sorted(Milestone, reverse=True):
        if level is Milestone.TARGET:
            break
        own = best.get(level)
        if own is not None and (first is None or earliest((own, first)) is own):
            first = own
            reached[level] = own
        elif first is not None:  # proven by a later milestone's evidence: by then, at the latest
            reached[level] = first if first.is_inferred else first.redated(first.on, True)
    return reached


def _merge_high_water(
    prior: Mapping[Milestone, Evidence], current: Mapping[Milestone, Evidence]
) -> dict[Milestone, Evidence]:
    merged: dict[Milestone, Evidence] = dict(current)
    for level, evidence in prior.items():
        now_evidence = merged.get(level)
        if now_evidence is None or _keeps(evidence, now_evidence):
            merged[level] = evidence
    return _reached_by_level(merged.items())


def _keeps(prior: Evidence, current: Evidence) -> bool:
    """Whether a prior date stands against a current one: earlier, or as early and as sure."""
    if prior.on != current.on:
        return prior.on < current.on
    return not prior.is_inferred or current.is_inferred


def _disqualification(
    bundle: Bundle, rules: MappingRules, milestone: Milestone
) -> tuple[bool, str | None]:
    contact = bundle.contact
    status = (contact.lead_status or "").strip()
    wanted = {s.strip().lower() for s in rules.disqualify.lead_statuses}
    if status and status.lower() in wanted:
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


def _clamped(evidence: Evidence, today: date) -> Evidence:
    return evidence if evidence.on <= today else evidence.redated(today, evidence.is_inferred)


def _clamp(on: date, today: date) -> date:
    """Evidence dated in the future (a close date set ahead) counts as reached today."""
    return min(on, today)


def _bool_text(value: bool) -> str:
    return "true" if value else "false"
