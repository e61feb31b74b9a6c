"""The milestone report, computed from the state file alone: no API call, no write.

``build_report`` reads the mirror and the derived results in four streamed passes (people,
referrers, clients and advocates, targets) and feeds each finding to two tallies: everyone's
and the person's owner's. The result is a ``model.Report`` that ``--json`` dumps and
the terminal and HTML views draw.

Where a fact needs the rules (is this activity two-way? when does this advocate's evidence
stop counting?) the report asks ``mapping`` itself, with the config's rules, so it agrees
with what sync writes to the CRM.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from milestones.config.likelihood import LikelihoodSettings
from milestones.mapping.derive import Derived, deal_milestone, derive, is_two_way
from milestones.mapping.records import Contact, Deal, Milestone, Stage
from milestones.mapping.rules import MappingRules
from milestones.report.accounts import build_accounts
from milestones.report.model import (
    UNASSIGNED,
    IdleTarget,
    LapsingAdvocate,
    OwnerView,
    PlaysRow,
    Referrer,
    Report,
    Settings,
    SilentClient,
)
from milestones.report.tally import PersonFacts, Tally
from milestones.store.location import StateLocation, open_state
from milestones.store.owners import OwnerNames
from milestones.store.plays import PLAYS_SCHEMA
from milestones.store.reporting import ReferrerRow, Reporting, TargetTouches
from milestones.store.rows import Person
from milestones.store.sqlite import Store

DEFAULT_SILENT_DAYS = 90
DEFAULT_LAPSE_WINDOW_DAYS = 30
DEFAULT_TOP = 10


class _Tallies:
    """Everyone's tally and one per owner, created on first sight."""

    def __init__(self, since: date | None, settings: Settings) -> None:
        self.since = since
        self.settings = settings
        self.overall = self._new()
        self.by_owner: dict[str, Tally] = {}

    def _new(self) -> Tally:
        s = self.settings
        return Tally(self.since, s.top, s.silent_days, s.lapse_window_days)

    def both(self, owner: str) -> tuple[Tally, Tally]:
        """The overall tally and ``owner``'s."""
        tally = self.by_owner.get(owner)
        if tally is None:
            tally = self.by_owner[owner] = self._new()
        return self.overall, tally


def build_report(
    store: Store,
    rules: MappingRules,
    now: datetime,
    *,
    since: date | None = None,
    silent_days: int = DEFAULT_SILENT_DAYS,
    lapse_window_days: int = DEFAULT_LAPSE_WINDOW_DAYS,
    top: int = DEFAULT_TOP,
    owner_names: Mapping[str, str] | None = None,
    likelihood: LikelihoodSettings | None = None,
) -> Report:
    """The whole report for the state in ``store``, as of ``now``.

    ``owner_names`` maps CRM owner ids to the names shown (``[report] owner_names``);
    with ``likelihood`` the report gains the Likelihood section (``report.likelihood``).
    """
    from milestones.report.likelihood.build import likelihood_section  # only when reported

    settings = Settings(silent_days, lapse_window_days, rules.advocate.lapse_days, top)
    owner_names = {**OwnerNames(store.db).names(), **(owner_names or {})}
    tallies = _Tallies(since, settings)
    queries = store.reporting
    stages = store.people.stages()
    for person in queries.iter_people():
        if person.derived is not None:
            facts = _person_facts(person.contact, person.derived, rules)
            for tally in tallies.both(facts.owner):
                tally.add_person(facts)
    for gone in queries.iter_gone_people():  # tombstones: history without personal data
        dates = {level: evidence.on for level, evidence in gone.reached.items()}
        tallies.overall.add_gone(gone.milestone, dates)
    for row in queries.iter_referrers():
        referrer = _referrer(row, stages, rules, since)
        for tally in tallies.both(referrer.owner):
            tally.add_referrer(referrer)
    _add_clients(queries, tallies, stages, rules, now, settings)
    today = now.date()
    untouched: set[str] = set()
    for target in queries.iter_targets():
        if target.touches == 0:
            untouched.add(target.contact.id)
        idle = None if target.is_disqualified else _idle_target(target, today)
        for tally in tallies.both(owner_of(target.contact)):
            tally.add_target(idle)
    owners = sorted(tallies.by_owner.items(), key=lambda kv: (kv[0] == UNASSIGNED, kv[0]))
    return Report(
        generated_at=now.astimezone(UTC).isoformat(timespec="seconds"),
        today=today.isoformat(),
        since=since.isoformat() if since else None,
        settings=settings,
        not_derived=queries.count_not_derived(),
        overall=tallies.overall.view(),
        owners=[OwnerView(owner, tally.view()) for owner, tally in owners],
        owner_names={k: v for k, v in (owner_names or {}).items() if k in tallies.by_owner},
        likelihood=None
        if likelihood is None
        else likelihood_section(
            store, today, likelihood.min_sample, likelihood.backtest_days, dict(owner_names or {})
        ),
        accounts=build_accounts(store, untouched),
        plays=_plays(store, since),
    )


