"""Plays applied: one person's situation, the plays that apply to it, the tasks they draft.

Pure: records, the derived result and the rules in, ``TaskDraft``s out; ``now`` is passed
in. The settings and templates are in ``mapping.play_rules``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from milestones.mapping.derive import Derived, derive, is_two_way
from milestones.mapping.play_rules import (
    BODY_MAX,
    OPTED_OUT,
    SUBJECT_MAX,
    Play,
    PlayConditions,
    Priority,
    render_template,
)
from milestones.mapping.records import Activity, Bundle, Milestone, Stage
from milestones.mapping.rules import MappingRules


@dataclass(frozen=True, slots=True)
class Situation:
    """What the plays' conditions read about one person, on one day."""

    contact_id: str
    owner_id: str | None
    milestone: Milestone
    milestone_on: date | None
    last_two_way_on: date | None
    last_outbound_on: date | None
    is_disqualified: bool
    disqualified_reason: str | None
    disqualified_on: date | None
    has_advocacy: bool
    advocacy_lapses_on: date | None
    is_opted_out: bool
    template_values: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class TaskDraft:
    """A task a play asks for: who it is about, whose it is, what it says, when it is due."""

    play: str
    contact_id: str
    owner_id: str | None
    subject: str
    body: str
    due_on: date
    priority: Priority
    milestone: str = "target"  # the person's milestone when the task was drafted


def situation_of(
    bundle: Bundle,
    derived: Derived,
    stages: Mapping[str, Stage],
    rules: MappingRules,
    now: datetime,
    *,
    disqualified_on: date | None = None,
    lapse_horizon_days: int = 0,
) -> Situation:
    """One person's situation; ``disqualified_on`` is when they were first seen disqualified.

    An advocate's lapse day is looked for ``lapse_horizon_days`` ahead (the largest window an
    enabled play asks about): derive() is asked again with ``now`` moved forward.
    """
    contact = bundle.contact
    today = now.date()
    live = [a for a in bundle.activities if _happened(a, now)]
    two_way = _last_day(a for a in live if is_two_way(a, rules, now) is not None)
    outbound = _last_day(a for a in live if _is_outbound(a))
    lapses_on = _lapse_day(bundle, derived, stages, rules, now, lapse_horizon_days)
    has_advocacy = derived.is_advocate
    reached_on = derived.reached_on
    values = {
        "name": contact.name,
        "first_name": contact.first_name or "",
        "last_name": contact.last_name or "",
        "email": contact.email or "",
        "milestone": derived.milestone.label,
        "milestone_date": reached_on.isoformat() if reached_on else "",
        "days_at_milestone": str((today - reached_on).days) if reached_on else "",
        "last_two_way": two_way.isoformat() if two_way else "",
        "last_outbound": outbound.isoformat() if outbound else "never",
        "disqualified_reason": derived.disqualified_reason or "",
        "lapses_on": lapses_on.isoformat() if lapses_on else "",
    }
    return Situation(
        contact_id=contact.id,
        owner_id=contact.owner_id,
        milestone=derived.milestone,
        milestone_on=reached_on,
        last_two_way_on=two_way,
        last_outbound_on=outbound,
        is_disqualified=derived.is_disqualified,
        disqualified_reason=derived.disqualified_reason,
        disqualified_on=disqualified_on,
        has_advocacy=has_advocacy,
        advocacy_lapses_on=lapses_on,
        is_opted_out=contact.is_opted_out,
        template_values=values,
    )


def applies(conditions: PlayConditions, situation: Situation, today: date) -> bool:
    """Whether every condition set holds for ``situation`` on ``today``."""
    s, c = situation, conditions
    if c.milestone is not None and s.milestone is not Milestone.parse(c.milestone):
        return False
    if c.owner_ids and s.owner_id not in c.owner_ids:
        return False
    if s.is_opted_out and OPTED_OUT not in {r.strip().casefold() for r in c.disqualified_reasons}:
        return False  # "go away": only a play that names the reason may touch them
    if not _disqualification_holds(c, s, today):
        return False
    if c.min_days_since_milestone is not None and not _at_least(
        s.milestone_on, c.min_days_since_milestone, today
    ):
        return False
    if c.min_days_since_two_way is not None and not _quiet_for(
        s.last_two_way_on, c.min_days_since_two_way, today
    ):
        return False
    if c.min_days_since_outbound is not None and not _quiet_for(
        s.last_outbound_on, c.min_days_since_outbound, today
    ):
        return False
    if c.has_advocacy is not None and s.has_advocacy is not c.has_advocacy:
        return False
    if c.max_days_to_advocacy_lapse is not None:
        lapse = s.advocacy_lapses_on
        if lapse is None or (lapse - today).days > c.max_days_to_advocacy_lapse:
            return False
    return True


