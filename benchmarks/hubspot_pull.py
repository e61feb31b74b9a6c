"""API calls of a full and an incremental HubSpot pull, next to the arithmetic floor.

Runs the connector against the sandbox portal over HTTP, through hubspot-api-client, with the
sandbox's rate limits on (100 calls per rolling 10 s, search 5 per second), so the 429 count
shows whether pacing keeps a steady run clear of them.

The floor of a pull: the stage catalogue (one call), then for every object type it reads
(contacts, deals, emails, calls, meetings, notes) one call per page of its records (list: 100
a page, and a full pull's archived list; search: 200 a page, one call even when nothing
changed) plus one v4 association read per 1,000 records per association it needs (deals ->
contacts; each engagement type -> contacts and -> deals). The incremental run changes 1% of
the contacts.

    python benchmarks/hubspot_pull.py --contacts 10000 [--changed 0.01] [--no-rate-limits] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from milestones.connectors.base import Window
from milestones.connectors.fields import WriteSpec
from milestones.connectors.hubspot.connector import HubSpotConnector
from milestones.connectors.hubspot.settings import HUBSPOT_FIELD_NAMES, HubSpotSettings
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World

TYPES = {"person": 0, "deal": 1, "email": 2, "call": 2, "meeting": 2, "note": 2}  # assoc reads
SPEC = WriteSpec(
    names=dict(HUBSPOT_FIELD_NAMES),
    extra_properties=("referred_by", "hs_feedback_last_nps_rating"),
)


def floor(world: World, since_ms: int | None, until_ms: int) -> int:
    """The fewest calls that can read every record of every type in the window."""
    calls = 1  # stage catalogue
    for kind, associations in TYPES.items():
        if since_ms is None:
            live = world.count(kind)
            calls += max(1, math.ceil(live / 100)) + max(
                1, math.ceil(world.count(kind, True) / 100)
            )
        else:
            live = sum(1 for r in world.iter(kind) if since_ms <= r.touched <= until_ms)
            calls += max(1, math.ceil(live / 200))
        calls += associations * math.ceil(live / 1000)
    return calls


def run(connector: HubSpotConnector, window: Window) -> dict[str, Any]:
    """Pull every kind in ``window``; the calls, 429s, records and seconds it took."""
    before = dict(connector.usage().calls)
    limited = connector.usage().rate_limited
    started = time.monotonic()
    records = 0
    for kind in connector.kinds:
        for page in connector.pull(kind, window):
            records += len(page.records)
    usage = connector.usage()
    calls = {k: v - before.get(k, 0) for k, v in usage.calls.items() if v - before.get(k, 0)}
    return {
        "calls": sum(calls.values()),
        "by_category": calls,
        "rate_limited_429": usage.rate_limited - limited,
        "records": records,
        "seconds": round(time.monotonic() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-rate-limits", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    world = generate_world(seed=args.seed, contacts=args.contacts)
    with HubSpotServer(world, rate_limits=not args.no_rate_limits) as server:
        settings = HubSpotSettings(access_token=server.token, base_url=server.url)
        connector = HubSpotConnector(settings, SPEC)
        connector.stages()
        until = datetime.now(UTC) - timedelta(seconds=1)
        full = run(connector, Window(since=None, until=until))
        full["floor"] = floor(world, None, int(until.timestamp() * 1000))
        full["calls"] += 1  # the stage catalogue read above
        full["by_category"]["meta"] = full["by_category"].get("meta", 0) + 1

        since = datetime.now(UTC)
        people = [r.id for r in world.iter("person")]
        changed = random.Random(args.seed).sample(people, int(len(people) * args.changed))
        for pid in changed:
            world.update("person", pid, {"first_name": "Changed"})
        until = datetime.now(UTC) + timedelta(milliseconds=1)
        time.sleep(0.01)
        fresh = HubSpotConnector(settings, SPEC)
        incremental = run(fresh, Window(since=since, until=until))
        incremental["floor"] = floor(
            world, int(since.timestamp() * 1000), int(until.timestamp() * 1000)
        )
        incremental["changed_contacts"] = len(set(changed))
        connector.close()
        fresh.close()
        report = {
            "contacts": args.contacts,
            "rate_limits": not args.no_rate_limits,
            "full": full,
            "incremental": incremental,
            "server_429s": server.stats()["statuses"].get("429", 0),
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name in ("full", "incremental"):
        r = report[name]
        print(
            f"{name:<12} calls {r['calls']:>5}  floor {r['floor']:>5}  429s "
            f"{r['rate_limited_429']}  records {r['records']:>6}  {r['seconds']} s  "
            f"{r['by_category']}"
        )


if __name__ == "__main__":
    main()
