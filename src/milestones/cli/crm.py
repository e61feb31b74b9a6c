"""Commands that ask the CRM about its set-up: ``fields`` and ``stages``.

Neither touches the state's cursors or records, so neither takes the run lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import click

from milestones.cli.app import AppContext, ConfigProblem, RunFailed, pass_app
from milestones.cli.options import iso_day
from milestones.config.source import resolve_path
from milestones.connectors.base import ConfigurationError, Connector
from milestones.mapping.derive import stage_milestone
from milestones.text import MESSAGE_LIMIT, NAME_LIMIT, printable


@contextmanager
def connected(app: AppContext) -> Iterator[Connector]:
    """The configured connector, closed afterwards; a refused login exits 2."""
    from milestones.sync.factory import build_connector  # the engine: for CRM commands only

    try:
        connector = build_connector(app.config())
    except ConfigurationError as exc:
        raise ConfigProblem(str(exc)) from None
    try:
        yield connector
    except ConfigurationError as exc:
        raise ConfigProblem(str(exc)) from None
    finally:
        connector.close()


@click.command()
@click.option("--create", is_flag=True, help="Create the missing fields (and grant access).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def fields(app: AppContext, create: bool, as_json: bool) -> int:
    """Check the written fields exist and are writable; --create makes the missing ones.

    \b
    Examples:
      milestones fields            what exists, what is missing
      milestones fields --create   create the missing fields
    """
    with connected(app) as connector:
        statuses = connector.ensure_fields(dry_run=not create)
    rows = [
        {
            "object": s.object_kind,
            "key": s.key,
            "name": s.name,
            "exists": s.exists or s.action == "created",
            "writable": s.is_writable,
            "action": s.action,
            "problem": s.problem,
        }
        for s in statuses
    ]
    broken = [r for r in rows if not r["exists"] or not r["writable"] or r["problem"]]
    lines = [
        f"{r['object']:<8} {r['name']:<34} "
        + ("ok" if r not in broken else "MISSING" if not r["exists"] else "PROBLEM")
        + ("" if r["action"] == "none" else f" ({str(r['action']).replace('_', ' ')})")
        + (f": {printable(r['problem'], MESSAGE_LIMIT)}" if r["problem"] else "")
        for r in rows
    ]
    if broken and not create:
        lines.append("run `milestones fields --create` to create the missing fields")
    app.emit({"fields": rows, "ok": not broken}, as_json, lines)
    return 1 if broken else 0


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def stages(app: AppContext, as_json: bool) -> int:
    """Each pipeline stage, the milestone it proves, and whether it is mapped or a fallback.

    Stages on fallback are read from their own metadata (won, closed, probability); map
    them in [mapping.stages] to decide yourself.

    \b
    Example:
      milestones stages --json
    """
    rules = app.config().mapping
    with connected(app) as connector:
        catalogue = connector.stages()
    rows: list[dict[str, Any]] = []
    for stage in sorted(catalogue, key=lambda s: (s.pipeline_id or "", s.display_order, s.id)):
        milestone, mapped = stage_milestone(stage, rules)
        rows.append(
            {
                "pipeline": stage.pipeline_id,
                "stage": stage.id,
                "label": stage.label,
                "milestone": milestone.label if milestone else None,
                "source": "mapped" if mapped else "fallback",
                "probability": stage.probability,
                "closed": stage.is_closed,
                "won": stage.is_won,
            }
        )
    unknown = sorted(set(rules.stages) - {s.id for s in catalogue})
    lines = [
        f"{printable(r['pipeline'] or '-', NAME_LIMIT):<14} "
        f"{printable(r['stage'], NAME_LIMIT):<28} {printable(r['label'], 28):<28} "
        f"{r['milestone'] or '(nothing)':<12} {r['source']}"
        for r in rows
    ]
    fallback = sum(1 for r in rows if r["source"] == "fallback")
    lines.append(f"{len(rows)} stages, {fallback} on fallback (add them to [mapping.stages])")
    for stage_id in unknown:
        lines.append(
            f"WARNING: [mapping.stages] names {printable(repr(stage_id), NAME_LIMIT)}, "
            "which the CRM does not have"
        )
    app.emit({"stages": rows, "unknown_mapped": unknown}, as_json, lines)
    return 1 if unknown else 0


def _as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> date:
    return iso_day(ctx, param, value) or datetime.now(UTC).date()


@click.command()
@click.option("--offline", is_flag=True, help="Validate the file only; do not connect.")
@click.option(
    "--as-of",
    "today",
    metavar="DATE",
    callback=_as_of,
    help="Judge the APIs' end of support as on this day (default: today).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def check(app: AppContext, offline: bool, today: date, as_json: bool) -> None:
    """Check the config, the API versions' end of support (and, unless --offline, the
    connection and the fields).

    \b
    Examples:
      milestones --config milestones.toml check --offline
      milestones check --offline --as-of 2027-03-01   will anything retire by then?
    """
    config = app.config()
    mapped = len(config.mapping.stages)
    result: dict[str, Any] = {
        "config": str(resolve_path(app.config_path)),
        "provider": config.provider,
        "state": config.state.describe(),
        "stages_mapped": mapped,
        "writeback": config.writeback.enabled,
        "ok": True,
    }
    lines = [
        f"config ok: {result['config']}",
        f"  provider   {config.provider}",
        f"  state      {config.state.describe()}",
        f"  stages     {mapped} mapped in [mapping.stages]; others fall back on stage metadata",
        f"  writeback  {'on' if config.writeback.enabled else 'off'}",
    ]
    result["apis"] = []
    from milestones.sync.factory import api_support

    for support in api_support(config):
        due = support.is_due(today)
        result["apis"].append(
            {
                "api": support.api,
                "ends": support.ends,
                "days_left": support.days_left(today),
                "warning": support.warning(today) if due else None,
                "next_step": support.next_step,
                "source": support.source,
            }
        )
        ends = f"supported until {support.ends}" if support.ends else "no end of support announced"
        lines.append(f"  api        {support.api}: {ends}")
        if due:
            lines.append(f"  warning    {support.warning(today)}")
    if not offline:
        from milestones.sync.checks import check_connection

        ok, details, detail_lines = check_connection(config)
        result.update(details)
        result["ok"] = ok
        lines.extend(detail_lines)
    app.emit(result, as_json, lines)
    if not result["ok"]:
        raise RunFailed("check found problems (see above)")


COMMANDS = (check, fields, stages)
