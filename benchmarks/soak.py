"""Fault soak: syncs under a seeded fault storm end exactly like a fault-free sync.

For each seed, two twin sandbox CRMs are generated from the same world seed. The reference is
synced with no faults; the other answers a share of its requests with 429s, 503 HTML pages
or reset connections, fails a share of the records inside batch writes, and runs out of its
daily quota halfway through the first run (the quota comes back the next run). Runs repeat
until the CRM holds the reference's values on every person and deal, up to ``--runs``.
Then identical changes are applied to both worlds and the same is done for an incremental
sync. The figures: faults injected by kind, runs needed, records still differing after
each run (every one must be a failed write listed with its reason), records lost at the end.

The worker runs in-process through the same engine and connector ``milestones sync`` builds
from its config; only the connector's waits are virtual, so retry backoff costs no wall time.
The in-suite version is ``tests/reliability/test_fault_soak.py``.

    python -m benchmarks.soak --provider hubspot --contacts 5000 --runs 3 [--seeds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from milestones.config.settings import load_config
from milestones.connectors.hubspot.settings import HUBSPOT_FIELD_NAMES
from milestones.connectors.salesforce.settings import SALESFORCE_FIELD_NAMES
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.store.sqlite import Store
from milestones.sync.engine import Engine
from milestones.sync.factory import build_connector
from milestones.sync.run import RunOptions, RunReport

STORM = "429=0.04,503=0.03,reset=0.03,record=0.02"
TOKEN = "pat-soak-token-0000"  # a private app's form: the daily quota and its headers apply
Values = dict[tuple[str, int], dict[str, Any]]


class VirtualTime:
    """The connector's clock and sleep: time passes only when it waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(1e-6, seconds)


class Twin:
    """One sandbox CRM, a config for it and a state file."""

    def __init__(self, provider: str, world_seed: int, contacts: int, folder: Path) -> None:
        from milestones.sandbox.world.gen import generate_world

        self.provider = provider
        self.world = generate_world(seed=world_seed, contacts=contacts)
        folder.mkdir(parents=True, exist_ok=True)
        self.state = folder / "state.db"
        self.config = folder / "milestones.toml"
        tail = f'[state]\npath = "{self.state}"\n[sync]\nlag_seconds = 0\n'
        if provider == "hubspot":
            self.server: Any = HubSpotServer(self.world, token=TOKEN).start()
            self.config.write_text(
                f'provider = "hubspot"\n[hubspot]\naccess_token = "{TOKEN}"\n'
                f'base_url = "{self.server.url}"\n{tail}'
            )
            self.names = set(HUBSPOT_FIELD_NAMES.values())
        else:
            self.server = SalesforceServer(self.world, session_id=TOKEN).start()
            self.config.write_text(
                f'provider = "salesforce"\n[salesforce]\ninstance_url = "{self.server.url}"\n'
                f'auth = "session"\nsession_id = "{TOKEN}"\n'
                f'ca_bundle = "{self.server.ca_bundle}"\n{tail}'
            )
            self.names = set(SALESFORCE_FIELD_NAMES.values())
        self.time = VirtualTime()
        self._connector("ensure")

    def _connector(self, purpose: str) -> Any:
        config = load_config(self.config)
        connector = build_connector(config, sleep=self.time.sleep, clock=self.time.clock)
        if purpose == "ensure":
            connector.ensure_fields(dry_run=False)
            connector.close()
        return connector, config

    def sync(self, mode: str) -> RunReport:
        connector, config = self._connector("sync")
        with Store(self.state) as state:
            engine = Engine(
                state,
                connector,
                config.mapping,
                config.write_spec.names,
                lookback=timedelta(seconds=config.sync.lookback_seconds),
                lag=timedelta(seconds=0),
                chunk_size=config.sync.derive_chunk,
                objects=(*config.write_spec.person_objects, "deal"),
            )
            try:
                return engine.run(RunOptions(mode=mode))  # type: ignore[arg-type]
            finally:
                connector.close()

    def values(self) -> Values:
        out: Values = {}
        with self.world.lock:
            for kind in ("person", "deal"):
                for rid in self.world.ids(kind):
                    record = self.world.get(kind, rid)
                    extra = (record.extra or {}) if record is not None else {}
                    out[(kind, rid)] = {
                        k: v for k, v in extra.items() if k in self.names and v is not None
                    }
        return out

    def failed_writes(self) -> set[str]:
        with sqlite3.connect(self.state) as db:
            rows = db.execute(
                "SELECT record_id FROM writes WHERE status = 'failed' AND message != ''"
            ).fetchall()
        return {r[0] for r in rows}

    def settle(self) -> None:
        if self.provider == "salesforce":
            time.sleep(1.1)  # SystemModstamp has one-second granularity

    def stop(self) -> None:
        self.server.stop()


def differing(expected: Values, actual: Values) -> set[tuple[str, int]]:
    return {k for k in set(expected) | set(actual) if expected.get(k) != actual.get(k)}


