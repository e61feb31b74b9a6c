"""The sync worker against the API floor: calls, writes, CPU, memory, pacing, 429s.

One command per run::

    python -m benchmarks.sync --provider hubspot --contacts 10000
    python -m benchmarks.sync --provider salesforce --contacts 100000

It generates a seeded world (about 0.3 deals and 5 activities per contact), serves it from
the sandbox in this process with the provider's real rate limits on (HubSpot: 100 calls per
rolling 10 s and search 5 per second), and runs the real CLI, ``python -m milestones``, as a
separate process, five times in a row:

1. ``full``: the first sync of the org, which writes every person and deal once;
2. ``rerun``: nothing changed but our own writes, which the pull reads back (zero writes);
3. ``incremental``: after 1% of the contacts changed (a third edited, a third replied to
   an email, a third had a deal won);
4. ``rerun``: reads back the incremental's writes;
5. ``idle``: nothing changed at all.

Each run is set beside its floor (``common``), computed from the sandbox's own records.
The worker's CPU seconds and peak RSS come from ``wait4`` on its process alone. The config
sets ``lookback_seconds = 0`` because runs follow each other within seconds here: the
default five-minute lookback would re-read each previous run's changes, which at a real
schedule (every 15 minutes or more) it does only for the last five minutes.

Results go to ``benchmarks/results/sync-<provider>-<contacts>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks import baseline
from benchmarks.common import (
    Floor,
    add_history_floor,
    add_write_floor,
    changed_objects,
    hubspot_floor,
    machine,
    run_child,
    salesforce_floor,
    save_and_print,
    startup_argv,
    worker_argv,
    written_values,
)
from milestones.sandbox.server.tls import create_tls_files
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World

RESULTS = Path(__file__).parent / "results"
RUNS = ("full", "rerun", "incremental", "rerun", "idle")
PAUSE_S = 10.5  # HubSpot's longest rolling window (10 s), drained between two runs


def start_server(
    provider: str, world: World, rate_limits: bool, hubspot_tls: Path | None = None
) -> tuple[Any, str, str]:
    """The sandbox in this process; its config section and the token's variable.

    Salesforce always speaks https. HubSpot speaks plain http unless ``hubspot_tls`` names a
    folder for a throwaway CA and certificate (removed with the folder), as real HubSpot
    speaks only https: the client's TLS work is then in its figures too.
    """
    if provider == "hubspot":
        from milestones.sandbox.hubspot.api import HubSpotServer

        tls = None if hubspot_tls is None else create_tls_files(hubspot_tls)
        context = None if tls is None else tls.server_context()
        server: Any = HubSpotServer(world, rate_limits=rate_limits, ssl_context=context).start()
        section = f'[hubspot]\naccess_token = "${{BENCH_TOKEN}}"\nbase_url = "{server.url}"\n'
        if tls is not None:
            section += f'ca_bundle = "{tls.ca_bundle}"\n'
    else:
        from milestones.sandbox.salesforce.api import SalesforceServer

        server = SalesforceServer(world).start()
        server.configure(rate_limits=rate_limits)
        section = (
            f'[salesforce]\ninstance_url = "{server.url}"\nauth = "session"\n'
            f'session_id = "${{BENCH_TOKEN}}"\nca_bundle = "{server.ca_bundle}"\n'
        )
    return server, section, server.token


FLAGS = {"hubspot": "reference_customer", "salesforce": "Reference_Customer__c"}


def write_config(folder: Path, provider: str, section: str, flags: bool = False) -> Path:
    """The worker's config; ``flags`` counts the world's reference flag as advocacy (its
    history is read on the first sync: HubSpot one call per 50 flagged people)."""
    config = folder / "milestones.toml"
    advocate = f'[mapping.advocate]\nflag_properties = ["{FLAGS[provider]}"]\n' if flags else ""
    config.write_text(
        f'provider = "{provider}"\n{section}[state]\npath = "{folder / "state.db"}"\n'
        f"[sync]\nlag_seconds = 0\nlookback_seconds = 0\n{advocate}",
        encoding="utf-8",
    )
    return config


def change_contacts(world: World, share: float, seed: int) -> int:
    """Change ``share`` of the live contacts: an edit, a reply, or a won deal each."""
    rng = random.Random(seed)
    with world.lock:
        people = [r.id for r in world.iter("person")]
    chosen = rng.sample(people, max(1, int(len(people) * share)))
    for i, pid in enumerate(chosen):
        if i % 3 == 0:
            world.update("person", pid, {"job_title": "Changed by the benchmark"})
            continue
        deals = [world.get("deal", d) for d in world.deals_of(pid)]
        open_deals = [d for d in deals if d and not d.archived and d.stage != "closedwon"]
        if i % 3 == 2 and open_deals:
            world.move_deal(open_deals[0].id, "closedwon")
        else:
            world.add_inbound_email(pid)
    return len(chosen)


def committed(state: Path) -> datetime | None:
    """The sync lane's cursor: where the next incremental window starts."""
    if not state.exists():
        return None
    with sqlite3.connect(state) as db:
        row = db.execute("SELECT min(committed) FROM cursors WHERE lane = 'sync'").fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def read_floor(
    provider: str, world: World, server: Any, since: Any, until: datetime, catalogue: bool
) -> Floor:
    if provider == "hubspot":
        since_ms = None if since is None else int(since.timestamp() * 1000)
        return hubspot_floor(world, since_ms, int(until.timestamp() * 1000), catalogue)
    return salesforce_floor(server, since, until, catalogue)


