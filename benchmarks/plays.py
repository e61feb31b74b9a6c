"""What the plays cost: API calls and time of a sync with plays on, against one without.

    python -m benchmarks.plays --provider salesforce --contacts 5000

It serves a seeded world from the sandbox in this process, creates the fields and runs a full
sync with no play enabled and one incremental run (it re-reads the full sync's own writes),
then three incremental runs with no CRM change: without plays (the baseline), with
``reach_target`` and ``ask_for_advocacy`` on (the first creates the tasks), and once more
(nothing to create; one status read per batch of open tasks). Each run's API calls come
from the sandbox's own counters; times are wall-clock and only printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.sync import start_server, write_config
from milestones.cli.main import main
from milestones.sandbox.world.gen import generate_world

PLAYS = """
[plays]
max_per_owner_per_day = 1000
[plays.reach_target]
enabled = true
[plays.ask_for_advocacy]
enabled = true
"""


def run_cli(config: Path, *args: str) -> tuple[dict[str, Any], float]:
    """``milestones --config CONFIG ARGS --json`` in-process: its JSON and its seconds."""
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        try:
            main(["--config", str(config), "-q", *args, "--json"])
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise RuntimeError(f"milestones {' '.join(args)} exited {exc.code}") from None
    return json.loads(out.getvalue() or "{}"), time.perf_counter() - start


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    world = generate_world(seed=args.seed, contacts=args.contacts)
    server, section, token = start_server(args.provider, world, rate_limits=False)
    os.environ["BENCH_TOKEN"] = token
    folder = Path(tempfile.mkdtemp(prefix="milestones-plays-bench-"))
    rows = []
    try:
        config = write_config(folder, args.provider, section)
        run_cli(config, "fields", "--create")
        run_cli(config, "sync", "--full")
        run_cli(config, "sync")  # re-reads what the full sync wrote: not part of the figures
        for label, with_plays in (
            ("incremental, no plays", False),
            ("incremental, plays on (creates)", True),
            ("incremental, plays on (again)", True),
        ):
            if with_plays and PLAYS not in config.read_text():
                config.write_text(config.read_text() + PLAYS)
            before = server.stats()
            data, seconds = run_cli(config, "sync")
            after = server.stats()
            plays = data.get("plays") or {}
            rows.append(
                {
                    "run": label,
                    "api_calls": after["total"] - before["total"],
                    "tasks_created": plays.get("plays_opened", 0),
                    "seconds": round(seconds, 2),
                }
            )
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def main_benchmark(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=("hubspot", "salesforce"), default="salesforce")
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rows = measure(args)
    print(f"plays, {args.provider}, {args.contacts} contacts (seed {args.seed})")
    print(f"{'run':<34} {'API calls':>9} {'tasks':>6} {'seconds':>8}")
    for r in rows:
        print(f"{r['run']:<34} {r['api_calls']:>9} {r['tasks_created']:>6} {r['seconds']:>8}")


if __name__ == "__main__":
    main_benchmark()
