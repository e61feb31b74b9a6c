"""A fleet of orgs: N orgs of M contacts, each against its own sandbox, K workers at a time.

One command per run::

    python -m benchmarks.fleet                       # 20 orgs x 2,000 contacts, 4 at a time
    python -m benchmarks.fleet --orgs 6 --contacts 500 --parallel 3
    python -m benchmarks.fleet --state-url postgresql://bench@localhost/milestones

Each org gets its own seeded world (seed + org number) served by its own sandbox in this
process, with the provider's rate limits on, and its own config (``[state] org = "org_NN"``).
Workers are the real CLI, ``python -m milestones --config <org> sync --json``, run as child
processes K at a time, the way a scheduler with a concurrency limit runs them (Airflow's
``max_active_tasks``, staggered CronJobs). Two rounds:

1. ``full``: every org's first sync (it writes every person and deal once);
2. ``incremental``: after 1% of each org's contacts changed.

Per org, the run's API calls are set beside its floor (``common``: pages read + batches
written, counted from the org's own sandbox), so sharing a machine with other workers must
not cost an org a single extra call. The round's wall time is the fleet's; the sum of the
workers' own wall times over it is the parallelism achieved.

State: each org's SQLite file (``[state] path``) by default; ``--state-url`` writes
``[state] url`` instead, for a state engine that keeps each org apart by its ``org`` key
(PostgreSQL). Results go to ``benchmarks/results/fleet-<provider>-<N>x<M>-k<K>.json``/``.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import (
    add_write_floor,
    changed_objects,
    machine,
    run_child,
    save_and_print,
    worker_argv,
    written_values,
)
from benchmarks.sync import (
    PAUSE_S,
    call_counts,
    change_contacts,
    committed,
    read_floor,
    start_server,
)
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World

RESULTS = Path(__file__).parent / "results"
ROUNDS = ("full", "incremental")


@dataclass
class Org:
    """One org of the fleet: its world, its sandbox, its config and its token."""

    name: str
    provider: str
    world: World
    server: Any
    folder: Path
    config: Path
    env: dict[str, str]
    last_start: datetime | None = None  # where the next window starts when no file says it


def write_config(
    folder: Path, org: str, provider: str, section: str, state_url: str | None
) -> Path:
    """The org's config: its sandbox, its state (a file, or the shared URL), no lookback."""
    if state_url is None:
        state = f'[state]\norg = "{org}"\npath = "{folder / "state.db"}"\n'
    else:
        state = f'[state]\norg = "{org}"\nurl = "{state_url}"\n'
    config = folder / f"{org}.toml"
    config.write_text(
        f'provider = "{provider}"\n{section}{state}[sync]\nlag_seconds = 0\nlookback_seconds = 0\n',
        encoding="utf-8",
    )
    return config


def start_org(index: int, args: argparse.Namespace, root: Path) -> Org:
    """Generate the org's world, serve it, write its config and create its fields."""
    name = f"org_{index + 1:02d}"
    provider = args.provider
    if provider == "mixed":
        provider = "hubspot" if index % 2 == 0 else "salesforce"
    world = generate_world(seed=args.seed + index, contacts=args.contacts)
    server, section, token = start_server(provider, world, args.rate_limits == "on")
    folder = root / name
    folder.mkdir()
    if args.state_url is not None:
        refuse_existing_state(args.state_url, name)
    config = write_config(folder, name, provider, section, args.state_url)
    org = Org(name, provider, world, server, folder, config, {**os.environ, "BENCH_TOKEN": token})
    setup = run_child(worker_argv(config, "fields", "--create"), org.env, folder, "fields")
    if setup.returncode != 0:
        sys.exit(f"{name}: fields --create exited {setup.returncode}\n{setup.stderr[-3000:]}")
    return org


def refuse_existing_state(url: str, org: str) -> None:
    """A schema left by an earlier run would make the full round an incremental one."""
    import psycopg

    with psycopg.connect(url) as db:
        found = db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (org,)).fetchone()
    if found:
        sys.exit(
            f"{org}: the database already holds a state for this org (schema {org}); "
            f'drop it (DROP SCHEMA "{org}" CASCADE) or use a fresh database'
        )


def sync_org(org: Org, round_name: str) -> dict[str, Any]:
    """One ``milestones sync --json`` of one org, beside its floor."""
    state = org.folder / "state.db"
    since = committed(state) if state.exists() else org.last_start
    org.last_start = datetime.now(UTC)
    before = written_values(org.world, org.provider)
    until = datetime.now(UTC) + timedelta(days=1)
    # The stage catalogue is read on the full round; the next round, minutes later, keeps it.
    floor = read_floor(
        org.provider, org.world, org.server, since, until, catalogue=round_name == "full"
    )
    org.server.reset_stats()
    child = run_child(worker_argv(org.config, "sync", "--json"), org.env, org.folder, round_name)
    if child.returncode != 0:
        sys.exit(f"{org.name} {round_name}: exited {child.returncode}\n{child.stderr[-3000:]}")
    add_write_floor(floor, org.provider, changed_objects(org.world, org.provider, before))
    calls = call_counts(org.provider, org.server.stats())
    return {
        "org": org.name,
        "provider": org.provider,
        "calls": calls["total"],
        "floor": floor.total,
        "calls_per_floor": round(calls["total"] / floor.total, 3),
        "write_calls": calls["writes"],
        "rate_limited": calls["429s"],
        "wall_s": round(child.wall_s, 1),
        "worker_cpu_s": round(child.cpu_s, 2),
    }


