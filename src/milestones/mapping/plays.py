"""Plays: a milestone situation turned into the owner's next task, decided from records alone.

A play is a set of conditions on one person's situation (their milestone and how long they
have held it, the last two-way and the last outbound touch, why they were disqualified,
their owner) and a task to create when all of them hold: a subject and a body written from
templates. Four plays are built in, each off until enabled under ``[plays.<name>]``; an admin
adds others under ``[plays.custom.<name>]`` from the same conditions.

Templates name fields in braces (``{first_name}``) and nothing else: no attribute access, no
format specs, no code. Only the fields of ``TEMPLATE_FIELDS`` exist, an unknown name is a
config error, and the values (CRM text included) are inserted once, as data, never expanded
again. Pure: ``now`` is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from milestones.mapping.derive import Derived, derive, is_two_way
from milestones.mapping.records import Activity, Bundle, Milestone, Stage
from milestones.mapping.rules import MappingRules

MilestoneLabel = Literal["target", "prospect", "opportunity", "client", "advocate"]
Priority = Literal["low", "normal", "high"]
OnClear = Literal["complete", "leave"]
Days = Annotated[int, Field(ge=0, le=3_650)]

TEMPLATE_FIELDS: Mapping[str, str] = {
    "name": "the person's first and last name (or email, or id)",
    "first_name": "the person's first name (empty when unknown)",
    "last_name": "the person's last name (empty when unknown)",
    "email": "the person's email address (empty when unknown)",
    "milestone": "the milestone the person holds (target, prospect...)",
    "milestone_date": "the day it was reached (YYYY-MM-DD; empty for a target)",
    "days_at_milestone": "days since it was reached (empty for a target)",
    "last_two_way": "the day of the last two-way touch (empty when none)",
    "last_outbound": "the day of the last outbound touch (empty when none)",
    "disqualified_reason": "why the person is disqualified (empty when not)",
    "lapses_on": "the day an advocate's evidence stops counting (empty when it does not)",
    "play": "the play's name",
}
SUBJECT_MAX = 255  # Salesforce Task.Subject is a 255-character string
BODY_MAX = 32_000  # Task.Description holds 32,000 characters; HubSpot's body more

_SUBJECT = "Task subject template: {field} names a field (docs/plays.md lists them)."
_BODY = "Task body template, the same fields."
_TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def check_template(text: str) -> str:
    """Refuse a template naming anything but ``TEMPLATE_FIELDS`` or holding a stray brace."""
    for match in _TEMPLATE_TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise ValueError("a lone brace: write {{ or }} for a literal one")
        if name not in TEMPLATE_FIELDS:
            known = ", ".join(TEMPLATE_FIELDS)
            raise ValueError(f"unknown template field {{{name[:40]}}} (known: {known})")
    return text


def render_template(text: str, values: Mapping[str, str]) -> str:
    """Fill ``{field}`` once from ``values``; what a value holds is never read as a template."""

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return values.get(match.group(1) or "", "")

    return _TEMPLATE_TOKEN.sub(fill, text)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _TaskText(_Model):
    """What every play's task says, and when it is due."""

    enabled: bool = Field(default=False, description="Create this play's tasks.")
    subject: str = Field(default="", description=_SUBJECT)
    body: str = Field(default="", description=_BODY)
    priority: Priority = Field(default="normal", description="Task priority.")
    due_in_days: Days = Field(default=3, description="The task is due this many days after.")

    @field_validator("subject", "body")
    @classmethod
    def _template(cls, text: str) -> str:
        return check_template(text)


class PlayConditions(_Model):
    """When a play applies; every condition set must hold (an unset one is not checked)."""

    milestone: MilestoneLabel | None = Field(
        default=None, description="The milestone the person holds now."
    )
    min_days_since_milestone: Days | None = Field(
        default=None, description="At least this many days since that milestone was reached."
    )
    min_days_since_two_way: Days | None = Field(
        default=None, description="No two-way touch (a reply, a held meeting) for this many days."
    )
    min_days_since_outbound: Days | None = Field(
        default=None,
        description="No outbound touch (an email sent, a call made, a meeting) for this many days.",
    )
    disqualified_reasons: list[str] = Field(
        default=[],
        description="Only people disqualified with one of these reasons (a lead status such as "
        "UNQUALIFIED, or 'opted out of email'; compared without case); empty: only people who "
        "are not disqualified.",
    )
    min_days_since_disqualified: Days | None = Field(
        default=None, description="At least this many days since the person was disqualified."
    )
    max_days_to_advocacy_lapse: Days | None = Field(
        default=None,
        description="An advocate whose evidence stops counting within this many days.",
    )
    has_advocacy: bool | None = Field(
        default=None, description="true: only people with advocacy evidence; false: only without."
    )
    owner_ids: list[str] = Field(
        default=[], description="Only people owned by these CRM owner ids; empty: any owner."
    )


class CustomPlay(_TaskText, PlayConditions):
    """``[plays.custom.<name>]``: a play of the admin's own, from the conditions above."""

    enabled: bool = Field(default=True, description="Create this play's tasks.")

    @model_validator(mode="after")
    def _has_subject(self) -> CustomPlay:
        if not self.subject.strip():
            raise ValueError("a custom play needs a subject")
        return self


