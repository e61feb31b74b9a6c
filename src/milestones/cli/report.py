"""``milestones report``: the milestone report from the local state, with no API call.

Thin, like every command: it resolves the state file and the rules from the config (or a
state file given on its own, read with the default rules), asks ``report.build_report`` for
the data and hands it to the terminal, JSON or HTML view.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import click

from milestones.cli.app import AppContext, pass_app
from milestones.cli.options import iso_day
from milestones.config.likelihood import LikelihoodSettings
from milestones.config.report import ReportSettings
from milestones.config.settings import PROVIDER_MAPPING_DEFAULTS
from milestones.config.source import resolve_path
from milestones.mapping.rules import MappingRules
from milestones.store.location import StateLocation
from milestones.text import NAME_LIMIT, printable


def _sources(
    app: AppContext, state: str | None
) -> tuple[Path | StateLocation, MappingRules, ReportSettings, LikelihoodSettings]:
    """The state, the mapping rules, the ``[report]`` and ``[likelihood]`` settings.

    A state file given without a config is read with the default rules of the CRM it was
    synced from (its run log says which).
    """
    if state is not None and not resolve_path(app.config_path).exists():
        from milestones.report.build import provider_of

        provider = provider_of(Path(state))
        defaults = PROVIDER_MAPPING_DEFAULTS.get(provider or "", {})
        rules = MappingRules.model_validate(defaults)
        return Path(state), rules, ReportSettings(), LikelihoodSettings()
    config = app.config()
    path = Path(state) if state is not None else config.state.location()
    return path, config.mapping, config.report, config.likelihood


@click.command()
@click.option(
    "--since", callback=iso_day, metavar="DATE", help="Only flows from DATE on (YYYY-MM-DD)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write a self-contained HTML page to this file.",
)
@click.option(
    "--owner", metavar="ID", help="Show one owner's (sales rep's) view: id or configured name."
)
@click.option(
    "--silent-days",
    type=click.IntRange(1, 3650),
    help="Clients with no two-way contact for longer are at risk (default: [report] or 90).",
)
@click.option(
    "--lapse-window",
    type=click.IntRange(1, 365),
    help="Warn about advocates lapsing within this many days (default: [report] or 30).",
)
@click.option("--top", type=click.IntRange(1, 1000), help="Length of each list (default 10).")
@click.option(
    "--likelihood/--no-likelihood",
    "with_likelihood",
    default=True,
    help="Include the Likelihood section (default; it fits the curves, about a second more).",
)
@click.option(
    "--as-of", callback=iso_day, metavar="DATE", help="Count ages up to DATE instead of today."
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False),
    help="Read this state file (without a config: with its CRM's default mapping rules).",
)
@pass_app
def report(
    app: AppContext,
    since: date | None,
    as_json: bool,
    html_path: str | None,
    owner: str | None,
    silent_days: int | None,
    lapse_window: int | None,
    top: int | None,
    with_likelihood: bool,
    as_of: date | None,
    state: str | None,
) -> None:
    """The milestone report: funnel, conversions, time between milestones, advocacy.

    Computed from the local state that `milestones sync` keeps: no API call. Sections:
    the funnel (who stands where now, conversion to the next milestone), days between
    milestones (median and 90th percentile), disqualified people and reasons, advocates
    and what their referrals brought in, clients nobody has talked to lately, advocates
    about to lapse, monthly prospect cohorts, and targets nobody acts on; each one also
    per owner; then the likelihood of each next milestone, its 90-day forecast and its
    backtest (as `milestones likelihood` shows them; they need the likelihood extra).

    With --since, flows count from that day on (who reached a milestone, referrals made,
    deals won, cohorts); the "now" counts, disqualified, at-risk and idle lists are
    always today's picture.

    \b
    Examples:
      milestones report
      milestones report --since 2025-01-01 --owner 123456
      milestones report --json > report.json
      milestones report --html report.html      a page to open or attach to an email
      milestones report --state milestones.db   no config needed
    """
    # The report code is imported by this command only: other commands start without it.
    from milestones.report.build import report_from_state
    from milestones.report.html import render_html
    from milestones.report.text import render_lines

    path, rules, defaults, likelihood = _sources(app, state)
    now = datetime.now(UTC)
    if as_of is not None:
        now = datetime.combine(as_of, time(12), tzinfo=UTC)
    try:
        data = report_from_state(
            path,
            rules,
            now,
            since=since,
            silent_days=silent_days or defaults.silent_days,
            lapse_window_days=lapse_window or defaults.lapse_warning_days,
            top=top or defaults.top,
            owner_names=defaults.owner_names,
            likelihood=likelihood if with_likelihood else None,
        )
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    if owner is not None:
        found = data.find_owner(owner)
        if found is None:
            known = ", ".join(printable(data.owner_label(o.owner), NAME_LIMIT) for o in data.owners)
            known = known or "none"
            raise click.BadParameter(f"no owner {owner!r} (owners: {known})", param_hint="--owner")
        owner = found.owner
    if html_path is not None:
        Path(html_path).write_text(render_html(data), encoding="utf-8")
    app.emit(data.as_dict(), as_json, render_lines(data, owner))
    if html_path is not None and not as_json:
        app.emit(None, False, ["", f"HTML report written to {html_path}"])


COMMANDS: tuple[click.Command, ...] = (report,)
