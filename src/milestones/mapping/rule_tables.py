"""The rules in the form derive() reads them for every person: worked out once per rules.

Apart from the rules' settings models (``rules.py``, pydantic) so that derivation, and the
state code that decodes derived results, import no validator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from milestones.mapping.records import Milestone

if TYPE_CHECKING:  # read here, built by the config
    from milestones.mapping.rules import MappingRules


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