def _plays(store: Store, since: date | None) -> list[PlaysRow]:
    """Per owner: what the plays opened and what followed (none before schema 6)."""
    if store.version < PLAYS_SCHEMA:
        return []
    return [
        PlaysRow(
            r.owner_id or UNASSIGNED, r.opened, r.open, r.done, r.cleared, r.advanced, r.by_play
        )
        for r in store.plays.by_owner(since)
    ]


def report_from_state(
    state_path: Path | StateLocation,
    rules: MappingRules,
    now: datetime,
    *,
    since: date | None = None,
    silent_days: int = DEFAULT_SILENT_DAYS,
    lapse_window_days: int = DEFAULT_LAPSE_WINDOW_DAYS,
    top: int = DEFAULT_TOP,
    owner_names: Mapping[str, str] | None = None,
    likelihood: LikelihoodSettings | None = None,
) -> Report:
    """``build_report`` on a state file opened read-only (a running sync is not disturbed)."""
    with open_state(_located(state_path), read_only=True) as store:
        return build_report(
            store,
            rules,
            now,
            since=since,
            silent_days=silent_days,
            lapse_window_days=lapse_window_days,
            top=top,
            owner_names=owner_names,
            likelihood=likelihood,
        )


def provider_of(state_path: Path) -> str | None:
    """The CRM a state file was last synced from, from its run log (None if unknown)."""
    if not state_path.exists():
        return None
    with open_state(_located(state_path), read_only=True) as store:
        return store.runs.last_provider()


def _located(state: Path | StateLocation) -> StateLocation:
    return state if isinstance(state, StateLocation) else StateLocation(state)


def write_html_report(
    state_path: Path | StateLocation,
    out_path: Path,
    now: datetime,
    rules: MappingRules | None = None,
    *,
    since: date | None = None,
    silent_days: int = DEFAULT_SILENT_DAYS,
    lapse_window_days: int = DEFAULT_LAPSE_WINDOW_DAYS,
    owner_names: Mapping[str, str] | None = None,
) -> Report:
    """Compute the report from a state file and write it as one self-contained HTML file.

    For the demo and schedulers: returns the report so the caller can say what it holds.
    ``rules`` should be the config's ``mapping`` (the defaults otherwise).
    """
    from milestones.report.html import render_html

    report = report_from_state(
        state_path,
        rules or MappingRules(),
        now,
        since=since,
        silent_days=silent_days,
        lapse_window_days=lapse_window_days,
        owner_names=owner_names,
    )
    out_path.write_text(render_html(report), encoding="utf-8")
    return report


def to_date(moment: datetime | None) -> date | None:
    """The calendar day of a moment, or None."""
    return moment.date() if moment is not None else None


def owner_of(contact: Contact) -> str:
    """The person's owner id, or ``unassigned``."""
    return contact.owner_id or UNASSIGNED


def disqualified_reason(contact: Contact, rules: MappingRules, derived: Derived) -> str | None:
    """The reason derive() gives (the derived row keeps only the flag)."""
    if not derived.is_disqualified:
        return None
    status = (contact.lead_status or "").strip()
    if status and status.lower() in {s.strip().lower() for s in rules.disqualify.lead_statuses}:
        return f"lead status {status}"
    if contact.is_opted_out:
        return "opted out of email"
    # Flagged under other rules than these (the rules changed since): say what the record shows.
    return f"lead status {status}" if status else None


def _person_facts(contact: Contact, derived: Derived, rules: MappingRules) -> PersonFacts:
    dates = {level: evidence.on for level, evidence in derived.reached.items()}
    created = to_date(contact.created_at)
    if created is not None:
        dates[Milestone.TARGET] = created
    return PersonFacts(
        id=contact.id,
        name=contact.name,
        owner=owner_of(contact),
        milestone=derived.milestone,
        dates=dates,
        is_disqualified=derived.is_disqualified,
        reason=disqualified_reason(contact, rules, derived),
        is_advocate=derived.is_advocate,
    )


def _referrer(
    row: ReferrerRow, stages: Mapping[str, Stage], rules: MappingRules, since: date | None
) -> Referrer:
    """What one referrer's referrals made (in the period) and brought in."""
    milestone = row.derived.milestone if row.derived else Milestone.TARGET
    result = Referrer(
        id=row.contact.id,
        name=row.contact.name,
        owner=owner_of(row.contact),
        milestone=milestone.label,
        is_advocate=bool(row.derived and row.derived.is_advocate),
    )
    seen_deals: set[str] = set()
    for referral in row.referrals:
        made = to_date(referral.at)
        if since is None or (made is not None and made >= since):
            result.referrals += 1
            result.referred_people += referral.kind == "contact"
        for deal in referral.deals:
            if deal.id not in seen_deals:
                seen_deals.add(deal.id)
                _count_deal(result, deal, stages, rules, since)
    return result


