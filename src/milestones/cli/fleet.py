"""``milestones fleet``: many orgs at once, from a folder of per-org configs.

``fleet status`` and ``fleet report`` read each org's state only (no API call, no lock, no
secret needed). Running the orgs' syncs is the scheduler's job: one
``milestones --config <org>.toml sync`` per org, from a Kubernetes CronJob, an Airflow task
or a systemd timer (``deploy/`` has one of each; ``docs/operations.md``, "Fleets").

Exit codes: 0 every org was read and its last run ended with 0; 1 an org's state is missing
or damaged, or its last run did not end with 0 (the others are still shown); 2 the folder
holds no config, or a config in it is malformed or names an org another file names.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import click

from milestones.cli.app import EXIT_CONFIG, EXIT_FAILURES, EXIT_OK, AppContext, pass_app
from milestones.cli.options import iso_day
from milestones.config.fleet import FleetError, FleetMember, load_fleet


def _members(folder: str) -> list[FleetMember]:
    try:
        return load_fleet(Path(folder))
    except FleetError as exc:
        raise click.BadParameter(str(exc), param_hint="--dir") from None


_dir_option = click.option(
    "--dir",
    "folder",
    required=True,
    metavar="FOLDER",
    help="A folder of per-org configs (*.toml), one org per file.",
)


@click.group()
def fleet() -> None:
    """Many orgs: the status and the report of every org in a folder of configs.

    Each *.toml file in the folder is one org's config, named by its `org` key or else by
    the file's name. Reads the orgs' states only: no API call, and no org's secrets needed.
    Each org's sync runs on its own schedule (docs/operations.md, "Fleets").

    Exit 0: every org read and its last run ended with 0; 1: an org's state is missing or
    damaged, or its last run ended otherwise; 2: a config is malformed (the rest is shown).

    \b
    Examples:
      milestones fleet status --dir /etc/milestones/orgs
      milestones fleet report --dir /etc/milestones/orgs --html fleet.html
    """


@fleet.command("status")
@_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_app
def status(app: AppContext, folder: str, as_json: bool) -> int:
    """One line per org: last run, cursor age, writes waiting and failed, people.

    \b
    Examples:
      milestones fleet status --dir /etc/milestones/orgs
      milestones fleet status --dir orgs --json
    """
    from milestones.report.fleet_status import fleet_status  # report code: this command only
    from milestones.report.fleet_views import status_lines

    members = _members(folder)
    rows = fleet_status(members, datetime.now(UTC))
    data = {"dir": folder, "orgs": [row.as_dict() for row in rows]}
    app.emit(data, as_json, status_lines(rows))
    if any(row.state == "config" for row in rows):
        return EXIT_CONFIG
    unhealthy = [row for row in rows if not row.is_healthy]
    running = [r for r in unhealthy if r.last_run is not None and r.last_run.exit_code is None]
    return EXIT_FAILURES if len(unhealthy) > len(running) else EXIT_OK


@fleet.command("report")
@_dir_option
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
@pass_app
def report(
    app: AppContext, folder: str, since: date | None, as_json: bool, html_path: str | None
) -> int:
    """The funnel of every org and across them, from each org's state (no API call).

    Each org's line is what its own `milestones report` says; the last line adds them up.

    \b
    Examples:
      milestones fleet report --dir orgs
      milestones fleet report --dir orgs --since 2026-01-01 --html fleet.html
    """
    from milestones.report.fleet import build_fleet_report  # report code: this command only
    from milestones.report.fleet_views import render_fleet_html, report_lines

    members = _members(folder)
    data = build_fleet_report(members, datetime.now(UTC), since=since)
    if html_path is not None:
        Path(html_path).write_text(render_fleet_html(data), encoding="utf-8")
    app.emit(data.as_dict(), as_json, report_lines(data))
    if html_path is not None and not as_json:
        app.emit(None, False, ["", f"HTML report written to {html_path}"])
    if any(member.config is None or member.problems for member in members):
        return EXIT_CONFIG
    return EXIT_FAILURES if data.problems else EXIT_OK


COMMANDS: tuple[click.Command, ...] = (fleet,)
