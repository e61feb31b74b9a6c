"""``milestones likelihood``: how likely each milestone leads to the next, and the backtest.

Thin: it resolves the state file and the ``[likelihood]`` settings, asks
``report.likelihood.build`` for the figures and prints them through the writer. The
estimator (the ``likelihood`` extra) is loaded only when this command runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import click

from milestones.cli.app import AppContext, pass_app
from milestones.cli.options import iso_day
from milestones.cli.report import _sources
from milestones.store.location import StateLocation, open_state
from milestones.store.owners import OwnerNames


class _NotInstalled(click.ClickException):
    exit_code = 2  # a set-up problem, like a bad config


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--as-of", callback=iso_day, metavar="DATE", help="Fit on the ledger as of DATE, not today."
)
@click.option(
    "--min-sample",
    type=click.IntRange(1, 1_000_000),
    help="People a milestone needs before its chance is estimated (default: [likelihood] or 30).",
)
@click.option(
    "--backtest-days",
    type=click.IntRange(90, 3650),
    help="Backtest from the ledger as it stood this many days ago (default: [likelihood] or 180).",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False),
    help="Read this state file (without a config: with the default settings).",
)
@pass_app
def likelihood(
    app: AppContext,
    as_json: bool,
    as_of: date | None,
    min_sample: int | None,
    backtest_days: int | None,
    state: str | None,
) -> None:
    """The chance of reaching the next milestone, the forecast, and the backtest.

    From the ledger's dated milestones (no API call): for each step, the chance of going
    on within 30, 90 and 180 days (Aalen-Johansen, with disqualification as a competing
    outcome); the expected new prospects, opportunities, clients and advocates of the next
    90 days for the org and each owner; the expected won amount of the open deals beside the
    CRM's stage probabilities; and a backtest that fits on the ledger as it stood
    --backtest-days ago and compares its 90-day predictions with what happened.

    Needs the likelihood extra: pip install 'crm-milestones[likelihood]'.

    \b
    Examples:
      milestones likelihood
      milestones likelihood --json > likelihood.json
      milestones likelihood --state milestones.db --backtest-days 365
    """
    # The likelihood's modules load when the command runs, not with every command's --help.
    from milestones.report.likelihood.build import build_likelihood
    from milestones.report.likelihood.estimate import MissingEstimator
    from milestones.report.likelihood.text import likelihood_lines

    path, _rules, report, settings = _sources(app, state)
    day = as_of or datetime.now(UTC).date()
    try:
        located = path if isinstance(path, StateLocation) else StateLocation(path)
        with open_state(located, read_only=True) as store:
            data = build_likelihood(
                store,
                day,
                min_sample or settings.min_sample,
                backtest_days or settings.backtest_days,
            )
            names = {**OwnerNames(store.db).names(), **report.owner_names}
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    except MissingEstimator as exc:
        raise _NotInstalled(str(exc)) from None
    view = data.as_dict(names)
    app.emit(view, as_json, likelihood_lines(view))


COMMANDS: tuple[click.Command, ...] = (likelihood,)
