"""``milestones plays``: the open plays per owner; and how a run's plays are printed.

The listing reads the state file only (no API call): each task a play opened and that was
still open at the last run, grouped by the owner it is assigned to.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import click

from milestones.cli.app import AppContext
from milestones.mapping.plays import TaskDraft
from milestones.store.location import open_state
from milestones.store.plays import PlayRow
from milestones.store.sqlite import Store
from milestones.sync.plays import PlayOutcome
from milestones.text import NAME_LIMIT, printable

DRAFT_LINES = 20
_NAMES_CHUNK = 500


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def plays(app: AppContext, as_json: bool) -> None:
    """Open plays per owner: the tasks the worker created that are still open.

    Reads the state file only: no API call. Enable plays under [plays] (docs/plays.md).

    \b
    Example:
      milestones plays --json
    """
    config = app.config()
    location = config.state.location()
    if not location.is_postgres and not config.state.path.exists():
        raise click.ClickException(
            f"no state at {config.state.path} yet: run `milestones sync` first"
        )
    with open_state(location, read_only=True) as state:
        rows = state.plays.open_rows()
        names = _person_names(state, [r.contact_id for r in rows])
    owners = config.report.owner_names
    grouped: dict[str, list[PlayRow]] = defaultdict(list)
    for row in rows:
        grouped[row.owner_id or ""].append(row)
    data = {
        "enabled": [p.name for p in config.plays.enabled()],
        "owners": [
            {
                "owner_id": owner or None,
                "owner": owners.get(owner, owner) or None,
                "open": [_row_data(r, names) for r in items],
            }
            for owner, items in sorted(grouped.items())
        ],
    }
    app.emit(data, as_json, _listing_lines(data))


def _row_data(row: PlayRow, names: dict[str, str]) -> dict[str, Any]:
    return {
        "play": row.play,
        "person_id": row.contact_id,
        "person": names.get(row.contact_id, row.contact_id),
        "task_id": row.task_id,
        "opened_on": row.opened_on,
        "situation_cleared": row.status == "left",
    }


def _listing_lines(data: dict[str, Any]) -> list[str]:
    if not data["enabled"]:
        lines = ["no play is enabled (see [plays] in docs/plays.md)"]
    else:
        lines = ["plays enabled: " + ", ".join(data["enabled"])]
    if not data["owners"]:
        return [*lines, "no open plays"]
    for owner in data["owners"]:
        who = printable(owner["owner"] or "(no owner)", NAME_LIMIT)
        lines.append(f"{who}: {len(owner['open'])} open")
        for item in owner["open"]:
            person = printable(item["person"], NAME_LIMIT)
            cleared = (
                "  (situation cleared, left to the owner)" if item["situation_cleared"] else ""
            )
            lines.append(
                f"  {item['play']:<22} {person} ({item['person_id']})  since {item['opened_on']}"
                f"  task {item['task_id']}{cleared}"
            )
    return lines


def _person_names(state: Store, ids: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for start in range(0, len(ids), _NAMES_CHUNK):
        for person in state.people.load(ids[start : start + _NAMES_CHUNK]).people:
            names[person.bundle.contact.id] = person.bundle.contact.name
    return names


def outcome_data(outcome: PlayOutcome) -> dict[str, Any]:
    """A run's plays for ``--json``: the figures and each task created or to be created.

    The tasks a run created are listed by ids, without their subjects: a scheduled run's
    output ends up in log collectors, and a subject names the person (docs/privacy.md). A dry
    run, read by the admin who tunes the plays, shows the subjects it would write.
    """
    return {
        **outcome.figures(),
        "opened": [_draft_data(d, subject=False) for d in outcome.opened],
        "would_open": [_draft_data(d, subject=True) for d in outcome.would_open],
    }


def outcome_lines(outcome: PlayOutcome, *, dry_run: bool) -> list[str]:
    """A run's plays for people: the tasks (the first few) and one line of counts."""
    drafts = outcome.would_open if dry_run else outcome.opened
    lines = [_draft_line(d, subject=dry_run) for d in drafts[:DRAFT_LINES]]
    if len(drafts) > DRAFT_LINES:
        lines.append(f"... and {len(drafts) - DRAFT_LINES} more tasks (use --json for all)")
    verb = "would open" if dry_run else "opened"
    lines.append(
        f"plays: {verb} {len(drafts)} tasks, {outcome.done} done by their owners, "
        f"{outcome.cleared} completed and {outcome.left} left as their situation cleared, "
        f"{outcome.no_owner} people without an owner, {outcome.capped} over the daily cap, "
        f"{outcome.failed} failed"
    )
    return lines


def _draft_data(draft: TaskDraft, *, subject: bool) -> dict[str, Any]:
    data = {
        "play": draft.play,
        "person_id": draft.contact_id,
        "owner_id": draft.owner_id,
        "due_on": draft.due_on.isoformat(),
        "priority": draft.priority,
    }
    if subject:
        data["subject"] = draft.subject
    return data


def _draft_line(draft: TaskDraft, *, subject: bool) -> str:
    line = f"task {draft.play} for {draft.contact_id} (owner {draft.owner_id})"
    return f"{line}: {printable(draft.subject, NAME_LIMIT * 2)}" if subject else line


COMMANDS: tuple[click.Command, ...] = (plays,)
