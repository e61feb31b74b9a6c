"""Running tallies behind the report: one per population (everyone, each owner).

The state is read once, person by person, and each person is added to two tallies (the
overall one and their owner's). A tally keeps counters, day histograms and bounded
"worst first" lists, never the people themselves, so memory stays flat however large the
org: a histogram holds one counter per distinct number of days, a list at most ``top``.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from math import ceil
from typing import Generic, TypeVar

from milestones.mapping.records import Milestone
from milestones.report.model import (
    Advocacy,
    AgeBucket,
    AtRisk,
    Cohort,
    Disqualified,
    FunnelStep,
    IdleTarget,
    IdleTargets,
    Interval,
    LapsingAdvocate,
    ReasonCount,
    Referrer,
    SilentClient,
    View,
    conversion,
)

T = TypeVar("T")
LEVELS: tuple[Milestone, ...] = tuple(Milestone)
INTERVALS: tuple[tuple[Milestone, Milestone], ...] = tuple(
    (Milestone(level), Milestone(level + 1)) for level in range(Milestone.ADVOCATE)
)
AGE_BUCKETS: tuple[tuple[str, int], ...] = (
    ("< 30 days", 30),
    ("30-89 days", 90),
    ("90-179 days", 180),
    ("180-364 days", 365),
    ("1 year +", 1 << 30),
)


class DayHistogram:
    """Counts of whole days; the median and nearest-rank percentiles come from the counts."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.total = 0

    def add(self, days: int) -> None:
        """Count one value (negative values count as 0: evidence older than the record)."""
        self.counts[max(days, 0)] += 1
        self.total += 1

    def _nth(self, rank: int) -> int:
        """The value at 1-based position ``rank`` of the sorted values."""
        seen = 0
        for value in sorted(self.counts):
            seen += self.counts[value]
            if seen >= rank:
                return value
        raise IndexError(rank)

    def median(self) -> float | None:
        """The middle value (the mean of the two middle ones for an even count)."""
        if not self.total:
            return None
        if self.total % 2:
            return float(self._nth(self.total // 2 + 1))
        return (self._nth(self.total // 2) + self._nth(self.total // 2 + 1)) / 2

    def percentile(self, share: float) -> float | None:
        """Nearest-rank percentile: the smallest value at or above ``share`` of the values."""
        if not self.total:
            return None
        return float(self._nth(max(1, ceil(share * self.total))))

    def buckets(self) -> list[AgeBucket]:
        """The values sorted into ``AGE_BUCKETS``."""
        result = [AgeBucket(label) for label, _ in AGE_BUCKETS]
        for value, count in self.counts.items():
            index = next(i for i, (_, upper) in enumerate(AGE_BUCKETS) if value < upper)
            result[index].count += count
        return result


class TopList(Generic[T]):
    """The ``size`` items with the largest keys seen so far (ties: first seen wins)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._heap: list[tuple[tuple[float, int], T]] = []
        self._order = itertools.count()

    def add(self, key: float, item: T) -> None:
        """Offer one item."""
        entry = ((key, -next(self._order)), item)
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, entry)
        elif entry[0] > self._heap[0][0]:
            heapq.heapreplace(self._heap, entry)

    def items(self) -> list[T]:
        """Largest key first."""
        return [item for _, item in sorted(self._heap, key=lambda e: e[0], reverse=True)]


def funnel_steps(
    now: Mapping[Milestone, int], reached: Mapping[Milestone, int], to_next: Mapping[Milestone, int]
) -> list[FunnelStep]:
    """The funnel from its counters: who stands at each milestone now, who reached it, and
    how many of those went on (the conversion to the next one). The last milestone has no next.
    """
    steps = []
    for level in Milestone:
        onward = None if level is Milestone.ADVOCATE else to_next.get(level, 0)
        steps.append(
            FunnelStep(
                milestone=level.label,
                now=now.get(level, 0),
                reached=reached.get(level, 0),
                to_next=onward,
                conversion=None if onward is None else conversion(reached.get(level, 0), onward),
            )
        )
    return steps


def combine_funnels(funnels: Iterable[Sequence[FunnelStep]]) -> list[FunnelStep]:
    """One funnel over several populations (orgs): their counters added, rates recomputed."""
    now: Counter[Milestone] = Counter()
    reached: Counter[Milestone] = Counter()
    to_next: Counter[Milestone] = Counter()
    for funnel in funnels:
        for step in funnel:
            level = Milestone.parse(step.milestone)
            now[level] += step.now
            reached[level] += step.reached
            to_next[level] += step.to_next or 0
    return funnel_steps(now, reached, to_next)


@dataclass(slots=True)
class PersonFacts:
    """What the main pass knows about one person, read from the mirror and derived row."""

    id: str
    name: str
    owner: str
    milestone: Milestone
    dates: dict[Milestone, date]
    is_disqualified: bool
    reason: str | None
    is_advocate: bool


@dataclass
class Tally:
    """Everything one view needs, accumulated one person or one finding at a time."""

    since: date | None
    top: int
    silent_days: int
    lapse_window_days: int
    people: int = 0
    gone: int = 0  # people since deleted from the CRM whose history still counts
    now: Counter[Milestone] = field(default_factory=Counter)
    reached: Counter[Milestone] = field(default_factory=Counter)
    to_next: Counter[Milestone] = field(default_factory=Counter)
    times: dict[tuple[Milestone, Milestone], DayHistogram] = field(default_factory=dict)
    disqualified: Counter[Milestone] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    advocacy: Advocacy = field(default_factory=Advocacy)
    referrers: TopList[Referrer] = field(init=False)
    silent: TopList[SilentClient] = field(init=False)
    silent_count: int = 0
    lapsing: TopList[LapsingAdvocate] = field(init=False)
    lapsing_count: int = 0
    targets: int = 0
    untouched: DayHistogram = field(default_factory=DayHistogram)
    outbound_only: DayHistogram = field(default_factory=DayHistogram)
    idle_counts: Counter[str] = field(default_factory=Counter)
    idle: TopList[IdleTarget] = field(init=False)

    def __post_init__(self) -> None:
        self.times = {pair: DayHistogram() for pair in INTERVALS}
        self.referrers = TopList(self.top)
        self.silent = TopList(self.top)
        self.lapsing = TopList(self.top)
        self.idle = TopList(self.top)

    def _in_period(self, on: date | None) -> bool:
        return self.since is None or (on is not None and on >= self.since)

    def add_person(self, p: PersonFacts) -> None:
        """Count one derived person in the funnel, times, disqualified and cohorts."""
        self.people += 1
        self.now[p.milestone] += 1
        self._add_transitions(p.milestone, p.dates)
        if p.is_disqualified:
            self.disqualified[p.milestone] += 1
            self.reasons[p.reason or "unspecified"] += 1
        if p.milestone is Milestone.ADVOCATE:
            self.advocacy.advocates += 1
        if p.is_advocate:
            self.advocacy.current_advocates += 1
        self._add_cohort(p)

    def add_gone(self, milestone: Milestone, dates: dict[Milestone, date]) -> None:
        """Count the past transitions of a person since gone from the CRM: the milestones
        they reached and the times between them, not where anyone stands now."""
        self.gone += 1
        self._add_transitions(milestone, dates)

    def _add_transitions(self, milestone: Milestone, dates: dict[Milestone, date]) -> None:
        """The milestones reached (in the period, if any) and the times between them."""
        for level in LEVELS[: milestone + 1]:
            # Without a period everyone counts as having been a target, dated or not.
            if self.since is not None and not self._in_period(dates.get(level)):
                continue
            self.reached[level] += 1
            if level < milestone:
                self.to_next[level] += 1
        for pair in INTERVALS[:milestone]:
            first, second = dates.get(pair[0]), dates.get(pair[1])
            if first is not None and second is not None and self._in_period(second):
                self.times[pair].add((second - first).days)

    def _add_cohort(self, p: PersonFacts) -> None:
        became = p.dates.get(Milestone.PROSPECT)
        if became is None or (self.since is not None and became < self.since.replace(day=1)):
            return
        month = became.strftime("%Y-%m")
        cohort = self.cohorts.setdefault(month, Cohort(month))
        cohort.prospects += 1
        cohort.opportunity += p.milestone >= Milestone.OPPORTUNITY
        cohort.client += p.milestone >= Milestone.CLIENT
        cohort.advocate += p.milestone >= Milestone.ADVOCATE

    def add_referrer(self, r: Referrer) -> None:
        """Count one referrer's referrals; advocates' ones count towards the pipeline."""
        a = self.advocacy
        a.referrers += 1
        a.referrals += r.referrals
        if r.milestone == Milestone.ADVOCATE.label:
            a.advocate_referrals += r.referrals
            a.won_deals += r.won_deals
            a.won_amount += r.won_amount
            a.open_deals += r.open_deals
            a.open_amount += r.open_amount
        self.referrers.add(r.referrals * 1e12 + r.won_amount, r)

    def add_silent(self, s: SilentClient) -> None:
        """Count one client not heard from for longer than ``silent_days``."""
        self.silent_count += 1
        self.silent.add(s.days_silent, s)

    def add_lapsing(self, lapse: LapsingAdvocate) -> None:
        """Count one advocate whose evidence lapses within the warning window."""
        self.lapsing_count += 1
        self.lapsing.add(-lapse.days_left, lapse)

    def add_target(self, idle: IdleTarget | None) -> None:
        """Count one target; ``idle`` when nobody acts on it (no touch, or outbound only)."""
        self.targets += 1
        if idle is None:
            return
        kind = "untouched" if idle.touches == 0 else "outbound_only"
        self.idle_counts[kind] += 1
        if idle.waiting_days is not None:  # an undated record counts, without an age
            (self.untouched if idle.touches == 0 else self.outbound_only).add(idle.waiting_days)
        self.idle.add(idle.waiting_days if idle.waiting_days is not None else -1, idle)

    def view(self) -> View:
        """The finished view."""
        self.advocacy.top_referrers = self.referrers.items()
        self.advocacy.won_amount = round(self.advocacy.won_amount, 2)
        self.advocacy.open_amount = round(self.advocacy.open_amount, 2)
        return View(
            people=self.people,
            gone_people=self.gone,
            funnel=self._funnel(),
            times=[
                Interval(a.label, b.label, h.total, h.median(), h.percentile(0.9))
                for (a, b), h in self.times.items()
            ],
            disqualified=Disqualified(
                total=sum(self.disqualified.values()),
                by_milestone={m.label: self.disqualified[m] for m in Milestone},
                reasons=[ReasonCount(r, n) for r, n in self.reasons.most_common()],
            ),
            advocacy=self.advocacy,
            at_risk=AtRisk(
                silent_days=self.silent_days,
                lapse_window_days=self.lapse_window_days,
                silent_clients=self.silent_count,
                silent=self.silent.items(),
                lapsing_advocates=self.lapsing_count,
                lapsing=self.lapsing.items(),
            ),
            cohorts=[self.cohorts[m] for m in sorted(self.cohorts)],
            idle_targets=self._idle(),
        )

    def _funnel(self) -> list[FunnelStep]:
        return funnel_steps(self.now, self.reached, self.to_next)

    def _idle(self) -> IdleTargets:
        return IdleTargets(
            targets=self.targets,
            untouched=self.idle_counts["untouched"],
            outbound_only=self.idle_counts["outbound_only"],
            median_untouched_days=self.untouched.median(),
            median_outbound_only_days=self.outbound_only.median(),
            untouched_ages=self.untouched.buckets(),
            outbound_only_ages=self.outbound_only.buckets(),
            longest_waiting=self.idle.items(),
        )