def call_counts(provider: str, stats: dict[str, Any]) -> dict[str, int]:
    """Calls per category from the sandbox's counters (inspection calls are never counted)."""
    endpoints: dict[str, int] = stats["endpoints"]
    writes = sum(
        n
        for name, n in endpoints.items()
        if "batch/update" in name or ("composite/sobjects" in name and "PATCH" in name)
    )
    searches = sum(n for name, n in endpoints.items() if name.endswith("/search"))
    statuses = stats["statuses"]
    limited = statuses.get("429", 0) if provider == "hubspot" else statuses.get("403", 0)
    return {"total": stats["total"], "writes": writes, "searches": searches, "429s": limited}


def measure_run(
    name: str,
    provider: str,
    world: World,
    server: Any,
    config: Path,
    env: dict[str, str],
    profile: Path | None = None,
    flags: bool = False,
) -> dict[str, Any]:
    """One ``milestones sync --json`` in a child process, beside its floor."""
    folder = config.parent
    state = folder / "state.db"
    since = committed(state)
    before = written_values(world, provider)
    # Counted before the worker starts: its own writes move records past its window's end.
    # The stage catalogue is read on full runs; the others, minutes later, use the kept one.
    until = datetime.now(UTC) + timedelta(days=1)
    floor = read_floor(provider, world, server, since, until, catalogue=name == "full")
    if flags and provider == "hubspot" and since is None:
        add_history_floor(floor, world)
    server.reset_stats()
    argv = worker_argv(config, "sync", "--json", profile=profile)
    child = run_child(argv, env, folder, name)
    if child.returncode != 0:
        sys.exit(f"{name}: worker exited {child.returncode}\n{child.stderr[-3000:]}")
    stats = server.stats()
    add_write_floor(floor, provider, changed_objects(world, provider, before))
    calls = call_counts(provider, stats)
    pacing = floor.pacing_seconds(provider)
    return {
        "run": name,
        "calls": calls["total"],
        "floor": floor.total,
        "calls_per_floor": round(calls["total"] / floor.total, 3),
        "write_calls": calls["writes"],
        "write_floor": floor.writes,
        "search_calls": calls["searches"],
        "rate_limited": calls["429s"],
        "wall_s": round(child.wall_s, 1),
        "pacing_floor_s": None if pacing is None else round(pacing, 1),
        "wall_per_pacing": None if not pacing else round(child.wall_s / pacing, 3),
        "worker_cpu_s": round(child.cpu_s, 2),
        "peak_rss_mb": round(child.peak_rss_mb, 1),
        "endpoints": dict(sorted(stats["endpoints"].items())),
        "statuses": stats["statuses"],
        "floor_formula": floor.formula,
        "worker": json.loads(child.stdout),
    }


