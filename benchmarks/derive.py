"""derive() throughput in-process: contacts per second on a synced org's real bundles.

    python -m benchmarks.derive --contacts 10000

It serves a seeded world from the Salesforce sandbox (whose pulls are not paced), runs
``milestones sync`` with write-back off as a child process to fill a state file, loads every
person's bundle (contact, deals, activities, referrals) from that mirror into memory, then
times ``mapping.derive`` alone over all of them: first without a prior result (a first
sync), then with the stored one (every later run). Best of ``--repeat`` passes.

Results go to ``benchmarks/results/derive-<contacts>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import machine, run_child, save_and_print, worker_argv
from milestones.config.settings import load_config
from milestones.mapping.derive import derive
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.world.gen import generate_world
from milestones.store.people import People
from milestones.store.rows import Person

RESULTS = Path(__file__).parent / "results"


def synced_state(contacts: int, seed: int, folder: Path) -> Path:
    """A config whose state holds a full, read-only sync of a seeded org."""
    world = generate_world(seed=seed, contacts=contacts)
    with SalesforceServer(world) as server:
        config = folder / "milestones.toml"
        config.write_text(
            f'provider = "salesforce"\n[salesforce]\ninstance_url = "{server.url}"\n'
            f'auth = "session"\nsession_id = "${{BENCH_TOKEN}}"\n'
            f'ca_bundle = "{server.ca_bundle}"\n[state]\npath = "{folder / "state.db"}"\n'
            "[writeback]\nenabled = false\n",
            encoding="utf-8",
        )
        env = {**os.environ, "BENCH_TOKEN": server.token}
        child = run_child(worker_argv(config, "sync"), env, folder, "sync")
        if child.returncode != 0:
            sys.exit(f"sync exited {child.returncode}\n{child.stderr[-3000:]}")
    return config


def load_everyone(db: sqlite3.Connection, chunk: int = 1_000) -> list[Person]:
    ids = [r[0] for r in db.execute("SELECT id FROM contacts ORDER BY id")]
    people: list[Person] = []
    for start in range(0, len(ids), chunk):
        people.extend(People(db).load(ids[start : start + chunk]).people)
    return people


def time_derive(people: list[Person], stages: Any, rules: Any, with_prior: bool) -> float:
    now = datetime.now(UTC)
    started = time.perf_counter()
    for person in people:
        derive(person.bundle, stages, rules, now, person.prior if with_prior else None)
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="milestones-derive-"))
    try:
        config_path = synced_state(args.contacts, args.seed, folder)
        config = load_config(config_path, environ={"BENCH_TOKEN": "unused"})
        with sqlite3.connect(config.state.path) as db:
            stages = People(db).stages()
            people = load_everyone(db)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    activities = sum(len(p.bundle.activities) for p in people)
    deals = sum(len(p.bundle.deals) for p in people)
    result: dict[str, Any] = {
        "contacts": args.contacts,
        "people_derived": len(people),
        "activities_per_person": round(activities / len(people), 2),
        "deals_per_person": round(deals / len(people), 2),
        "machine": machine(),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.derive", *sys.argv[1:]]),
    }
    for label, with_prior in (("first_sync", False), ("with_prior", True)):
        best = min(
            time_derive(people, stages, config.mapping, with_prior) for _ in range(args.repeat)
        )
        result[f"{label}_contacts_per_s"] = round(len(people) / best)
    return result


def markdown(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"### derive(), {result['people_derived']:,} people",
            "",
            f"{result['activities_per_person']} activities and {result['deals_per_person']} "
            "deals per person, bundles read from a synced mirror, derive() alone timed.",
            "",
            "| case | contacts per second |",
            "| --- | ---: |",
            f"| first sync (no prior result) | {result['first_sync_contacts_per_s']:,} |",
            f"| later runs (prior result given) | {result['with_prior_contacts_per_s']:,} |",
            "",
            f"Command: `{result['command']}`",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    result = run(args)
    out = None if args.no_save else args.out
    save_and_print(result, markdown(result), out, f"derive-{args.contacts}")


if __name__ == "__main__":
    main()
