"""``status``: recent runs, cursors and waiting writes, from the state alone.

They never take the run lock (SQLite's WAL lets them read while a sync writes) and never
call the CRM, so they cost no API quota.
"""

from __future__ import annotations

from typing import Any

import click

from milestones.cli.app import AppContext
from milestones.store.location import StateLocation, open_state
from milestones.store.sqlite import Store
from milestones.text import MESSAGE_LIMIT, NAME_LIMIT, printable

FAILURES_SHOWN = 20


def open_for_reading(location: StateLocation) -> Store:
    """The state at ``location``, opened to read; a clear error when there is none yet."""
    if not location.is_postgres and not location.path.exists():
        raise click.ClickException(f"no state at {location.path} yet: run `milestones sync` first")
    try:
        return open_state(location, read_only=location.is_postgres)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@click.option("--runs", default=10, show_default=True, help="How many recent runs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def status(app: AppContext, runs: int, as_json: bool) -> None:
    """Recent runs, cursors, and writes waiting or failed (with their reasons).

    Reads the state and the config's [state] table only: no API call.

    \b
    Example:
      milestones status --runs 20
    """
    with open_for_reading(app.state_location()) as state:
        counts = state.counts()
        data: dict[str, Any] = {
            "state": str(state.label),
            "runs": [run.as_dict() for run in state.runs.recent(runs)],
            "cursors": [
                {
                    "provider": c.provider,
                    "kind": c.kind,
                    "lane": c.lane,
                    "committed": c.committed,
                    "unfinished_window": [c.window_since, c.window_until] if c.is_running else None,
                    "pages": c.pages,
                }
                for c in state.cursors.all()
            ],
            "people": counts.people,
            "dirty": counts.dirty,
            "writes_pending": counts.writes_pending,
            "writes_failed": counts.writes_failed,
            "writes_refused": counts.writes_refused,
            # --json lists every failed write; the text shows the latest few (below).
            "failures": [
                row.as_dict()
                for row in state.outbox.rows("failed", limit=-1 if as_json else FAILURES_SHOWN)
            ],
            # Writes the CRM's own validation rules refused, with the field each rule names.
            "refusals": [
                row.as_dict()
                for row in state.outbox.rows("refused", limit=-1 if as_json else FAILURES_SHOWN)
            ],
        }
    app.emit(data, as_json, _status_text(data))


def _status_text(data: dict[str, Any]) -> list[str]:
    lines = [f"state {data['state']}: {data['people']} people, {data['dirty']} to derive"]
    lines.append("recent runs:")
    for run in data["runs"]:
        lines.append(
            f"  #{run['id']:<4} {run['command']:<8} {run['started_at'][:19]}  "
            f"{run['outcome']:<11} read {run['records_read']}, wrote {run['written']}, "
            f"failed {run['failed']}, {run['api_calls']} calls, {run['duration'] or 0:.1f}s"
        )
    lines.append("cursors:")
    for c in data["cursors"]:
        where = f"up to {c['committed']}" if c["committed"] else "never completed"
        if c["unfinished_window"]:
            where += f"; unfinished pull after {c['pages']} pages (resumes next run)"
        lines.append(f"  {c['provider']} {c['lane']:<8} {c['kind']:<13} {where}")
    lines.append(f"writes: {data['writes_pending']} pending, {data['writes_failed']} failed")
    for row in data["failures"]:
        retry = "retried next run" if row["is_retryable"] else "not retried until it changes"
        reason = " ".join(str(part) for part in (row["code"], row["message"]) if part)
        reason = printable(reason, MESSAGE_LIMIT)
        lines.append(
            f"  {row['object_kind']} {row['record_id']}: {reason} "
            f"({row['attempts']} attempts; {retry})"
        )
    hidden = data["writes_failed"] - len(data["failures"])
    if hidden > 0:
        lines.append(f"  ... and {hidden} more (status --json lists every one)")
    if data["writes_refused"]:
        lines.append(
            f"refused by the CRM's validation rules: {data['writes_refused']} (sent again when "
            "the record or the rules change)"
        )
    for row in data["refusals"]:
        lines.append(f"  {row['object_kind']} {row['record_id']}: {refusal(row)}")
    hidden = data["writes_refused"] - len(data["refusals"])
    if hidden > 0:
        lines.append(f"  ... and {hidden} more (status --json lists every one)")
    return lines


def refusal(row: dict[str, Any]) -> str:
    """``refused by the CRM's rule on <field>: <message>``."""
    on = f" on {printable(row['field'], NAME_LIMIT)}" if row.get("field") else ""
    message = printable(row["message"] or row["code"], MESSAGE_LIMIT)
    return f"refused by the CRM's validation rule{on}: {message}"


COMMANDS = (status,)
