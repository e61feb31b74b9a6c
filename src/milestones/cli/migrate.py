"""``milestones migrate`` and ``milestones state copy``: the state's schema, and moving a state
file into PostgreSQL.

Every command that writes the state migrates it when it opens it; ``migrate`` does only that,
so a deployment can upgrade the schema of each org once, before its workers start (on
PostgreSQL, a migration takes a lock of its own, so two workers that start together still
migrate once). ``state copy --to`` moves the configured SQLite file into an org's schema in
PostgreSQL with every row (``store.transfer``); then set ``[state] url`` and ``org``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from milestones.cli.app import AppContext, Busy, pass_app
from milestones.config.state import check_state_url
from milestones.store.location import StateLocation, open_state
from milestones.store.transfer import TargetNotEmpty, copy_state
from milestones.sync.lock import AlreadyRunning, run_lock


@click.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def migrate(app: AppContext, as_json: bool) -> None:
    """Bring the state's schema to this release's version (a file or an org's schema).

    \b
    Example:
      milestones migrate --config acme.toml
    """
    settings = app.config().state
    location = settings.location()
    try:
        with run_lock(location), open_state(location, now=datetime.now(UTC)) as state:
            before, after = state.migrated_from or 0, state.version
    except AlreadyRunning as exc:
        raise Busy(str(exc)) from None
    data = {"state": settings.describe(), "from_version": before, "version": after}
    if before == after:
        line = f"{settings.describe()}: schema version {after}, nothing to migrate"
    else:
        line = f"{settings.describe()}: schema version {before} -> {after}"
    app.emit(data, as_json, [line])


@click.command("copy")
@click.option("--to", "url", required=True, metavar="URL", help="postgresql://user@host:port/db")
@click.option("--org", help="The org's schema there (default: [state] org of the config).")
@click.option("--json", "as_json", is_flag=True, help="Print the row counts as JSON.")
@pass_app
def copy(app: AppContext, url: str, org: str | None, as_json: bool) -> None:
    """Copy the state file into an org's schema in PostgreSQL, every row of it.

    The ledger, cursors, outbox (failed writes included), run log, forgotten ids and the key
    that hashes email addresses all go; the password comes from PGPASSWORD or ~/.pgpass.
    Then set [state] url and org in the config: the next sync goes on where the file left off.

    \b
    Example:
      PGPASSWORD=... milestones state copy --to postgresql://milestones@db/crm --org acme
    """
    config = app.config()
    try:
        check_state_url(url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--to") from None
    org = org or config.state.org
    if not org:
        raise click.UsageError("name the org's schema: --org NAME, or [state] org in the config")
    source = StateLocation(config.state.path)
    if not source.path.exists():
        raise click.UsageError(f"no state file at {source.path} to copy")
    target = StateLocation(source.path, url, org)
    try:
        with (
            run_lock(source),
            run_lock(target),
            open_state(source) as src,
            open_state(target) as dst,
        ):
            result = copy_state(src, dst)
    except AlreadyRunning as exc:
        raise Busy(str(exc)) from None
    except TargetNotEmpty as exc:
        raise click.UsageError(str(exc)) from None
    rows = sum(result.target.values())
    lines = [f"copied {rows} rows of {len(result.target)} tables to {target.describe()}"]
    lines += [f"  {table:<18} {count}" for table, count in sorted(result.target.items())]
    if not result.is_complete:
        lines.append("row counts differ: see --json")
    data = {"to": target.describe(), "tables": result.target, "complete": result.is_complete}
    app.emit(data, as_json, lines)
    if not result.is_complete:
        raise click.exceptions.Exit(1)


COMMANDS: tuple[click.Command, ...] = (migrate,)
