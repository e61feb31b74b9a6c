"""The rules derive() applies: what counts as evidence for each milestone.

They are the ``[mapping]`` table of the config. Defaults here are provider-neutral; the
config loader fills the vendor values (lead statuses, call dispositions, the NPS property)
for the chosen provider before validation, so nothing vendor-specific lives in this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from milestones.mapping.records import Milestone

StageTarget = Literal["target", "prospect", "opportunity", "client"]


_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def check_field_name(name: str) -> str:
    """A CRM property or field API name: letters, digits and underscores, nothing else.

    These names go into SOQL select lists and HubSpot property lists, where quoting cannot
    protect them: anything else is refused rather than sent.
    """
    if not _FIELD_NAME.match(name):
        shown = name if len(name) <= 80 else f"{name[:60]}... ({len(name)} characters)"
        raise ValueError(f"{shown!r} is not a field name (letters, digits and _ only)")
    return name


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class TwoWayRules(_Rules):
    """Which activities show that two-way communication is open (target -> prospect)."""

    email_directions: list[Literal["inbound", "outbound"]] = Field(
        default=["inbound"],
        description="Email directions that count: a reply the person sent is 'inbound'.",
    )
    call_inbound_statuses: list[str] = Field(
        default=["completed"],
        description="Statuses (lower case) of an inbound call that count as a conversation.",
    )
    call_connected_dispositions: list[str] = Field(
        default=[],
        description="Call dispositions (raw CRM values, compared ignoring case and "
        "surrounding blanks) that mean someone answered, whatever the call's direction.",
    )
    meeting_statuses: list[str] = Field(
        default=["completed"],
        description="Meeting outcomes (lower case) that count as a conversation.",
    )
    meetings_count_when_ended: bool = Field(
        default=True,
        description="A meeting whose CRM records no outcome counts once its end has passed.",
    )

    @field_validator("call_inbound_statuses", "meeting_statuses")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [v.strip().lower() for v in values]


class AdvocateRules(_Rules):
    """What makes a client an advocate, and how long advocacy lasts without new evidence."""

    referred_by_property: str = Field(
        default="referred_by",
        description="Property on a contact (and deal) naming the referrer's record id or email.",
    )
    nps_property: str | None = Field(
        default="hs_feedback_last_nps_rating",
        description="Property holding the person's last NPS answer (0-10); empty to ignore NPS.",
    )
    nps_date_property: str | None = Field(
        default=None,
        description="Property holding when that NPS answer was given: it dates a promoter's "
        "advocacy; without it the score counts from the day the person became a client "
        "(an inferred date).",
    )
    nps_min: Annotated[int, Field(ge=0, le=10)] = Field(
        default=9, description="Lowest NPS answer that counts as a promoter."
    )
    flag_properties: list[str] = Field(
        default=[],
        description="Boolean properties that mark advocacy (reference customer, case study...).",
    )
    requires_client: bool = Field(
        default=True,
        description="Only clients can become advocates; false lets any person's referral count.",
    )
    lapse_days: Annotated[int, Field(ge=1)] | None = Field(
        default=365,
        description="Days after which dated evidence (a referral, an NPS answer) no longer "
        "keeps is_advocate true; empty means it never lapses. The advocate milestone itself "
        "is never taken back.",
    )

    @field_validator("referred_by_property", "nps_property", "nps_date_property")
    @classmethod
    def _one_name(cls, value: str | None) -> str | None:
        return check_field_name(value) if value else value

    @field_validator("flag_properties")
    @classmethod
    def _names(cls, values: list[str]) -> list[str]:
        return [check_field_name(v) for v in values]


class DisqualifyRules(_Rules):
    """When a person is flagged disqualified ("you can't do business with them")."""

    lead_statuses: list[str] = Field(
        default=["UNQUALIFIED"],
        description="Lead statuses (compared without case) that disqualify.",
    )
    opt_out_disqualifies_targets: bool = Field(
        default=True,
        description="A target who opted out ('go away') is flagged disqualified.",
    )


class StageFallback(_Rules):
    """How a stage missing from ``[mapping.stages]`` is read from its own metadata."""

    opportunity_min_probability: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        default=0.5,
        description="An open stage at or above this win probability makes an opportunity; "
        "below it, a prospect. Closed-won makes a client; closed-lost advances nothing.",
    )


class MappingRules(_Rules):
    """All of ``[mapping]``."""

    stages: dict[str, StageTarget] = Field(
        default={},
        description="Stage id (HubSpot) or API name (Salesforce) -> milestone the stage proves. "
        "'target' means the stage proves nothing.",
    )
    stage_fallback: StageFallback = StageFallback()
    two_way: TwoWayRules = TwoWayRules()
    advocate: AdvocateRules = AdvocateRules()
    disqualify: DisqualifyRules = DisqualifyRules()

    @field_validator("stages")
    @classmethod
    def _stage_keys(cls, stages: dict[str, StageTarget]) -> dict[str, StageTarget]:
        for key in stages:
            if not key.strip():
                raise ValueError("a stage id may not be empty")
        return stages

    def stage_milestone(self, stage_id: str) -> Milestone | None:
        """The milestone a configured stage proves, or None when it is not configured."""
        target = self.stages.get(stage_id)
        return None if target is None else Milestone.parse(target)


@dataclass(frozen=True, slots=True)
class RuleTables:
    """The rules in the form derive() reads them for every person, worked out once per rules.

    Configured stages parsed to milestones, and each list of values as a set in the form it
    is compared in (lower case, or stripped and case-folded for call dispositions).
    """

    stage_levels: Mapping[str, Milestone | None]  # configured stage -> milestone; None: nothing
    opportunity_min_probability: float
    email_rules: Mapping[str, str]  # email direction that counts -> its rule name
    connected_dispositions: frozenset[str]
    inbound_call_statuses: frozenset[str]
    meeting_statuses: frozenset[str]
    meetings_count_when_ended: bool
    disqualifying_statuses: frozenset[str]

    @classmethod
    def of(cls, rules: MappingRules) -> RuleTables:
        """The tables for ``rules``."""
        levels = {stage_id: rules.stage_milestone(stage_id) for stage_id in rules.stages}
        two_way = rules.two_way
        return cls(
            stage_levels={k: None if v is Milestone.TARGET else v for k, v in levels.items()},
            opportunity_min_probability=rules.stage_fallback.opportunity_min_probability,
            email_rules={d: f"{d}_email" for d in two_way.email_directions},
            connected_dispositions=frozenset(
                v.strip().casefold() for v in two_way.call_connected_dispositions
            ),
            inbound_call_statuses=frozenset(two_way.call_inbound_statuses),
            meeting_statuses=frozenset(two_way.meeting_statuses),
            meetings_count_when_ended=two_way.meetings_count_when_ended,
            disqualifying_statuses=frozenset(
                s.strip().lower() for s in rules.disqualify.lead_statuses
            ),
        )


# Tables by the identity of the rules they were made from. An entry holds its rules, so the
# id cannot be reused while it is here; the rules are frozen, so an entry never goes stale.
_TABLES: dict[int, tuple[MappingRules, RuleTables]] = {}
_TABLES_KEPT = 8  # a run uses one rules object; tests and reports a few


def rule_tables(rules: MappingRules) -> RuleTables:
    """The tables of ``rules``, made on first use and kept while the rules are in use."""
    found = _TABLES.get(id(rules))
    if found is not None and found[0] is rules:
        return found[1]
    if len(_TABLES) >= _TABLES_KEPT:
        _TABLES.clear()
    tables = RuleTables.of(rules)
    _TABLES[id(rules)] = (rules, tables)
    return tables
