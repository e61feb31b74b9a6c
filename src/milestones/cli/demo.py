"""``milestones demo``: the whole product in one command, with no CRM and no config.

It starts the sandbox CRM in-process on 127.0.0.1 with a seeded world, writes a throwaway
config for it, creates the fields and runs a full sync through the real connector over
HTTP, then prints the milestone funnel, explains a few people, and says how to point the
worker at a real CRM. Everything lives in a temporary folder removed at the end (unless
``--keep``), and nothing leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from milestones.cli.accounts import account_funnel, account_funnel_lines, example_account
from milestones.cli.app import AppContext, say
from milestones.cli.plays import outcome_data
from milestones.config.settings import load_config
from milestones.mapping.plays import TaskDraft
from milestones.mapping.records import Milestone
from milestones.store.location import open_state
from milestones.store.sqlite import Store

REAL_CRM_STEPS = """\
To run it against your own CRM:
  export HUBSPOT_ACCESS_TOKEN=...        a HubSpot service key (README: Quick start)
  milestones init --provider hubspot     writes ./milestones.toml (or --provider salesforce)
  milestones check                       config, connection, fields, stage coverage
  milestones fields --create             create the milestone fields
  milestones stages                      map your pipeline stages in [mapping.stages]
  milestones sync --dry-run              see what would be written
  milestones sync                        then schedule it (cron, systemd, --every 15m)"""

# Two plays on, a few tasks per rep, so the demo shows what a run hands the sales team.
DEMO_PLAYS = """
[plays]
max_per_owner_per_day = 2
[plays.reach_target]
enabled = true
[plays.ask_for_advocacy]
enabled = true
"""
PLAYS_SHOWN = 6


@contextmanager
def _sandbox(provider: str, contacts: int, seed: int, folder: Path) -> Iterator[Path]:
    """Serve a seeded world as ``provider``; yield a config file that points at it."""
    from milestones.sandbox.world.gen import generate_world

    world = generate_world(seed=seed, contacts=contacts)
    config = folder / "milestones.toml"
    state = folder / "demo.db"
    if provider == "hubspot":
        from milestones.sandbox.hubspot.api import HubSpotServer

        server: Any = HubSpotServer(world).start()
        os.environ["MILESTONES_DEMO_TOKEN"] = server.token
        section = (
            f'[hubspot]\naccess_token = "${{MILESTONES_DEMO_TOKEN}}"\nbase_url = "{server.url}"\n'
        )
    else:
        from milestones.sandbox.salesforce.api import SalesforceServer

        server = SalesforceServer(world).start()
        os.environ["MILESTONES_DEMO_TOKEN"] = server.token
        section = (
            f'[salesforce]\ninstance_url = "{server.url}"\nauth = "session"\n'
            f'session_id = "${{MILESTONES_DEMO_TOKEN}}"\nca_bundle = "{server.ca_bundle}"\n'
        )
    config.write_text(
        f'provider = "{provider}"\n{section}[state]\npath = "{state}"\n[sync]\nlag_seconds = 0\n'
        "[accounts]\nenabled = true\n" + DEMO_PLAYS,
        encoding="utf-8",
    )
    try:
        yield config
    finally:
        server.stop()


def funnel(state: Store) -> dict[str, int]:
    """People per milestone, plus the disqualified and current advocates."""
    counts = state.reporting.funnel()
    at = {m.label: counts.at.get(m, 0) for m in Milestone}
    return {**at, "disqualified": counts.disqualified, "currently_advocates": counts.advocates}


def _funnel_lines(counts: dict[str, int]) -> list[str]:
    total = sum(counts[m.label] for m in Milestone) or 1
    lines = ["milestone funnel (people who reached at least each milestone):"]
    reached = total
    for m in Milestone:
        bar = "#" * round(40 * reached / total)
        lines.append(f"  {m.label:<12} {reached:>6}  {bar}")
        reached -= counts[m.label]
    lines.append(
        f"  ({counts['disqualified']} disqualified, {counts['currently_advocates']} "
        "currently advocates)"
    )
    return lines


def _play_line(draft: TaskDraft) -> str:
    due = draft.due_on.isoformat()
    return f"{draft.play:<18} owner {draft.owner_id}, due {due}: {draft.subject}"


def _examples(state: Store) -> list[str]:
    """One person at each of the top milestones, for ``explain``."""
    levels = (Milestone.ADVOCATE, Milestone.CLIENT, Milestone.PROSPECT)
    return [rid for rid in map(state.reporting.example_at, levels) if rid is not None]


@click.command()
@click.option(
    "--provider",
    type=click.Choice(["hubspot", "salesforce"]),
    default="hubspot",
    show_default=True,
    help="Which CRM the sandbox imitates.",
)
@click.option("--contacts", type=click.IntRange(10, 100_000), default=300, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same world.")
@click.option("--keep", type=click.Path(file_okay=False), help="Keep the state and config here.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    default="milestones-demo-report.html",
    show_default=True,
    help="Where to write the HTML milestone report of the demo world.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the funnel and examples as JSON.")
@click.pass_obj
def demo(
    app: AppContext,
    provider: str,
    contacts: int,
    seed: int,
    keep: str | None,
    html_path: str,
    as_json: bool,
) -> int:
    """Try it with no CRM: a sandbox CRM, a full sync, the funnel, a few explanations.

    \b
    Example:
      milestones demo
      milestones demo --provider salesforce --contacts 1000
    """
    from milestones.cli.explain import explain
    from milestones.report.build import write_html_report
    from milestones.sync.engine import Engine
    from milestones.sync.factory import build_connector, build_plays
    from milestones.sync.run import RunOptions

    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="milestones-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    progress = (lambda text: None) if as_json else say
    try:
        with _sandbox(provider, contacts, seed, folder) as config_path:
            progress(f"sandbox {provider} CRM with {contacts} people on 127.0.0.1 (seed {seed})")
            config = load_config(config_path)
            connector = build_connector(config)
            with open_state(config.state.location()) as state:
                created = [f for f in connector.ensure_fields(dry_run=False) if f.action != "none"]
                progress(f"fields: {len(created)} created or granted")
                engine = Engine(
                    state,
                    connector,
                    config.mapping,
                    config.write_spec.names,
                    lag=timedelta(0),
                    read_owners=True,
                    accounts=config.account_rules,
                    plays=build_plays(config, state, connector),
                )
                report = engine.run(RunOptions(mode="full"), command="demo")
                connector.close()
                f = report.figures
                progress(
                    f"full sync: read {f['records_read']} records, wrote {f['written']} people "
                    f"and deals in {f['api_calls']} API calls, {report.duration:.1f}s"
                )
                counts = funnel(state)
                examples = _examples(state)
                accounts = account_funnel(state)
                account = example_account(state)
            html = Path(html_path).resolve()
            write_html_report(
                config.state.location(), html, datetime.now(UTC), rules=config.mapping
            )
            app.use(config)  # explain reads this config's state
            plays = engine.last_plays
            if as_json:
                data = {
                    "funnel": counts,
                    "account_funnel": accounts,
                    "run": f,
                    "examples": examples,
                    "report": str(html),
                }
                if plays is not None:
                    data["plays"] = outcome_data(plays)
                app.emit(data, True)
                return report.exit_code
            say("", *_funnel_lines(counts))
            say("", *account_funnel_lines(accounts))
            for record_id in [*examples, *([account] if account else [])]:
                say("", f"$ milestones explain {record_id}")
                explain.callback(record_id=record_id, as_json=False)  # type: ignore[misc]
            if plays is not None:
                say("", f"plays: {len(plays.opened)} tasks created for the reps, for example:")
                say(*(f"  {_play_line(d)}" for d in plays.opened[:PLAYS_SHOWN]))
                say("(milestones plays lists the open ones per owner; docs/plays.md)")
            say("", f"The milestone report of this world: {html}")
            say("(funnel, time between milestones, advocacy, clients at risk, by owner)")
            say("", *REAL_CRM_STEPS.splitlines())
            if keep:
                say("", f"state and config kept in {folder} (the sandbox has stopped)")
            return report.exit_code
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


COMMANDS: tuple[click.Command, ...] = (demo,)
