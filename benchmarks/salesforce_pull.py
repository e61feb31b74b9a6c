"""API calls of a full and an incremental Salesforce pull, next to the arithmetic floor.

Runs the connector against the sandbox org over TLS. The floor of a pull is one query call
per 2,000-row page of each object it reads (an empty object still costs its one query);
the connector's only other calls are /limits once and one describe per object (the
senders of received emails come in the EmailMessage query's subquery). The incremental
run changes 1% of the people (one bulk edit, so the rows tie on one SystemModstamp second).

    python benchmarks/salesforce_pull.py --contacts 10000 [--changed 0.01] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from milestones.connectors.base import Window
from milestones.connectors.fields import WriteSpec
from milestones.connectors.salesforce.connector import OBJECTS, SalesforceConnector
from milestones.connectors.salesforce.settings import SALESFORCE_FIELD_NAMES, SalesforceSession
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.world.gen import generate_world

HOUR_MS = 3_600_000
PAGE = 2_000


def rows_in(server: SalesforceServer, sobject: str, since_ms: float | None, until_ms: float) -> int:
    """Rows a pull of ``sobject`` must read (deleted ones too: queryAll), from the org."""
    obj = server.objects[sobject]
    stamp = obj.fields["SystemModstamp"].get
    incoming = obj.fields["Incoming"].get if sobject == "EmailMessage" else None
    count = 0
    for row in obj.rows(True):
        if incoming is not None and not incoming(row):
            continue
        if since_ms is None or since_ms <= stamp(row) < until_ms:
            count += 1
    return count


def floor(server: SalesforceServer, since: datetime | None, until: datetime) -> dict[str, int]:
    """Query pages per object: ceil(rows / 2000), at least one."""
    since_ms = since.timestamp() * 1000 if since else None
    until_ms = until.timestamp() * 1000
    return {
        sobject: max(1, math.ceil(rows_in(server, sobject, since_ms, until_ms) / PAGE))
        for objects in OBJECTS.values()
        for sobject in objects
    }


def run_pull(sf: SalesforceConnector, window: Window) -> dict[str, Any]:
    before = dict(sf.usage().calls)
    started = time.perf_counter()
    records = pages = 0
    for kind in sf.kinds:
        for page in sf.pull(kind, window):
            pages += 1
            records += len(page.records) + len(page.deleted_ids)
    after = sf.usage().calls
    calls = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return {
        "records": records,
        "pages": pages,
        "calls": {k: v for k, v in calls.items() if v},
        "seconds": round(time.perf_counter() - started, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    world = generate_world(seed=args.seed, contacts=args.contacts)
    now = {"ms": world.anchor_ms + HOUR_MS}
    world.clock = lambda: now["ms"]
    anchor = datetime.fromtimestamp(world.anchor_ms / 1000, UTC)
    spec = WriteSpec(
        names=dict(SALESFORCE_FIELD_NAMES),
        person_objects=("contact", "lead"),
        extra_properties=("Referred_By__c", "NPS_Score__c"),
    )
    with SalesforceServer(world) as server:
        settings = SalesforceSession(
            auth="session",
            instance_url=server.url,
            session_id=server.token,
            ca_bundle=server.ca_bundle,
        )
        full_until = anchor + timedelta(hours=1)
        full_window = Window(None, full_until)
        full = run_pull(SalesforceConnector(settings, spec), full_window)
        full["floor"] = floor(server, None, full_until)

        people = [p.id for p in world.records["person"].values() if not p.archived]
        now["ms"] += 5_000
        for number in people[: max(1, int(len(people) * args.changed))]:
            world.update("person", number, {"job_title": "Changed"})
        window = Window(full_until - timedelta(seconds=10), anchor + timedelta(hours=2))
        incremental = run_pull(SalesforceConnector(settings, spec), window)
        incremental["floor"] = floor(server, window.since, window.until)

    result = {
        "contacts": args.contacts,
        "changed": args.changed,
        "full": full,
        "incremental": incremental,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name in ("full", "incremental"):
        run = result[name]
        floor_total = sum(run["floor"].values())
        print(
            f"{name:12s} records {run['records']:7d}  query calls {run['calls'].get('query', 0):4d}"
            f"  floor {floor_total:4d}  other calls {run['calls']}  ({run['seconds']} s)"
        )


if __name__ == "__main__":
    main()