def run_round(orgs: list[Org], round_name: str, parallel: int) -> dict[str, Any]:
    """Every org's sync, ``parallel`` at a time; the round's wall and each org's figures."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        results = list(pool.map(lambda org: sync_org(org, round_name), orgs))
    wall = time.perf_counter() - started
    worker_wall = sum(r["wall_s"] for r in results)
    summary = {
        "round": round_name,
        "wall_s": round(wall, 1),
        "worker_wall_s": round(worker_wall, 1),
        "parallelism": round(worker_wall / wall, 2) if wall else None,
        "calls": sum(r["calls"] for r in results),
        "floor": sum(r["floor"] for r in results),
        "max_calls_per_floor": max(r["calls_per_floor"] for r in results),
        "rate_limited": sum(r["rate_limited"] for r in results),
        "orgs": results,
    }
    print(
        f"{round_name:<12} wall {summary['wall_s']}s, workers {summary['worker_wall_s']}s "
        f"(x{summary['parallelism']}), calls {summary['calls']} / floor {summary['floor']}",
        file=sys.stderr,
    )
    return summary


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Start every org, run the rounds, and collect the figures."""
    root = Path(tempfile.mkdtemp(prefix="milestones-fleet-"))
    orgs: list[Org] = []
    rounds = []
    try:
        for index in range(args.orgs):
            orgs.append(start_org(index, args, root))
        for round_name in ROUNDS:
            time.sleep(PAUSE_S if args.rate_limits == "on" else 1.1)
            if round_name == "incremental":
                for org in orgs:
                    change_contacts(org.world, args.changed, args.seed)
                time.sleep(1.1)  # Salesforce's SystemModstamp has one-second granularity
            rounds.append(run_round(orgs, round_name, args.parallel))
    finally:
        for org in orgs:
            org.server.stop()
        if args.keep:
            print(f"states and logs kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return {
        "provider": args.provider,
        "orgs": args.orgs,
        "contacts": args.contacts,
        "parallel": args.parallel,
        "state": "url" if args.state_url else "sqlite file per org",
        "rate_limits": args.rate_limits == "on",
        "machine": machine(),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.fleet", *sys.argv[1:]]),
        "rounds": rounds,
    }


def markdown(result: dict[str, Any]) -> str:
    """The rounds, then each org's calls against its floor, as markdown tables."""
    lines = [
        f"### Fleet: {result['orgs']} orgs x {result['contacts']:,} contacts "
        f"({result['provider']}), {result['parallel']} at a time",
        "",
        f"State: {result['state']}; rate limits {'on' if result['rate_limits'] else 'off'}; "
        f"{result['machine']['cores']} cores.",
        "",
        "| round | fleet wall s | sum of worker wall s | parallelism | calls | floor "
        "| worst org calls/floor | 429s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["rounds"]:
        lines.append(
            f"| {r['round']} | {r['wall_s']} | {r['worker_wall_s']} | {r['parallelism']} | "
            f"{r['calls']} | {r['floor']} | {r['max_calls_per_floor']} | {r['rate_limited']} |"
        )
    lines += [
        "",
        "| round | org | crm | calls | floor | calls/floor | write calls | wall s | CPU s |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["rounds"]:
        for o in r["orgs"]:
            lines.append(
                f"| {r['round']} | {o['org']} | {o['provider']} | {o['calls']} | {o['floor']} | "
                f"{o['calls_per_floor']} | {o['write_calls']} | {o['wall_s']} | "
                f"{o['worker_cpu_s']} |"
            )
    lines += [
        "",
        "Salesforce's one call above the floor is its first run's describe of its objects, one "
        "Composite call (benchmarks/README.md).",
        "",
        f"Command: `{result['command']}`",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=20, help="how many orgs (20)")
    parser.add_argument("--contacts", type=int, default=2_000, help="contacts per org (2,000)")
    parser.add_argument("--parallel", type=int, default=4, help="workers at a time (4)")
    parser.add_argument("--provider", choices=("hubspot", "salesforce", "mixed"), default="mixed")
    parser.add_argument("--changed", type=float, default=0.01, help="share changed per org")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate-limits", choices=("on", "off"), default="on")
    parser.add_argument(
        "--state-url", help="[state] url for every org (a shared PostgreSQL), not a file each"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    parser.add_argument("--no-save", action="store_true", help="print only, write no files")
    parser.add_argument("--keep", action="store_true", help="keep the states and worker logs")
    args = parser.parse_args(argv)
    if args.orgs < 1 or args.contacts < 1 or args.parallel < 1:
        parser.error("--orgs, --contacts and --parallel must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run_benchmark(args)
    out = None if args.no_save else args.out
    stem = f"fleet-{args.provider}-{args.orgs}x{args.contacts}-k{args.parallel}"
    save_and_print(result, markdown(result), out, stem)


if __name__ == "__main__":
    main()