def world_figures(world: World) -> dict[str, Any]:
    people = world.count("person")
    activities = sum(world.count(k) for k in ("email", "call", "meeting", "note", "task"))
    return {
        "people": people,
        "deals": world.count("deal"),
        "activities": activities,
        "deals_per_contact": round(world.count("deal") / people, 2),
        "activities_per_contact": round(activities / people, 2),
    }


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Serve the world, run the worker five times, and collect every figure."""
    world = generate_world(seed=args.seed, contacts=args.contacts)
    folder = Path(tempfile.mkdtemp(prefix="milestones-bench-"))
    server, section, token = start_server(args.provider, world, args.rate_limits == "on")
    env = {**os.environ, "BENCH_TOKEN": token}
    if args.worker_src:  # another release's worker against the same sandbox and floors
        env["PYTHONPATH"] = str(args.worker_src.resolve())
    runs = []
    try:
        config = write_config(folder, args.provider, section, args.flags)
        setup = run_child(worker_argv(config, "fields", "--create"), env, folder, "fields")
        if setup.returncode != 0:
            sys.exit(f"fields --create exited {setup.returncode}\n{setup.stderr[-3000:]}")
        startup = run_child(startup_argv(), env, folder, "startup")
        for name in RUNS:
            if args.provider == "salesforce":
                time.sleep(1.1)  # SystemModstamp has one-second granularity
            elif args.rate_limits == "on":
                time.sleep(PAUSE_S)  # a schedule's runs are minutes apart: windows are empty
            changed = 0
            if name == "incremental":
                changed = change_contacts(world, args.changed, args.seed)
                if args.provider == "salesforce":
                    time.sleep(1.1)
            profile = None
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                profile = args.profile / f"{args.provider}-{args.contacts}-{len(runs)}-{name}.prof"
            result = measure_run(
                name, args.provider, world, server, config, env, profile, args.flags
            )
            result["changed_contacts"] = changed
            runs.append(result)
            _progress(result)
    finally:
        server.stop()
        if args.keep:
            print(f"state and logs kept in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    full = runs[0]
    result = {
        "provider": args.provider,
        "contacts": args.contacts,
        "seed": args.seed,
        "changed": args.changed,
        "rate_limits": args.rate_limits == "on",
        "world": world_figures(world),
        "machine": machine(),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.sync", *sys.argv[1:]]),
        "full_cpu_s_per_1000_contacts": round(full["worker_cpu_s"] * 1000 / args.contacts, 3),
        "startup_cpu_s": round(startup.cpu_s, 2),
        "full_cpu_s_per_1000_contacts_after_startup": round(
            (full["worker_cpu_s"] - startup.cpu_s) * 1000 / args.contacts, 3
        ),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "runs": runs,
    }
    if not args.save_baseline:
        baseline.attach(result)  # the previous release's figures, when kept for this set-up
    return result


def _progress(run: dict[str, Any]) -> None:
    print(
        f"{run['run']:<12} calls {run['calls']:>6} floor {run['floor']:>6} "
        f"writes {run['write_calls']:>5} 429s {run['rate_limited']} "
        f"wall {run['wall_s']:>7}s cpu {run['worker_cpu_s']:>6}s rss {run['peak_rss_mb']} MB",
        file=sys.stderr,
    )


def markdown(result: dict[str, Any]) -> str:
    """The result as a markdown table, the floors' formulas under it."""
    w = result["world"]
    lines = [
        f"### {result['provider']}, {result['contacts']:,} contacts",
        "",
        f"{w['people']:,} people, {w['deals']:,} deals ({w['deals_per_contact']} per contact), "
        f"{w['activities']:,} activities ({w['activities_per_contact']} per contact); "
        f"rate limits {'on' if result['rate_limits'] else 'off'}. "
        f"Full sync: {result['full_cpu_s_per_1000_contacts']} worker CPU s per 1,000 contacts "
        f"({result['full_cpu_s_per_1000_contacts_after_startup']} after the "
        f"{result['startup_cpu_s']} s of interpreter start-up and imports); "
        f"peak RSS {result['peak_rss_mb']} MB.",
        "",
        "| run | calls | floor | calls/floor | write calls | 429s | wall s | pacing floor s "
        "| wall/pacing | worker CPU s | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["runs"]:
        pacing = "n/a" if r["pacing_floor_s"] is None else r["pacing_floor_s"]
        ratio = "n/a" if r["wall_per_pacing"] is None else r["wall_per_pacing"]
        lines.append(
            f"| {r['run']} | {r['calls']} | {r['floor']} | {r['calls_per_floor']} | "
            f"{r['write_calls']} | {r['rate_limited']} | {r['wall_s']} | {pacing} | {ratio} | "
            f"{r['worker_cpu_s']} | {r['peak_rss_mb']} |"
        )
    lines += beside_baseline(result)
    lines += ["", "Floors:", ""]
    for r in result["runs"]:
        lines.append(f"- {r['run']}: {r['floor']} = " + "; ".join(r["floor_formula"]))
    lines += ["", f"Command: `{result['command']}`", ""]
    return "\n".join(lines)


def beside_baseline(result: dict[str, Any]) -> list[str]:
    """This result and the previous release's, run by run, as ratios (empty without one)."""
    base = result.get("baseline")
    if base is None:
        return ["", "No previous release's figures are kept for this set-up (baseline.json)."]
    release = base["release"]
    lines = [
        "",
        f"Beside release {release} (same world, same floors; `benchmarks/baseline.json`):",
        "",
        f"| run | calls/floor | {release} calls/floor | calls / {release} calls "
        f"| worker CPU s | {release} CPU s | peak RSS MB | {release} peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["runs"]:
        lines.append(
            f"| {r['run']} | {r['calls_per_floor']} | {r['baseline_calls_per_floor']} | "
            f"{round(r['calls'] / r['baseline_calls'], 3)} | {r['worker_cpu_s']} | "
            f"{r['baseline_cpu_s']} | {r['peak_rss_mb']} | {r['baseline_peak_rss_mb']} |"
        )
    now, before = result["full_cpu_s_per_1000_contacts"], base["full_cpu_s_per_1000_contacts"]
    lines += [
        "",
        f"Full sync worker CPU per 1,000 contacts: {now} s against {before} s "
        f"({round(now / before, 2)}x); start-up {result['startup_cpu_s']} s against "
        f"{base['startup_cpu_s']} s; peak RSS {result['peak_rss_mb']} MB against "
        f"{base['peak_rss_mb']} MB ({round(result['peak_rss_mb'] / base['peak_rss_mb'], 2)}x).",
    ]
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=("hubspot", "salesforce"), default="hubspot")
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of contacts changed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate-limits", choices=("on", "off"), default="on")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    parser.add_argument("--no-save", action="store_true", help="print only, write no files")
    parser.add_argument("--keep", action="store_true", help="keep the state and worker logs")
    parser.add_argument(
        "--flags", action="store_true", help="count the reference flag as advocacy evidence"
    )
    parser.add_argument(
        "--profile", type=Path, help="run the worker under cProfile; statistics go here"
    )
    parser.add_argument(
        "--worker-src", type=Path, help="run the worker from this src/ (another release)"
    )
    parser.add_argument(
        "--save-baseline",
        metavar="RELEASE",
        help="keep this result in baseline.json as RELEASE's figures",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run_benchmark(args)
    if args.save_baseline:
        baseline.save(result, args.save_baseline)
    out = None if args.no_save else args.out
    save_and_print(result, markdown(result), out, f"sync-{args.provider}-{args.contacts}")


if __name__ == "__main__":
    main()