def _count_deal(
    result: Referrer,
    deal: Deal,
    stages: Mapping[str, Stage],
    rules: MappingRules,
    since: date | None,
) -> None:
    proves = deal_milestone(deal, stages, rules)
    if proves is Milestone.CLIENT:
        won_on = deal.close_date or to_date(deal.stage_changed_at)
        if since is None or (won_on is not None and won_on >= since):
            result.won_deals += 1
            result.won_amount += deal.amount or 0.0
    elif proves is not None:  # open: the pipeline as it stands now
        result.open_deals += 1
        result.open_amount += deal.amount or 0.0


def _add_clients(
    queries: Reporting,
    tallies: _Tallies,
    stages: Mapping[str, Stage],
    rules: MappingRules,
    now: datetime,
    settings: Settings,
) -> None:
    """Clients nobody talked to lately, and advocates whose evidence lapses soon."""
    for people in queries.iter_people_at_least(Milestone.CLIENT):
        for person in people:
            contact = person.bundle.contact
            owner = owner_of(contact)
            silent = _silent_client(person, rules, now, settings.silent_days)
            lapsing = _lapsing_advocate(person, stages, rules, now, settings.lapse_window_days)
            for tally in tallies.both(owner):
                if silent is not None:
                    tally.add_silent(silent)
                if lapsing is not None:
                    tally.add_lapsing(lapsing)


def last_contact(person: Person, rules: MappingRules, now: datetime) -> date | None:
    """The later of the last two-way activity and the day the person became a client."""
    latest: date | None = None
    for activity in person.bundle.activities:
        if activity.occurred_at is None or activity.occurred_at > now or activity.is_deleted:
            continue
        if is_two_way(activity, rules, now) is not None:
            on = activity.occurred_at.date()
            latest = on if latest is None or on > latest else latest
    client = person.prior.reached.get(Milestone.CLIENT) if person.prior else None
    if client is not None and (latest is None or client.on > latest):
        latest = client.on
    return latest


def _silent_client(
    person: Person, rules: MappingRules, now: datetime, silent_days: int
) -> SilentClient | None:
    last = last_contact(person, rules, now)
    days = (now.date() - last).days if last else None
    if days is not None and days <= silent_days:
        return None
    contact = person.bundle.contact
    milestone = person.prior.milestone if person.prior else Milestone.CLIENT
    return SilentClient(
        id=contact.id,
        name=contact.name,
        owner=owner_of(contact),
        milestone=milestone.label,
        last_contact=last.isoformat() if last else None,
        days_silent=days if days is not None else silent_days + 1,
    )


def _lapsing_advocate(
    person: Person,
    stages: Mapping[str, Stage],
    rules: MappingRules,
    now: datetime,
    window_days: int,
) -> LapsingAdvocate | None:
    """An advocate whose ``is_advocate`` turns false within ``window_days``, and when.

    derive() itself is asked, with ``now`` moved forward: the first day it says "no longer
    an advocate" is the day the evidence lapses (found by halving the window).
    """
    prior = person.prior
    if prior is None or not prior.is_advocate or rules.advocate.lapse_days is None:
        return None

    def holds(days_ahead: int) -> bool:
        later = now + timedelta(days=days_ahead)
        return derive(person.bundle, stages, rules, later, prior).is_advocate

    if holds(window_days):
        return None
    low, high = 0, window_days  # holds(high) is false; find the first false day
    while low < high:
        middle = (low + high) // 2
        if holds(middle):
            low = middle + 1
        else:
            high = middle
    contact = person.bundle.contact
    return LapsingAdvocate(
        id=contact.id,
        name=contact.name,
        owner=owner_of(contact),
        lapses_on=(now.date() + timedelta(days=low)).isoformat(),
        days_left=low,
    )


def _idle_target(target: TargetTouches, today: date) -> IdleTarget:
    """A target still waiting: every touch on a target is one-way, or it would be a prospect.

    Untouched, it waits since it was created; touched, since its first touch went unanswered.
    """
    contact = target.contact
    if target.touches == 0:
        since = to_date(contact.created_at)
    else:
        since = to_date(target.first_touch)
    last = to_date(target.last_touch)
    return IdleTarget(
        id=contact.id,
        name=contact.name,
        owner=owner_of(contact),
        touches=target.touches,
        waiting_since=since.isoformat() if since else None,
        waiting_days=max((today - since).days, 0) if since else None,
        last_touch=last.isoformat() if last else None,
    )
