"""The plays' settings: the ``[plays]`` table, its conditions and its safe templates.

A play is a set of conditions on one person's situation (their milestone and how long they
have held it, the last two-way and the last outbound touch, why they were disqualified,
their owner) and a task to create when all of them hold: a subject and a body written from
templates. Four plays are built in, each off until enabled under ``[plays.<name>]``; an admin
adds others under ``[plays.custom.<name>]`` from the same conditions. ``mapping.plays``
applies them.

Templates name fields in braces (``{first_name}``) and nothing else: no attribute access, no
format specs, no code. Only the fields of ``TEMPLATE_FIELDS`` exist, an unknown name is a
config error, and the values (CRM text included) are inserted once, as data, never expanded
again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