def draft_tasks(
    plays: Iterable[Play], situation: Situation, today: date, subject_prefix: str = ""
) -> list[TaskDraft]:
    """The tasks the plays ask for about one person (one per play that applies)."""
    drafts = []
    for play in plays:
        if not applies(play.conditions, situation, today):
            continue
        values = {**situation.template_values, "play": play.name}
        subject = subject_prefix + render_template(play.text.subject, values)
        drafts.append(
            TaskDraft(
                play=play.name,
                contact_id=situation.contact_id,
                owner_id=situation.owner_id,
                subject=_one_line(subject)[:SUBJECT_MAX],
                body=render_template(play.text.body, values)[:BODY_MAX],
                due_on=today + timedelta(days=play.text.due_in_days),
                priority=play.text.priority,
                milestone=situation.milestone.label,
            )
        )
    return drafts


def lapse_horizon(plays: Iterable[Play]) -> int:
    """How far ahead an advocate's lapse must be looked for (0: no play asks)."""
    windows = [p.conditions.max_days_to_advocacy_lapse for p in plays]
    return max((w for w in windows if w is not None), default=0)


def _disqualification_holds(c: PlayConditions, s: Situation, today: date) -> bool:
    if not c.disqualified_reasons:
        return not s.is_disqualified
    if not s.is_disqualified or not s.disqualified_reason:
        return False
    reason = s.disqualified_reason.casefold()
    if not any(_reason_matches(r.strip().casefold(), reason) for r in c.disqualified_reasons):
        return False
    if c.min_days_since_disqualified is None:
        return True
    return _at_least(s.disqualified_on, c.min_days_since_disqualified, today)


def _reason_matches(wanted: str, reason: str) -> bool:
    """``UNQUALIFIED`` matches the reason ``lead status UNQUALIFIED``; whole words only."""
    return bool(wanted) and (reason == wanted or reason.endswith(" " + wanted))


def _at_least(since: date | None, days: int, today: date) -> bool:
    return since is not None and (today - since).days >= days


def _quiet_for(last: date | None, days: int, today: date) -> bool:
    return last is None or (today - last).days >= days


def _is_outbound(activity: Activity) -> bool:
    """A touch the seller made: an email or call out, or any meeting. Tasks never count."""
    if activity.kind == "meeting":
        return True
    return activity.kind in ("email", "call") and activity.direction == "outbound"


def _happened(activity: Activity, now: datetime) -> bool:
    occurred = activity.occurred_at
    return not activity.is_deleted and occurred is not None and occurred <= now


def _last_day(activities: Iterable[Activity]) -> date | None:
    days = [a.occurred_at.date() for a in activities if a.occurred_at is not None]
    return max(days, default=None)


def _lapse_day(
    bundle: Bundle,
    derived: Derived,
    stages: Mapping[str, Stage],
    rules: MappingRules,
    now: datetime,
    horizon: int,
) -> date | None:
    """The first day ``is_advocate`` turns false within ``horizon`` days, found by halving."""
    if horizon <= 0 or not derived.is_advocate or rules.advocate.lapse_days is None:
        return None

    def holds(days_ahead: int) -> bool:
        later = now + timedelta(days=days_ahead)
        return derive(bundle, stages, rules, later, derived).is_advocate

    if holds(horizon):
        return None
    low, high = 0, horizon
    while low < high:
        middle = (low + high) // 2
        if holds(middle):
            low = middle + 1
        else:
            high = middle
    return now.date() + timedelta(days=low)


def _one_line(text: str) -> str:
    return " ".join(text.split())
