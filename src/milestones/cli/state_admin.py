"""``milestones state``: check, back up, restore, export and import the state file.

The state file holds what a full sync cannot rebuild: the dates milestones were reached, the
transition ledger, since when advocates are advocates. These commands let it survive damage:
``check`` says what is wrong (exit 2 when anything is), ``restore`` puts the newest good backup
back, ``export``/``import`` carry the history across a rebuild. Every copy lives beside the
state file, mode 0600 (``store.backup.list_state_copies`` lists them).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from milestones.cli import migrate
from milestones.cli.app import EXIT_CONFIG, AppContext, Busy, pass_app
from milestones.store import backup
from milestones.store.backup import create_private, list_state_copies
from milestones.store.health import StateError, check_state
from milestones.store.location import StateLocation, open_state
from milestones.store.schema import MIGRATIONS
from milestones.store.sqlite import Store
from milestones.sync.lock import AlreadyRunning, run_lock


def _state_path(app: AppContext) -> Path:
    return app.config().state.path


@click.group("state")
def state_group() -> None:
    """Check, back up, restore, export and import the state file.

    \b
    Example:
      milestones state check
      milestones state restore
      milestones state export
      milestones state import milestones.db.20261101T120000Z.history.jsonl
    """


@state_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def check(app: AppContext, as_json: bool) -> None:
    """SQLite's integrity check and the schema version; exit 2 when anything is wrong.

    \b
    Example:
      milestones state check --config milestones.toml
    """
    settings = app.config().state
    if settings.url is not None:
        _check_postgres(app, settings.location(), as_json)
        return
    path = settings.path
    health = check_state(path)
    copies = list_state_copies(path)
    data = {
        "path": health.path,
        "ok": health.is_ok,
        "schema_version": health.schema_version,
        "supported_version": health.supported_version,
        "problems": health.problems,
        "copies": [{"kind": c.kind, "path": str(c.path)} for c in copies],
    }
    lines = [f"state file {path}: " + ("ok" if health.is_ok else "NOT OK")]
    lines.append(
        f"  schema version {health.schema_version} (this release: up to {health.supported_version})"
    )
    lines += [f"  problem: {p}" for p in health.problems]
    lines += [f"  {c.kind}: {c.path}" for c in copies]
    if not health.is_ok and health.exists:
        lines.append("next: `milestones state restore` puts the newest good backup back")
    app.emit(data, as_json, lines)
    if not health.is_ok:
        raise click.exceptions.Exit(EXIT_CONFIG)


def _check_postgres(app: AppContext, location: StateLocation, as_json: bool) -> None:
    """An org's schema in PostgreSQL: it opens, and its version is one this release reads
    (the server checks its own pages; a failure here is a StateError, exit 2)."""
    try:
        with open_state(location, read_only=True) as state:
            version = state.version
    except FileNotFoundError as exc:
        raise StateError(location.describe(), str(exc), "run `milestones sync` first") from None
    data = {
        "path": location.describe(),
        "ok": True,
        "schema_version": version,
        "supported_version": len(MIGRATIONS),
        "problems": [],
        "copies": [],
    }
    lines = [f"state {location.describe()}: ok"]
    lines.append(f"  schema version {version} (this release: up to {len(MIGRATIONS)})")
    app.emit(data, as_json, lines)


def _file_only(app: AppContext, what: str) -> None:
    if app.config().state.url is not None:
        raise click.UsageError(
            f"the state is in PostgreSQL: {what} with the database's own tools "
            "(pg_dump, base backups; docs/postgresql.md)"
        )


@state_group.command("backup")
@pass_app
def backup_now(app: AppContext) -> None:
    """Copy the state file beside itself now (SQLite's online backup, mode 0600).

    \b
    Example:
      milestones state backup
    """
    _file_only(app, "back it up")
    config = app.config()
    with Store(config.state.path) as state:
        made = backup.back_up(state.sqlite, config.state.path, datetime.now(UTC))
    backup.prune(config.state.path, max(config.state.backups, 1))
    app.emit({"backup": str(made)}, False, [f"backup: {made}"])


@state_group.command("restore")
@click.argument("backup_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def restore(app: AppContext, backup_file: Path | None) -> None:
    """Put the newest good backup (or BACKUP_FILE) in the state file's place.

    The replaced file is kept beside it as `.damaged`. Runs made since the backup are read
    again by the next sync; their milestone history is lost unless you exported it.

    \b
    Example:
      milestones state restore
    """
    _file_only(app, "restore it")
    path = _state_path(app)
    try:
        with run_lock(path):
            used, aside = backup.restore(path, datetime.now(UTC), backup_file)
    except AlreadyRunning as exc:
        raise Busy(str(exc)) from None
    app.emit(None, False, [f"restored {path} from {used}"])
    if aside is not None:
        app.emit(None, False, [f"the replaced file is kept as {aside}"])


@state_group.command("export")
@click.argument("output", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def export(app: AppContext, output: Path | None) -> None:
    """Write the milestone history (ledger, dates, advocate since) as JSON lines.

    By default beside the state file, mode 0600, named <state>.<time>.history.jsonl.

    \b
    Example:
      milestones state export
    """
    location = app.config().state.location()
    path = location.path
    if not location.is_postgres and not path.exists():
        raise StateError(path, "no state file", "nothing to export")
    target = output or backup.copy_path(path, "export", datetime.now(UTC))
    partial = target.with_name(target.name + ".partial")
    create_private(partial)
    try:
        with (
            open_state(location, read_only=True) as state,
            partial.open("w", encoding="utf-8") as out,
        ):
            count = state.history.export(out, state.version)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    app.emit(None, False, [f"exported {count} history lines to {target}"])


@state_group.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def import_history(app: AppContext, source: Path, as_json: bool) -> None:
    """Merge an exported history into the state (after a full sync has rebuilt the mirror).

    Each person keeps the earliest date of either side for every milestone; the next sync
    writes the restored dates back. Nothing is imported when any line is rejected.

    \b
    Example:
      milestones state import milestones.db.20261101T120000Z.history.jsonl
    """
    location = app.config().state.location()
    with run_lock(location), open_state(location) as state, state.transaction():
        with source.open(encoding="utf-8", errors="replace") as lines:
            result = state.history.import_lines(lines)
        if result.rejected:
            raise _Rejected(source, result.rejected)
    data = {
        "ledger_added": result.ledger_added,
        "people_merged": result.people_merged,
        "people_missing": len(result.people_missing),
    }
    text = f"imported {result.ledger_added} ledger entries and {result.people_merged} people" + (
        f"; {len(result.people_missing)} people are not in the state yet: run "
        "`milestones sync --full`, then import again"
        if result.people_missing
        else ""
    )
    app.emit(data, as_json, [text])


class _Rejected(click.ClickException):
    exit_code = EXIT_CONFIG

    def __init__(self, source: Path, rejected: list[str]) -> None:
        shown = "\n  ".join(rejected[:10])
        super().__init__(
            f"{source}: {len(rejected)} line(s) rejected, nothing imported:\n  {shown}"
        )


state_group.add_command(migrate.copy)

COMMANDS: tuple[click.Command, ...] = (state_group,)
