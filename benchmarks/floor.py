"""The CPU floor of a full sync, beside what the worker spends on it.

    python -m benchmarks.floor --provider hubspot --contacts 10000

The call floor says how many API calls a sync cannot do without. This says how much CPU it
cannot do without, given what the product is built on: the vendor's client library (every
call goes through it), a SQLite state that keeps every record by its CRM id, and derive().
Four parts, each measured on the same seeded world and pull as ``benchmarks.replay``:

- ``library``: this thread's CPU inside the requests of one full pull by the real connector
  (``replay.requests_timed``): the vendor's client library building, sending and reading each
  call, and the JSON decoding of its answer. Not the pacing, retries or record conversion
  around them. Both sandboxes answer over https, as the real CRMs do (the
  other benchmarks serve HubSpot over plain http).
- ``write_library``: the same inside the write calls, each replay's planned writes sent to
  the sandbox through the connector's ``write`` in its batches (the replay's ``writes`` part
  includes them, as the worker's does).
- ``sql``: the SQL alone of a minimal state (``BARE_SCHEMA``): every pulled record stored once
  under its id with its values as one text, every activity and deal linked to its contacts,
  in transactions of the puller's ``GROUP_ROWS`` rows; then every person read back with
  their activities and deals, a derive chunk at a time. The texts and ids are made before
  the clock starts, and what is read back is not decoded.
- ``derive``: ``mapping.derive`` alone on every person's bundle, read back (untimed) from
  the state a replay left.

Left out, so the floor is lower than any sync could reach: interpreter start-up and
imports, the field check and stage catalogue read, deletions, cursors, dirty sets, the
outbox, the ledger, and any decoding of stored values.

The worker's figure beside it is the replay's: the pull's whole CPU (the library's included)
and each replayed part (store, people, deals, writes with their calls) on the same pages.
Every figure is the best of ``--repeat`` runs.
Results go to ``benchmarks/results/floor-<provider>-<contacts>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import shutil
import sqlite3
import tempfile
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import (
    in_process_args,
    in_process_header,
    in_process_parser,
    save_and_print,
)
from benchmarks.replay import (
    PhaseTimes,
    PulledPage,
    fresh_state,
    held_groups,
    pull_served,
    record_writes,
    requests_timed,
    serving,
    store_and_derive,
)
from benchmarks.sync import world_figures
from milestones.cli.main import YOUNG_COLLECTION_THRESHOLD
from milestones.mapping.derive import derive
from milestones.mapping.records import Activity, Contact, Deal, Link
from milestones.sandbox.world.gen import generate_world
from milestones.store.people import People
from milestones.sync.pull import GROUP_ROWS

RESULTS = Path(__file__).parent / "results"
CHUNK = 1_000  # people read back together, as a derive chunk reads them
CACHE_SIZE = -16_000  # KiB, the state's own page cache (``store/sqlite.py``)
BARE_SCHEMA = """
CREATE TABLE contacts (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE deals (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE activities (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE deal_links (
    deal_id TEXT NOT NULL, contact_id TEXT NOT NULL, PRIMARY KEY (deal_id, contact_id)
) WITHOUT ROWID;
CREATE TABLE activity_links (
    activity_id TEXT NOT NULL, contact_id TEXT NOT NULL, PRIMARY KEY (activity_id, contact_id)
) WITHOUT ROWID;
"""
# Built once the records are in, as the product builds its own link index after a first pull.
BARE_INDEXES = """
CREATE INDEX deal_links_contact ON deal_links(contact_id);
CREATE INDEX activity_links_contact ON activity_links(contact_id);
"""
READ_BACK = (
    "SELECT id, data FROM contacts WHERE id IN (SELECT value FROM json_each(?))",
    "SELECT l.contact_id, d.data FROM deal_links l JOIN deals d ON d.id = l.deal_id "
    "WHERE l.contact_id IN (SELECT value FROM json_each(?))",
    "SELECT l.contact_id, a.data FROM activity_links l JOIN activities a ON a.id = l.activity_id "
    "WHERE l.contact_id IN (SELECT value FROM json_each(?))",
)
# Which of the replay's parts (``benchmarks.replay.PHASES``, and its pull) each floor part is
# the least of.
GAPS = (
    ("pull (client)", ("pull",), "library"),
    ("store pages, people: load", ("store", "people_load"), "sql"),
    ("people: derive, plan, save; deals", ("people_derive", "deals"), "derive"),
    ("writes: the outbox and the write calls", ("writes",), "write_library"),
)
PARTS = {
    "library": "the vendor's client library and JSON decoding, the pull's calls",
    "write_library": "the same, the write calls",
    "sql": "SQL alone: every record stored once by its id, read back by person",
    "derive": "derive() alone, every person",
}

Statement = tuple[str, list[tuple[str, ...]]]


def _text(record: Any) -> str:
    return json.dumps(dataclasses.astuple(record), default=str, separators=(",", ":"))


def _statements(page: PulledPage) -> list[Statement]:
    """What storing one page takes in the bare state: its rows and links, texts made."""
    rows: dict[str, list[tuple[str, ...]]] = {
        "contacts": [],
        "deals": [],
        "activities": [],
        "deal_links": [],
        "activity_links": [],
    }
    for record in page.records:
        if isinstance(record, Contact):
            rows["contacts"].append((record.id, _text(record)))
        elif isinstance(record, Deal):
            rows["deals"].append((record.id, _text(record)))
            rows["deal_links"] += [(record.id, cid) for cid in record.contact_ids]
        elif isinstance(record, Activity):
            rows["activities"].append((record.id, _text(record)))
            rows["activity_links"] += [(record.id, cid) for cid in record.contact_ids]
        elif isinstance(record, Link):
            rows["deal_links"].append((record.deal_id, record.contact_id))
    return [
        (f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", values)
        for table, values in rows.items()
        if values
    ]


def _groups(pages: list[PulledPage]) -> list[list[Statement]]:
    """The pages' statements, a transaction's worth at a time, grouped as the puller holds
    pages (``replay.held_groups``)."""
    return [
        [statement for page in held for statement in _statements(page)]
        for _kind, held, _is_last in held_groups(pages, GROUP_ROWS)
    ]


def bare_sql(pages: list[PulledPage], folder: Path) -> float:
    """This thread's CPU for the SQL of storing the pages and reading every person back."""
    groups = _groups(pages)
    person_ids = sorted({r.id for page in pages for r in page.records if isinstance(r, Contact)})
    chunks = [json.dumps(person_ids[i : i + CHUNK]) for i in range(0, len(person_ids), CHUNK)]
    folder.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(folder / "bare.db", isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA cache_size={CACHE_SIZE}")
        db.executescript(BARE_SCHEMA)
        started = time.thread_time()
        for group in groups:
            db.execute("BEGIN")
            for sql, values in group:
                db.executemany(sql, values)
            db.execute("COMMIT")
        db.executescript(BARE_INDEXES)
        for chunk in chunks:
            for sql in READ_BACK:
                db.execute(sql, (chunk,)).fetchall()
        return time.thread_time() - started
    finally:
        db.close()


def derive_alone(state: Path, rules: Any, now: datetime) -> tuple[float, int]:
    """This thread's CPU for derive() on every live person of a replayed state, and how many:
    the bundles read a chunk at a time outside the clock."""
    spent, people = 0.0, 0
    with closing(sqlite3.connect(state)) as db:
        reader = People(db)
        stages = reader.stages()
        ids = [r[0] for r in db.execute("SELECT id FROM contacts ORDER BY id")]
        for start in range(0, len(ids), CHUNK):
            chunk = reader.load(ids[start : start + CHUNK]).people
            started = time.thread_time()
            for person in chunk:
                derive(person.bundle, stages, rules, now)
            spent += time.thread_time() - started
            people += len(chunk)
    return spent, people


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """``--repeat`` pulls; as many replays of the first pull's pages, each sending its writes
    to the sandbox through the connector; and the floor's parts on the same pages as often:
    each figure the best of its repeats, as ``benchmarks.replay`` takes them (a shared
    machine only ever adds time)."""
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])  # as the CLI runs
    world = generate_world(seed=args.seed, contacts=args.contacts)
    now = datetime.fromtimestamp(world.anchor_ms / 1000, UTC)
    figures = world_figures(world)
    folder = Path(tempfile.mkdtemp(prefix="milestones-floor-"))
    workers: list[dict[str, float]] = []
    floors: list[dict[str, float]] = []
    try:
        # HubSpot over https, as the real one: the client's TLS work is part of its floor.
        served = serving(args.provider, world, folder / "pull", hubspot_tls=True)
        with served as (config, connector, server):
            pulled = pull_served(args.provider, world, connector, server, args.repeat)
            del world
            for i, pull in enumerate(pulled.pulls):
                replayed = folder / f"replay-{i}"
                times = PhaseTimes()
                server.reset_stats()
                with fresh_state(replayed) as store:
                    store_and_derive(store, pulled, config, now, times)
                    with times.measure("writes"), requests_timed() as sent:
                        record_writes(
                            store, pulled.write_batch_size, now.isoformat(), connector.write
                        )
                write_calls = server.stats()["total"]
                workers.append({"pull": pull.cpu_s, **times.seconds})
                derive_s, people = derive_alone(replayed / "state.db", config.mapping, now)
                shutil.rmtree(replayed)
                floors.append(
                    {
                        "library": pull.library_cpu_s,
                        "write_library": sent[0],
                        "sql": bare_sql(pulled.pages, folder / f"bare-{i}"),
                        "derive": derive_s,
                    }
                )
                shutil.rmtree(folder / f"bare-{i}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    worker = {part: min(w[part] for w in workers) for part in workers[0]}
    floor = {part: min(f[part] for f in floors) for part in floors[0]}
    pull = pulled.pulls[0]
    per_1000 = 1000 / args.contacts
    floor_s, worker_s = sum(floor.values()), sum(worker.values())
    return {
        **in_process_header("floor", args, figures),
        "calls": pull.calls,
        "write_calls": write_calls,
        "rows": pull.rows,
        "people_derived": people,
        "floor": {part: round(s, 4) for part, s in floor.items()},
        "floor_s": round(floor_s, 3),
        "floor_per_1000_contacts": round(floor_s * per_1000, 4),
        "worker": {part: round(s, 4) for part, s in worker.items()},
        "worker_s": round(worker_s, 3),
        "worker_per_1000_contacts": round(worker_s * per_1000, 4),
        "worker_over_floor": round(worker_s / floor_s, 2),
    }


def markdown(result: dict[str, Any]) -> str:
    """The floor's parts and the worker's total beside it."""
    contacts, w = result["contacts"], result["world"]
    per = 1000 / contacts
    lines = [
        f"### CPU floor: {result['provider']}, {contacts:,} contacts",
        "",
        f"{w['people']:,} people, {w['deals']:,} deals, {w['activities']:,} activities: one full "
        f"pull of {result['rows']:,} rows in {result['calls']} calls, its writes in "
        f"{result['write_calls']} calls; derive() on "
        f"{result['people_derived']:,} people. CPU of this thread, each figure the best of "
        f"{result['repeat']} run{'' if result['repeat'] == 1 else 's'} of the pull, the replay "
        "and the floor.",
        "",
        "| part | CPU s | per 1,000 contacts |",
        "| --- | ---: | ---: |",
    ]
    for part, label in PARTS.items():
        seconds = result["floor"][part]
        lines.append(f"| {label} | {seconds:.3f} | {seconds * per:.4f} |")
    lines += [
        f"| **floor** | {result['floor_s']:.3f} | {result['floor_per_1000_contacts']:.4f} |",
        f"| the worker: the replay's pull and parts | {result['worker_s']:.3f} | "
        f"{result['worker_per_1000_contacts']:.4f} |",
        "",
        "Each of the worker's parts beside its floor, per 1,000 contacts:",
        "",
        "| the worker's part | worker | its floor | above the floor |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, parts, floor_part in GAPS:
        worker = sum(result["worker"][p] for p in parts) * per
        floor = result["floor"][floor_part] * per
        lines.append(f"| {label} | {worker:.4f} | {floor:.4f} | {worker - floor:.4f} |")
    lines += [
        "",
        f"The worker spends {result['worker_over_floor']}x the floor. The floor leaves out "
        "start-up and imports, cursors, dirty sets, the outbox and the ledger: no sync costs "
        "less.",
        "",
        f"Command: `{result['command']}`",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = in_process_parser(__doc__.splitlines()[0], RESULTS, "pulls, replays and floors")
    return in_process_args(parser, argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run_benchmark(args)
    out = None if args.no_save else args.out
    save_and_print(result, markdown(result), out, f"floor-{args.provider}-{args.contacts}")


if __name__ == "__main__":
    main()