class ReachTarget(_TaskText):
    """``[plays.reach_target]``: a target with an owner and no outbound touch for ``days``."""

    days: Days = Field(default=14, description="Days without an outbound touch.")
    subject: str = Field(default="Reach out to {name}", description=_SUBJECT)
    body: str = Field(
        default=(
            "{name} is a target nobody has contacted since {last_outbound}. "
            "Open a conversation: an email, a call, a meeting."
        ),
        description=_BODY,
    )

    def conditions(self) -> PlayConditions:
        """The conditions this built-in play checks."""
        return PlayConditions(milestone="target", min_days_since_outbound=self.days)


class AskForAdvocacy(_TaskText):
    """``[plays.ask_for_advocacy]``: a client for ``days`` with no advocacy evidence."""

    days: Days = Field(default=60, description="Days as a client.")
    subject: str = Field(
        default="Ask {name} for a referral, a review or the NPS survey", description=_SUBJECT
    )
    body: str = Field(
        default=(
            "{name} has been a client since {milestone_date} ({days_at_milestone} days) and has "
            "not endorsed us yet. Ask for a referral, a review or an answer to the NPS survey."
        ),
        description=_BODY,
    )

    def conditions(self) -> PlayConditions:
        """The conditions this built-in play checks."""
        return PlayConditions(milestone="client", min_days_since_milestone=self.days)


class KeepAdvocate(_TaskText):
    """``[plays.keep_advocate]``: an advocate whose evidence lapses within ``days``."""

    days: Days = Field(default=30, description="Days before the advocacy evidence lapses.")
    subject: str = Field(default="Keep {name} an advocate", description=_SUBJECT)
    body: str = Field(
        default=(
            "{name}'s advocacy stops counting on {lapses_on}. Thank them, and ask for a new "
            "referral, a review or the NPS survey."
        ),
        description=_BODY,
    )

    def conditions(self) -> PlayConditions:
        """The conditions this built-in play checks."""
        return PlayConditions(milestone="advocate", max_days_to_advocacy_lapse=self.days)


class RevisitDisqualified(_TaskText):
    """``[plays.revisit_disqualified]``: disqualified with one of ``reasons``, ``days`` ago."""

    days: Days = Field(default=180, description="Days since the person was disqualified.")
    reasons: list[str] = Field(
        default=["UNQUALIFIED", "Closed - Not Converted"],
        description="Disqualification reasons worth a second look (lead statuses, compared "
        "without case); people who opted out are never revisited unless named here.",
    )
    subject: str = Field(default="Revisit {name}", description=_SUBJECT)
    body: str = Field(
        default="{name} was disqualified ({disqualified_reason}). Has anything changed?",
        description=_BODY,
    )

    def conditions(self) -> PlayConditions:
        """The conditions this built-in play checks."""
        return PlayConditions(
            disqualified_reasons=self.reasons, min_days_since_disqualified=self.days
        )


class PlaysRules(_Model):
    """``[plays]``: which plays create tasks, and how politely."""

    reach_target: ReachTarget = ReachTarget()
    ask_for_advocacy: AskForAdvocacy = AskForAdvocacy()
    keep_advocate: KeepAdvocate = KeepAdvocate()
    revisit_disqualified: RevisitDisqualified = RevisitDisqualified()
    custom: dict[str, CustomPlay] = Field(
        default={}, description="Plays of your own: name -> conditions and templates."
    )
    max_per_owner_per_day: Annotated[int, Field(ge=1, le=1_000)] = Field(
        default=10, description="At most this many new tasks per owner per day."
    )
    on_clear: OnClear = Field(
        default="complete",
        description="When a play's situation clears (the target replied), complete its open "
        "task or leave it to its owner.",
    )
    reopen_after_days: Days = Field(
        default=30,
        description="A play whose task was closed (by its owner, or as its situation cleared) "
        "is not opened again for the same person for this many days.",
    )
    subject_prefix: str = Field(
        default="[milestones] ",
        description="Marks the tasks the worker creates (they never count as evidence).",
    )

    @field_validator("custom")
    @classmethod
    def _custom_names(cls, custom: dict[str, CustomPlay]) -> dict[str, CustomPlay]:
        for name in custom:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
                raise ValueError(f"{name[:40]!r}: a play name is a-z, 0-9 and _ (up to 40)")
            if name in BUILT_IN_PLAYS:
                raise ValueError(f"{name!r} is a built-in play: set it under [plays.{name}]")
        return custom

    def enabled(self) -> list[Play]:
        """The enabled plays, built-ins first, in a stable order."""
        plays: list[Play] = []
        for name in BUILT_IN_PLAYS:
            built_in: ReachTarget | AskForAdvocacy | KeepAdvocate | RevisitDisqualified
            built_in = getattr(self, name)
            if built_in.enabled:
                plays.append(Play(name, built_in.conditions(), built_in))
        for name in sorted(self.custom):
            custom = self.custom[name]
            if custom.enabled:
                conditions = PlayConditions.model_validate(
                    custom.model_dump(include=set(PlayConditions.model_fields))
                )
                plays.append(Play(name, conditions, custom))
        return plays


OPTED_OUT = "opted out of email"  # derive()'s reason for a target who opted out
BUILT_IN_PLAYS = ("reach_target", "ask_for_advocacy", "keep_advocate", "revisit_disqualified")


@dataclass(frozen=True, slots=True)
class Play:
    """One enabled play: its name, its conditions and its task's text."""

    name: str
    conditions: PlayConditions
    text: _TaskText


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
