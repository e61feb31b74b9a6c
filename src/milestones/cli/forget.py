"""``milestones forget``: erase people from the state on request (a GDPR erasure, say).

It parses the ids and email addresses (options, or a file of one per line), takes the run
lock, calls ``store.forgetting.forget`` and prints what was erased where. The CRM itself is
not touched: a person still there is named, and kept out of later syncs unless
``--allow-resync`` is given.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from milestones.cli.app import AppContext, Busy, pass_app
from milestones.store.forgetting import ForgetResult, forget
from milestones.store.location import open_state
from milestones.sync.lock import AlreadyRunning, run_lock


def _read_file(path: Path | None) -> tuple[list[str], list[str]]:
    """Ids and emails from a file, one a line (``#`` starts a comment)."""
    if path is None:
        return [], []
    values = [line.split("#")[0].strip() for line in path.read_text("utf-8").splitlines()]
    values = [v for v in values if v]
    return [v for v in values if "@" not in v], [v for v in values if "@" in v]


def _data(result: ForgetResult) -> dict[str, Any]:
    return {
        "erased": result.ids,
        "unknown": result.unknown,
        "still_in_crm": result.live,
        "kept_out_of_syncs": result.denied,
        "ledger_entries_without_evidence": result.erasure.ledger_entries,
        "writes_dropped": result.erasure.writes,
        "run_details_dropped": result.erasure.run_details,
        "copies": [
            {"kind": c.kind, "path": str(c.path), "outcome": c.outcome} for c in result.copies
        ],
    }


def _lines(result: ForgetResult) -> list[str]:
    lines = [f"erased {len(result.ids)} person(s): {', '.join(result.ids) or 'none'}"]
    lines.append(
        f"  mirror: tombstones kept (id and milestones only); ledger entries without evidence: "
        f"{result.erasure.ledger_entries}; writes dropped: {result.erasure.writes}; "
        f"run details dropped: {result.erasure.run_details}"
    )
    lines += [f"  {c.kind} {c.path.name}: {c.outcome}" for c in result.copies]
    if result.unknown:
        lines.append(f"  not in the state: {len(result.unknown)} of the ids or emails given")
    if result.live:
        lines.append(f"  still in the CRM as of the last sync: {', '.join(result.live)}")
        lines.append(
            "  erase them there too; "
            + (
                "the next sync may bring them back"
                if not result.denied
                else "later syncs will not bring them back"
            )
        )
    return lines


@click.command("forget")
@click.option("--id", "ids", multiple=True, help="A person's CRM record id (repeatable).")
@click.option("--email", "emails", multiple=True, help="A person's email address (repeatable).")
@click.option(
    "--from-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of ids and email addresses, one a line.",
)
@click.option(
    "--allow-resync",
    is_flag=True,
    help="Let later syncs bring them back (and lift an earlier forget's block).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def forget_command(
    app: AppContext,
    ids: tuple[str, ...],
    emails: tuple[str, ...],
    from_file: Path | None,
    allow_resync: bool,
    as_json: bool,
) -> None:
    """Erase people from the state, its backups and exports; idempotent.

    \b
    Example:
      milestones forget --email ada@example.com
      milestones forget --id 2000020 --id 2000021
      milestones forget --from-file erasure-requests.txt
    """
    more_ids, more_emails = _read_file(from_file)
    all_ids = [*ids, *more_ids]
    all_emails = [*emails, *more_emails]
    if not all_ids and not all_emails:
        raise click.UsageError("name at least one person: --id, --email or --from-file")
    location = app.config().state.location()
    try:
        with run_lock(location), open_state(location) as store:
            result = forget(store, all_ids, all_emails, datetime.now(UTC), allow_resync)
    except AlreadyRunning as exc:
        raise Busy(str(exc)) from None
    app.emit(_data(result), as_json, _lines(result))


COMMANDS: tuple[click.Command, ...] = (forget_command,)
