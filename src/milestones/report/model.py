"""The milestone report's data: a tree of dataclasses that every view renders.

``report.build_report`` fills it from the state file; ``--json`` dumps it as it is
(``as_dict``), the terminal and HTML views read the same tree, so the numbers a manager
sees in the browser are the numbers a script reads from JSON.

Dates are ``YYYY-MM-DD`` text, rates are fractions (0.25 is 25 %), days are whole days.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from milestones.report.accounts import AccountsView

UNASSIGNED = "unassigned"


@dataclass(slots=True)
class FunnelStep:
    """One milestone of the funnel.

    ``now`` counts people whose current milestone this is. ``reached`` counts people who
    reached it (in the report's period when ``--since`` is given: on or after that day; for
    targets, created on or after it); ``to_next`` how many of those went on to the next
    milestone, and ``conversion`` is ``to_next / reached``.
    """

    milestone: str
    now: int = 0
    reached: int = 0
    to_next: int | None = None
    conversion: float | None = None


@dataclass(slots=True)
class Interval:
    """Days between two milestones, over the people who reached both (in the period)."""

    from_milestone: str
    to_milestone: str
    count: int = 0
    median_days: float | None = None
    p90_days: float | None = None


@dataclass(slots=True)
class ReasonCount:
    """How many people carry one disqualification reason."""

    reason: str
    count: int


@dataclass(slots=True)
class Disqualified:
    """People flagged disqualified, by the milestone they keep and by reason."""

    total: int = 0
    by_milestone: dict[str, int] = field(default_factory=dict)
    reasons: list[ReasonCount] = field(default_factory=list)


@dataclass(slots=True)
class Referrer:
    """One person who referred others, and what those referrals brought in."""

    id: str
    name: str
    owner: str
    milestone: str
    is_advocate: bool
    referrals: int = 0
    referred_people: int = 0
    won_deals: int = 0
    won_amount: float = 0.0
    open_deals: int = 0
    open_amount: float = 0.0


@dataclass(slots=True)
class Advocacy:
    """Advocates and the pipeline they fuel.

    ``referrals`` counts every referral made (a contact or a deal naming a referrer);
    ``advocate_referrals`` those made by advocates, and the deal figures are the deals those
    referrals brought in: deals that name an advocate as referrer, and the deals of the people
    an advocate referred. Won deals in the period count by close date.
    """

    advocates: int = 0
    current_advocates: int = 0
    referrers: int = 0
    referrals: int = 0
    advocate_referrals: int = 0
    won_deals: int = 0
    won_amount: float = 0.0
    open_deals: int = 0
    open_amount: float = 0.0
    top_referrers: list[Referrer] = field(default_factory=list)


@dataclass(slots=True)
class SilentClient:
    """A client (or advocate) nobody has heard from for a while."""

    id: str
    name: str
    owner: str
    milestone: str
    last_contact: str | None
    days_silent: int


@dataclass(slots=True)
class LapsingAdvocate:
    """An advocate whose dated evidence stops counting soon (``is_advocate`` turns false)."""

    id: str
    name: str
    owner: str
    lapses_on: str
    days_left: int


@dataclass(slots=True)
class AtRisk:
    """Clients at risk of being forgotten, and advocates about to lapse."""

    silent_days: int
    lapse_window_days: int
    silent_clients: int = 0
    silent: list[SilentClient] = field(default_factory=list)
    lapsing_advocates: int = 0
    lapsing: list[LapsingAdvocate] = field(default_factory=list)


@dataclass(slots=True)
class Cohort:
    """People who became prospects in one month, and how many reached each later milestone."""

    month: str
    prospects: int = 0
    opportunity: int = 0
    client: int = 0
    advocate: int = 0


@dataclass(slots=True)
class AgeBucket:
    """How many idle targets have waited this long."""

    label: str
    count: int = 0


@dataclass(slots=True)
class IdleTarget:
    """A target nobody acts on: never touched, or touched only one way."""

    id: str
    name: str
    owner: str
    touches: int
    waiting_since: str | None
    waiting_days: int | None
    last_touch: str | None = None


@dataclass(slots=True)
class IdleTargets:
    """Targets nobody acts on ("some struggle to act on their lists").

    An untouched target waits since it was created; an outbound-only one since its first
    touch (it has been worked on, and nobody answered). Deleted records do not count.
    """

    targets: int = 0
    untouched: int = 0
    outbound_only: int = 0
    median_untouched_days: float | None = None
    median_outbound_only_days: float | None = None
    untouched_ages: list[AgeBucket] = field(default_factory=list)
    outbound_only_ages: list[AgeBucket] = field(default_factory=list)
    longest_waiting: list[IdleTarget] = field(default_factory=list)


@dataclass(slots=True)
class View:
    """Every section of the report for one population: everyone, or one owner's people."""

    people: int
    funnel: list[FunnelStep]
    times: list[Interval]
    disqualified: Disqualified
    advocacy: Advocacy
    at_risk: AtRisk
    cohorts: list[Cohort]
    idle_targets: IdleTargets
    gone_people: int = 0  # deleted from the CRM since: only their past transitions count


@dataclass(slots=True)
class OwnerView:
    """One sales rep's view (``owner`` is the CRM owner id, or ``unassigned``)."""

    owner: str
    view: View


@dataclass(slots=True)
class PlaysRow:
    """One owner's plays: tasks opened, still open, done by the owner, completed by the worker
    as the situation cleared, and people who hold a later milestone than when it opened."""

    owner: str
    opened: int = 0
    open: int = 0
    done: int = 0
    cleared: int = 0
    advanced: int = 0
    by_play: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Settings:
    """The knobs the report was computed with."""

    silent_days: int
    lapse_window_days: int
    lapse_days: int | None
    top: int


@dataclass(slots=True)
class Report:
    """The whole report: everyone, then each owner."""

    generated_at: str
    today: str
    since: str | None
    settings: Settings
    not_derived: int
    overall: View
    owners: list[OwnerView] = field(default_factory=list)
    owner_names: dict[str, str] = field(default_factory=dict)
    likelihood: dict[str, Any] | None = None  # report.likelihood's JSON form, when asked for
    accounts: AccountsView | None = None  # with [accounts] enabled: the businesses
    plays: list[PlaysRow] = field(default_factory=list)

    def owner_label(self, owner: str) -> str:
        """The owner's configured name with the id (``Ann Lee (101)``), or the id alone."""
        name = self.owner_names.get(owner)
        return f"{name} ({owner})" if name else owner

    def find_owner(self, wanted: str) -> OwnerView | None:
        """An owner's view by id or by configured name (case-insensitive)."""
        for view in self.owners:
            name = self.owner_names.get(view.owner, "")
            if wanted in (view.owner, name) or wanted.casefold() == name.casefold():
                return view
        return None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` (and the HTML view's embedded copy)."""
        return asdict(self)


def conversion(reached: int, to_next: int) -> float | None:
    """``to_next / reached`` rounded to four places, or None when nobody reached it."""
    return round(to_next / reached, 4) if reached else None
