"""``fleet report``: the milestone funnel of every org of a fleet, and across them.

Each org's figures are its own ``milestones report`` (``build.build_report`` with the org's
mapping rules and ``[report]`` settings), so an org's line here matches what its report says;
the fleet line adds the orgs' counters up and recomputes the rates (``tally.combine_funnels``).
An org whose config or state cannot be read is listed with its problem and counts nowhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from milestones.config.fleet import FleetMember
from milestones.report.build import build_report
from milestones.report.fleet_status import open_org_state
from milestones.report.model import FunnelStep
from milestones.report.tally import combine_funnels
from milestones.store.health import StateError, is_state_failure


@dataclass(slots=True)
class OrgFunnel:
    """One org's funnel and the figures around it (from its own report)."""

    org: str
    provider: str
    people: int
    gone_people: int
    not_derived: int
    advocates: int
    current_advocates: int
    funnel: list[FunnelStep]


@dataclass(slots=True)
class OrgProblem:
    """An org left out of the report, and why."""

    org: str
    config: str
    problem: str


@dataclass(slots=True)
class FleetReport:
    """Every org's funnel and the fleet's: the orgs read, summed."""

    generated_at: str
    today: str
    since: str | None
    orgs: list[OrgFunnel] = field(default_factory=list)
    problems: list[OrgProblem] = field(default_factory=list)
    people: int = 0
    funnel: list[FunnelStep] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return asdict(self)


def build_fleet_report(
    members: list[FleetMember], now: datetime, *, since: date | None = None
) -> FleetReport:
    """The fleet report as of ``now`` (flows from ``since`` on when given)."""
    report = FleetReport(
        generated_at=now.astimezone(UTC).isoformat(timespec="seconds"),
        today=now.date().isoformat(),
        since=since.isoformat() if since else None,
    )
    for member in members:
        found = _org_funnel(member, now, since)
        if isinstance(found, OrgProblem):
            report.problems.append(found)
        else:
            report.orgs.append(found)
    report.people = sum(org.people for org in report.orgs)
    report.funnel = combine_funnels(org.funnel for org in report.orgs)
    return report


def _org_funnel(member: FleetMember, now: datetime, since: date | None) -> OrgFunnel | OrgProblem:
    config = member.config
    if config is None or member.problems:
        return OrgProblem(member.org, str(member.path), "config: " + "; ".join(member.problems))
    try:
        with open_org_state(config) as state:
            report = build_report(
                state,
                config.mapping,
                now,
                since=since,
                silent_days=config.report.silent_days,
                lapse_window_days=config.report.lapse_warning_days,
                top=config.report.top,
            )
    except FileNotFoundError:
        return OrgProblem(member.org, str(member.path), "no state yet: run `milestones sync`")
    except StateError as exc:
        return OrgProblem(member.org, str(member.path), str(exc))
    except Exception as exc:
        if not is_state_failure(exc):
            raise
        return OrgProblem(member.org, str(member.path), f"state unreadable ({exc})")
    view = report.overall
    return OrgFunnel(
        org=member.org,
        provider=config.provider,
        people=view.people,
        gone_people=view.gone_people,
        not_derived=report.not_derived,
        advocates=view.advocacy.advocates,
        current_advocates=view.advocacy.current_advocates,
        funnel=view.funnel,
    )
