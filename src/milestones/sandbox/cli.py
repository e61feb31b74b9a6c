"""``milestones sandbox``: serve a seeded demo CRM on 127.0.0.1 until Ctrl-C.

The HubSpot flavour is started here; the Salesforce flavour by
``salesforce.cli.start_salesforce``, which also says what to print. Each flavour is
imported only when asked for.
"""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Any

import click

from milestones.sandbox.server.faults import FaultPlan, FaultSpecError

if TYPE_CHECKING:
    from milestones.sandbox.world.store import World

# The HubSpot subscriptions the sandbox plays (``hubspot.api.TIERS``, which sets their limits;
# named here so that choosing one loads nothing).
HUBSPOT_TIERS = ("starter", "professional", "enterprise", "enterprise+pack")


def _faults(ctx: click.Context, param: click.Parameter, value: str | None) -> FaultPlan:
    try:
        return FaultPlan.parse(value)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("sandbox")
@click.option(
    "--provider",
    type=click.Choice(["hubspot", "salesforce"]),
    default="hubspot",
    show_default=True,
    help="Which CRM API to imitate.",
)
@click.option(
    "--port", type=int, default=0, show_default=True, help="Port on 127.0.0.1; 0 picks a free one."
)
@click.option(
    "--contacts",
    type=click.IntRange(1),
    default=500,
    show_default=True,
    help="How many live people to serve. HubSpot: N contacts. Salesforce: N people, each a "
    "Contact (about 86 %) or a Lead not yet converted (about 14 %); a quarter of the "
    "Contacts also keep the converted Lead they came from. Archived and deleted records "
    "come on top of N.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same world.")
@click.option(
    "--faults",
    "fault_plan",
    callback=_faults,
    metavar="SPEC",
    help="Inject failures at these rates, e.g. "
    "429=0.05,503=0.03,reset=0.02,slow=0.01,record=0.02,daily_quota=5000,seed=7 (none by default).",
)
@click.option(
    "--rate-limits",
    type=click.Choice(["on", "off"]),
    default="off",
    show_default=True,
    help="Enforce the CRM's request limits (HubSpot: 100 per 10 s, daily, search 5/s).",
)
@click.option(
    "--tier",
    type=click.Choice(HUBSPOT_TIERS),
    default="starter",
    show_default=True,
    help="HubSpot: the portal's subscription, which sets its rate limits: Starter 100 calls "
    "per 10 s, Professional and Enterprise 190, enterprise+pack (the API Limit Increase) 250.",
)
@click.option(
    "--no-legacy-paths",
    is_flag=True,
    help="HubSpot: serve only the dated 2026-09 paths; /crm/v3, /crm/v4 answer 404.",
)
@click.option(
    "--soap-login",
    type=click.Choice(["on", "off", "no-api-auth"]),
    default="on",
    show_default=True,
    help="Salesforce: off refuses SOAP login() as orgs created since Winter '26 do; "
    "no-api-auth refuses it for a user without Use Any API Auth.",
)
@click.option(
    "--known-rates",
    is_flag=True,
    help="Serve a world whose people convert at known rates (three cohorts, stage "
    "probabilities set too high) instead of the demo world: for checking `likelihood`.",
)
def sandbox(
    provider: str,
    port: int,
    contacts: int,
    seed: int,
    fault_plan: FaultPlan,
    rate_limits: str,
    tier: str,
    no_legacy_paths: bool,
    soap_login: str,
    known_rates: bool,
) -> None:
    """Serve a fake CRM with a seeded demo world, for demos, tests and benchmarks.

    It prints the URL and credentials to put in a config, then serves until Ctrl-C. Try a
    mapping against it before pointing the worker at production.

    \b
    Examples:
      milestones sandbox --contacts 2000
      milestones sandbox --provider salesforce --rate-limits on
      milestones sandbox --provider salesforce --soap-login off
      milestones sandbox --faults "429=0.1,503=0.05,seed=3"
      milestones sandbox --no-legacy-paths
      milestones sandbox --tier professional --rate-limits on
      milestones sandbox --known-rates --contacts 6000
    """
    if no_legacy_paths and provider != "hubspot":
        raise click.UsageError("--no-legacy-paths is for --provider hubspot")
    if tier != "starter" and provider != "hubspot":
        raise click.UsageError("--tier is for --provider hubspot")
    started = time.perf_counter()
    from milestones.sandbox.world.gen import generate_world  # only when a sandbox starts
    from milestones.sandbox.world.known_rates import KnownRates

    world = generate_world(
        seed=seed, contacts=contacts, known_rates=KnownRates() if known_rates else None
    )
    gc.freeze()  # the world lives as long as the process: keep it out of every collection
    limits = rate_limits == "on"
    if provider == "hubspot":
        server, lines = _start_hubspot(world, port, fault_plan, limits, not no_legacy_paths, tier)
    else:
        server, lines = _start_salesforce(world, port, fault_plan, limits, soap_login)
    took = time.perf_counter() - started
    kind = " at known rates" if known_rates else ""
    click.echo(f"{provider} sandbox: {contacts} people{kind} (seed {seed}) ready in {took:.1f} s")
    for line in lines:
        click.echo(line)
    if fault_plan.active:
        click.echo(f"faults: {fault_plan.to_spec()}")
    click.echo(f"inspect: {server.url}/_sandbox/stats   (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        server.stop()


def _start_hubspot(
    world: World,
    port: int,
    faults: FaultPlan,
    rate_limits: bool,
    legacy_paths: bool = True,
    tier: str = "starter",
) -> tuple[Any, list[str]]:
    from milestones.sandbox.hubspot.api import HubSpotServer

    server = HubSpotServer(
        world,
        port=port,
        faults=faults,
        rate_limits=rate_limits,
        legacy_paths=legacy_paths,
        tier=tier,
    ).start()
    lines = [
        f"base URL: {server.url}",
        f"token:    {server.token}",
        f"portal:   {tier}, {server.ten_secondly_max} calls per 10 s, "
        f"{server.secondly_max} a second, {server.daily_max:,} a day",
        "paths:    "
        + ("legacy (/crm/v3, /crm/v4) and 2026-09" if legacy_paths else "2026-09 only"),
        "",
        "# milestones.toml",
        'provider = "hubspot"',
        "[hubspot]",
        'access_token = "${HUBSPOT_ACCESS_TOKEN}"',
        f'base_url = "{server.url}"',
        "",
        f"export HUBSPOT_ACCESS_TOKEN={server.token}",
    ]
    return server, lines


def _start_salesforce(
    world: World, port: int, faults: FaultPlan, rate_limits: bool, soap_login: str
) -> tuple[Any, list[str]]:
    from milestones.sandbox.salesforce.cli import start_salesforce

    server, lines = start_salesforce(
        world, port=port, faults=faults, rate_limits=rate_limits, soap_login=soap_login
    )
    return server, list(lines)