def converge(
    twin: Twin, expected: Values, mode: str, seed: int, quota: int, runs: int
) -> dict[str, Any]:
    """Runs under the storm until the CRM matches ``expected``; what each run left."""
    injected: Counter[str] = Counter()
    history: list[dict[str, Any]] = []
    for attempt in range(runs):
        spec = f"{STORM},seed={seed + attempt}"
        twin.server.configure(faults=spec + (f",daily_quota={quota}" if attempt == 0 else ""))
        report = twin.sync(mode if attempt == 0 else "incremental")
        injected.update(twin.server.stats()["faults"]["injected"])
        left = differing(expected, twin.values())
        unlisted = {k for k in left if str(k[1]) not in twin.failed_writes()}
        history.append(
            {
                "outcome": report.outcome,
                "written": report.figures.get("written", 0),
                "failed": report.figures.get("failed", 0),
                "api_calls": report.figures.get("api_calls", 0),
                "differing": len(left),
                "differing_not_listed": len(unlisted) if report.outcome != "quota" else None,
            }
        )
        if not left:
            break
        twin.settle()
    twin.server.configure(faults="")
    return {"runs": history, "injected": dict(injected), "lost": history[-1]["differing"]}


def day_of_changes(twin: Twin) -> list[dict[str, Any]]:
    """Deals move, people reply, clients refer: 2% of the people touched."""
    w = twin.world
    deals = [d for d in w.ids("deal") if not w.get("deal", d).archived]  # type: ignore[union-attr]
    people = [p for p in w.ids("person") if not w.get("person", p).archived]  # type: ignore[union-attr]
    step = max(1, len(people) // max(1, len(people) // 50))
    stages = ["closedwon", "contractsent", "presentationscheduled", "closedlost"]
    ops: list[dict[str, Any]] = [
        {"op": "move_deal", "deal_id": d, "stage": stages[i % 4]}
        for i, d in enumerate(deals[:: max(1, len(deals) // 40)])
    ]
    ops += [{"op": "add_inbound_email", "person_id": p} for p in people[::step]]
    ops += [{"op": "record_referral", "referrer_id": p} for p in people[1::step][:20]]
    return ops


def soak_one(args: argparse.Namespace, seed: int, folder: Path) -> dict[str, Any]:
    """Full then incremental sync of one world under one fault seed."""
    reference = Twin(args.provider, args.world_seed, args.contacts, folder / f"ref{seed}")
    stormy = Twin(args.provider, args.world_seed, args.contacts, folder / f"storm{seed}")
    try:
        started = time.monotonic()
        before = reference.server.stats()["total"]
        assert reference.sync("full").outcome == "ok"
        calls = reference.server.stats()["total"] - before
        expected = reference.values()
        full = converge(stormy, expected, "full", seed * 100, calls // 2, args.runs)
        reference.settle()
        ops = day_of_changes(reference)
        for twin in (reference, stormy):
            for op in ops:
                twin.server.mutate(**op)
        reference.settle()
        assert reference.sync("incremental").outcome == "ok"
        changed = reference.values()
        incremental = converge(stormy, changed, "incremental", seed * 100 + 50, 8, args.runs)
        return {
            "seed": seed,
            "reference_calls": calls,
            "records": len(expected),
            "full": full,
            "incremental": incremental,
            "seconds": round(time.monotonic() - started, 1),
        }
    finally:
        reference.stop()
        stormy.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=["hubspot", "salesforce"], default="hubspot")
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3, help="runs allowed to converge")
    parser.add_argument("--seeds", type=int, default=3, help="fault seeds to try")
    parser.add_argument("--world-seed", type=int, default=23)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="milestones-soak-") as tmp:
        results = [soak_one(args, seed, Path(tmp)) for seed in range(1, args.seeds + 1)]
    totals: Counter[str] = Counter()
    for result in results:
        for phase in ("full", "incremental"):
            totals.update(result[phase]["injected"])
    summary = {
        "provider": args.provider,
        "contacts": args.contacts,
        "seeds": args.seeds,
        "faults_injected": dict(totals),
        "records_lost": sum(r[p]["lost"] for r in results for p in ("full", "incremental")),
        "unlisted_differences": sum(
            run["differing_not_listed"] or 0
            for r in results
            for p in ("full", "incremental")
            for run in r[p]["runs"]
        ),
        "results": results,
    }
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
        return
    print(f"fault soak: {args.provider}, {args.contacts} contacts, {args.seeds} fault seeds")
    for r in results:
        for phase in ("full", "incremental"):
            runs = r[phase]["runs"]
            shape = " -> ".join(f"{x['outcome']}({x['differing']} differ)" for x in runs)
            print(f"  seed {r['seed']} {phase:<11} {len(runs)} run(s): {shape}")
        print(f"  seed {r['seed']} took {r['seconds']}s; faults {r['full']['injected']}")
    print(f"faults injected: {dict(totals)}")
    print(f"records lost: {summary['records_lost']}")
    print(f"differences not listed as failed writes: {summary['unlisted_differences']}")
    if summary["records_lost"] or summary["unlisted_differences"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
