"""A full sync measured part by part, in this process: pull, store, people, deals, writes.

One command per CRM::

    python -m benchmarks.replay --provider salesforce --contacts 10000
    python -m benchmarks.replay --provider hubspot --contacts 10000 --repeat 5

The whole-run benchmark (``benchmarks.sync``) reads a worker process's CPU from ``wait4``;
on a shared machine that figure moves by 15-30% between runs of the same code and says
nothing of where the time goes. This one generates the same seeded world, serves it from
the sandbox in this process with rate limits off, and runs the real connector (built from a
real config by ``sync.factory.build_connector``, over HTTP, through the vendor's client
library) for ``--repeat`` full pulls, its pacing waits skipped (``PacingClock``), keeping
the first pull's pages in memory. It then replays those pages as many times into a fresh
state, each part as the engine does it:

- ``store``: each page through ``Mirror.apply_page`` in its own transaction, the kind's
  full-pull reconciliation in its last page's (``sync/pull.py``);
- ``people load`` and ``people derive``: ``Deriver.derive_people``, split into the time in
  ``People.load`` (reading the chunk back from the state) and the rest (derive, plan, save);
- ``deals``: ``Deriver.derive_deals``;
- ``writes``: the outbox read and recorded in the connector's write batch size, both passes,
  every write taken as accepted (``sync/writer.py`` without its HTTP).

Every part is timed with ``time.thread_time()`` on this thread: the sandbox answers each
request on a thread of its own (``ThreadingHTTPServer``), so the pull's figure is the
client's CPU alone (the server's, the rest of the process's CPU, is printed beside it). The
figure per part is the best of the repeats; their spread is printed too. Each
replay ends with a hash of every table of the state, so a change that alters what is stored
shows as a new hash (the same tree gives the same hash at every repeat and every run). The
clock of the replay is the world's anchor date, so the hash does not move with the calendar.

Not measured: interpreter start-up and imports, the stage catalogue read, the advocacy
flags' history (the config sets no flag properties), sending the writes (encoding each batch
and its HTTP call), the run log, the delete log, the owner names and the plays. Results go
to ``benchmarks/results/replay-<provider>-<contacts>.json`` and ``.md``; ``--save-baseline
RELEASE`` keeps them in ``baseline.json`` as that release's, set beside later results.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import inspect
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import baseline
from benchmarks.common import (
    in_process_args,
    in_process_header,
    in_process_parser,
    save_and_print,
)
from benchmarks.hubspot_pull import TYPES as HUBSPOT_TYPES
from benchmarks.salesforce_pull import rows_in
from benchmarks.sync import start_server, world_figures, write_config
from milestones.cli.main import YOUNG_COLLECTION_THRESHOLD
from milestones.config.settings import Config, load_config
from milestones.connectors.base import Connector, Record, Window
from milestones.connectors.salesforce.connector import OBJECTS as SALESFORCE_OBJECTS
from milestones.connectors.transport import Transport
from milestones.mapping.fields import Change
from milestones.mapping.records import Stage
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World
from milestones.store.outbox import Outbox
from milestones.store.privacy import KEY_META
from milestones.store.sqlite import Store
from milestones.sync import pull as sync_pull
from milestones.sync.derivation import Deriver
from milestones.sync.factory import build_connector
from milestones.sync.run import Checkpoints, RunReport
from milestones.sync.writer import OBJECT_KINDS

RESULTS = Path(__file__).parent / "results"
PHASES = ("store", "people_load", "people_derive", "deals", "writes")  # replayed
PARTS = ("pull", *PHASES)
LABELS = {
    "pull": "pull (client)",
    "store": "store pages",
    "people_load": "people: load",
    "people_derive": "people: derive, plan, save",
    "deals": "deals",
    "writes": "writes (outbox)",
}
PULL_ID = RUN_ID = 1
# The state's keyed email hashes depend on its privacy key, drawn at random in a new state:
# every replay gets this one instead, so equal states hash equal.
PRIVACY_KEY = "5a" * 32


@dataclass(frozen=True, slots=True)
class PulledPage:
    """One page as the connector handed it to the engine."""

    kind: str
    records: list[Record]
    deleted_ids: list[str]
    merges: list[tuple[str, str]]


@dataclass(slots=True)
class Pull:
    """One full pull: what it read, and what it cost this thread and the sandbox's."""

    pages: list[PulledPage]  # kept for the first pull only: the one replayed
    rows: int
    cpu_s: float  # this thread: the connector and its client library
    library_cpu_s: float  # of which inside the requests: the vendor's library and JSON decoding
    server_cpu_s: float  # the rest of the process: the sandbox's threads
    wall_s: float
    calls: int = 0


def rows_read(pages: list[PulledPage]) -> int:
    """The CRM rows the pages read: a deleted row that also comes as a record (Salesforce
    sends a deleted OpportunityContactRole as both, so its deal is re-derived) counts once,
    and a HubSpot merged-away id, named deleted beside its merge, not at all (the sandbox
    holds it as the survivor's alias, not as a record)."""
    total = 0
    for page in pages:
        merged = {gone for gone, _survivor in page.merges}
        total += len(({r.id for r in page.records} | set(page.deleted_ids)) - merged)
    return total


@dataclass(slots=True)
class Pulled:
    """What the replays start from: the first pull's pages, and every pull's figures."""

    stages: list[Stage]
    write_batch_size: int
    writes_by_parent: bool
    pulls: list[Pull]
    held_rows: int  # what a full pull must read, counted from the sandbox

    @property
    def pages(self) -> list[PulledPage]:
        return self.pulls[0].pages


class PacingClock:
    """The connector's clock and sleep, in which a pacing wait moves the clock on at once.

    The sandbox enforces no rate limit here, so a wait would only add wall time: the pacer
    still counts every call and computes every wait (its CPU is measured), and the calls
    are the same. HubSpot's pull then takes seconds instead of a minute and can be repeated.
    (The sandbox's rate-limit headers, on real time, then read as a spent second more
    often, and the client holds its pacer more often: a few more skipped waits, no call.)
    """

    def __init__(self) -> None:
        self.skipped = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    def sleep(self, seconds: float) -> None:
        self.skipped += seconds


def held_rows(provider: str, world: World, server: Any, until: datetime) -> int:
    """What a full pull must read, counted from the sandbox itself: every live and deleted
    record of each type the connector reads (Salesforce: every row of each sObject)."""
    if provider == "hubspot":
        with world.lock:
            return sum(world.count(kind) + world.count(kind, True) for kind in HUBSPOT_TYPES)
    until_ms = until.timestamp() * 1000
    return sum(
        rows_in(server, sobject, None, until_ms)
        for sobjects in SALESFORCE_OBJECTS.values()
        for sobject in sobjects
    )


@contextmanager
def serving(
    provider: str, world: World, folder: Path, *, hubspot_tls: bool = False
) -> Iterator[tuple[Config, Connector, Any]]:
    """The world served by the sandbox with rate limits off, and the real connector built from
    a real config for it, its fields made (what `milestones fields --create` does) and its
    pacing waits skipped: (config, connector, server), closed and stopped after the block.
    ``hubspot_tls``: HubSpot over https, as the real one (``sync.start_server``)."""
    folder.mkdir(parents=True, exist_ok=True)
    tls = folder / "tls" if hubspot_tls else None
    server, section, token = start_server(provider, world, rate_limits=False, hubspot_tls=tls)
    try:
        config = load_config(
            write_config(folder, provider, section), environ={**os.environ, "BENCH_TOKEN": token}
        )
        pacing = PacingClock()
        connector = build_connector(config, sleep=pacing.sleep, clock=pacing.monotonic)
        try:
            connector.ensure_fields(dry_run=False)
            yield config, connector, server
        finally:
            connector.close()
    finally:
        server.stop()


def pull_served(
    provider: str, world: World, connector: Connector, server: Any, repeat: int
) -> Pulled:
    """``repeat`` full pulls by a ``serving`` connector, the first one's pages kept."""
    stages = connector.stages()
    until = datetime.now(UTC)
    pulls = []
    for i in range(repeat):
        server.reset_stats()
        pull = pull_once(connector, Window(None, until))
        pull.calls = server.stats()["total"]
        if i:
            pull.pages = []  # the first pull's pages are the ones replayed
        pulls.append(pull)
    return Pulled(
        stages=list(stages),
        write_batch_size=max(1, connector.write_batch_size),
        # A release before writes in id order grouped every CRM's writes by company.
        writes_by_parent=getattr(connector, "writes_by_parent", True),
        pulls=pulls,
        held_rows=held_rows(provider, world, server, until),
    )


def pull_world(provider: str, world: World, folder: Path, repeat: int) -> tuple[Pulled, Config]:
    """``repeat`` full pulls by the real connector, and the config it was built from."""
    with serving(provider, world, folder) as (config, connector, server):
        return pull_served(provider, world, connector, server, repeat), config


@contextmanager
def requests_timed() -> Iterator[list[float]]:
    """This thread's CPU inside every request the connectors' ``Transport`` sends while the
    block runs: the vendor's client library building, sending and reading the call, and the
    JSON decoding of its answer (the request each connector hands its transport), without
    the pacing, retrying and record conversion around it. A one-item list, summed into."""
    spent = [0.0]
    send = Transport.send

    def timed_send(self: Transport, category: str, request: Any, **options: Any) -> Any:
        def timed() -> Any:
            started = time.thread_time()
            try:
                return request()
            finally:
                spent[0] += time.thread_time() - started

        return send(self, category, timed, **options)

    Transport.send = timed_send  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        Transport.send = send  # type: ignore[method-assign]


def pull_once(connector: Connector, window: Window) -> Pull:
    """Every kind pulled to its end, the pages kept as the engine receives them."""
    pages: list[PulledPage] = []
    wall, process, thread = time.perf_counter(), time.process_time(), time.thread_time()
    with requests_timed() as library:
        for kind in connector.kinds:
            for page in connector.pull(kind, window):
                pages.append(
                    PulledPage(
                        page.kind, list(page.records), list(page.deleted_ids), list(page.merges)
                    )
                )
    cpu = time.thread_time() - thread
    return Pull(
        pages=pages,
        rows=rows_read(pages),
        cpu_s=cpu,
        library_cpu_s=library[0],
        server_cpu_s=time.process_time() - process - cpu,
        wall_s=time.perf_counter() - wall,
        calls=0,
    )


class PhaseTimes:
    """Thread CPU seconds per phase of one replay."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)

    @contextmanager
    def measure(self, phase: str) -> Iterator[None]:
        started = time.thread_time()
        try:
            yield
        finally:
            self.seconds[phase] += time.thread_time() - started


def replay(
    pull: Pulled, config: Config, folder: Path, now: datetime
) -> tuple[dict[str, float], str, dict[str, str]]:
    """Store, derive and record the pulled pages in a fresh state: seconds per phase, and
    the hashes of the state it leaves (``state_hash``)."""
    times = PhaseTimes()
    with fresh_state(folder) as store:
        store_and_derive(store, pull, config, now, times)
        with times.measure("writes"):
            record_writes(store, pull.write_batch_size, now.isoformat())
        digest, tables = state_hash(store)
    return times.seconds, digest, tables


@contextmanager
def fresh_state(folder: Path) -> Iterator[Store]:
    """A new state in ``folder`` (emptied first), with the replays' fixed privacy key."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with Store(folder / "state.db") as store:
        with store.transaction():
            store.set_meta(KEY_META, PRIVACY_KEY)
        yield store


def store_and_derive(
    store: Store, pull: Pulled, config: Config, now: datetime, times: PhaseTimes
) -> None:
    """The pulled pages stored and everyone derived, as a full sync does before it writes:
    the outbox then holds every planned write. Each part timed into ``times``."""
    names = config.write_spec.names
    with store.transaction():
        store.mirror.replace_stages(sorted(pull.stages, key=lambda s: s.id))
    with times.measure("store"):
        # A release before grouped pages and the deferred link index: one page at a time.
        store_pages(store, pull.pages, names, getattr(sync_pull, "GROUP_ROWS", 0))
    deriver = Deriver(
        store,
        config.mapping,
        names,
        frozenset((*config.write_spec.person_objects, "deal")),
        config.sync.derive_chunk,
        lambda: now,
        Checkpoints(),
    )
    if hasattr(deriver, "by_parent"):  # as Engine sets it
        deriver.by_parent = pull.writes_by_parent
    report = RunReport(RUN_ID)
    load = store.people.load

    def timed_load(ids: Sequence[str]) -> Any:
        with times.measure("people_load"):
            return load(ids)

    # The deriver reads each chunk through ``store.people.load``: timed apart from the rest.
    store.people.load = timed_load  # type: ignore[method-assign]
    with times.measure("people_derive"):
        deriver.derive_people(now, report, None)
    times.seconds["people_derive"] -= times.seconds["people_load"]
    with times.measure("deals"):
        deriver.derive_deals(report, None)


def held_groups(
    pages: list[PulledPage], group_rows: int
) -> Iterator[tuple[str, list[PulledPage], bool]]:
    """The pages in the groups ``Puller.pull_kind`` stores together: kind by kind, held until
    they reach ``group_rows`` rows (records and deletions) or the kind's last page; each
    group with its kind and whether it ends the kind. ``group_rows=0``: a page at a time."""
    for kind in dict.fromkeys(page.kind for page in pages):
        kind_pages = [page for page in pages if page.kind == kind]
        held: list[PulledPage] = []
        rows = 0
        for i, page in enumerate(kind_pages):
            held.append(page)
            rows += len(page.records) + len(page.deleted_ids)
            is_last = i + 1 == len(kind_pages)
            if rows >= group_rows or is_last:
                yield kind, held, is_last
                held, rows = [], 0


def store_pages(store: Store, pages: list[PulledPage], names: Any, group_rows: int) -> None:
    """Pages stored as ``Puller.pull_kind`` stores them: held until they reach ``group_rows``
    rows, then in one transaction (its time bound does not apply: no page waits for the
    CRM here), a kind's last page also reconciling its full pull; and a first pull's link
    index built after it, as ``Engine`` does. A release before both: pass ``group_rows=0``."""
    deferred = False
    if group_rows:
        with store.transaction():
            deferred = store.mirror.defer_link_index()
    for kind, held, is_last in held_groups(pages, group_rows):
        with store.transaction():
            for one in held:
                store.mirror.apply_page(
                    one.kind, one.records, one.deleted_ids, PULL_ID, names, one.merges
                )
            if is_last:
                store.mirror.reconcile_full(kind, PULL_ID)
    if deferred:
        with store.transaction():
            store.mirror.restore_link_index()


def record_writes(
    store: Store, size: int, stamp: str, send: Callable[[list[Change]], object] | None = None
) -> None:
    """``Writer.send_writes`` with every write accepted: the outbox read in batches of the
    connector's size, per object kind, in both passes, each batch recorded; and sent first
    through ``send`` (a connector's ``write``) when one is given, else no HTTP."""
    for which in ("first", "retry"):
        for kind in OBJECT_KINDS:
            after = ("", "")
            while changes := store.outbox.batch(kind, after, size, which, RUN_ID):
                after = (changes[-1].group or "", changes[-1].record_id)
                if send is not None:
                    send(changes)
                written = [c.record_id for c in changes] if _RECORD_TAKES_IDS else changes
                with store.transaction():
                    store.outbox.record(kind, written, [], RUN_ID, stamp)


# Release 0.3.0's ``Outbox.record`` took the sent changes; later releases take their ids (the
# values are read from the outbox itself), so the same replay measures both.
_RECORD_TAKES_IDS = "Change" not in str(
    inspect.signature(Outbox.record).parameters["written"].annotation
)


def state_hash(store: Store) -> tuple[str, dict[str, str]]:
    """A hash of every row of every table (each table's rows in a sorted order), and one hash
    per table, to name the tables two states differ in."""
    digest = hashlib.sha256()
    tables = {}
    for table in store.tables():
        rows = sorted(repr(row) for row in store.db.execute(f"SELECT * FROM {table}"))
        digest.update(f"{table}\n{len(rows)}\n".encode())
        one = hashlib.sha256()
        for row in rows:
            digest.update(row.encode())
            one.update(row.encode())
        tables[table] = one.hexdigest()[:12]
    return digest.hexdigest()[:16], tables


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Pull ``args.repeat`` times, replay the first pull as many times, collect every figure."""
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])  # as the CLI runs
    world = generate_world(seed=args.seed, contacts=args.contacts)
    now = datetime.fromtimestamp(world.anchor_ms / 1000, UTC)
    figures = world_figures(world)
    folder = Path(tempfile.mkdtemp(prefix="milestones-replay-"))
    try:
        pulled, config = pull_world(args.provider, world, folder / "pull", args.repeat)
        del world  # the replays read only the pages
        repeats: list[dict[str, Any]] = []
        for i, pull in enumerate(pulled.pulls):
            seconds, digest, tables = replay(pulled, config, folder / f"replay-{i}", now)
            seconds = {"pull": pull.cpu_s, **seconds}
            repeats.append(
                {
                    "seconds": {p: round(s, 4) for p, s in seconds.items()},
                    "hash": digest,
                    "tables": tables,
                }
            )
            print(f"repeat {i + 1}/{args.repeat}: {_line(seconds)} state {digest}", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    best = {p: min(r["seconds"][p] for r in repeats) for p in PARTS}
    worst = {p: max(r["seconds"][p] for r in repeats) for p in PARTS}
    pulls = pulled.pulls
    result: dict[str, Any] = {
        **in_process_header("replay", args, figures),
        "pull": {
            "pages": len(pulled.pages),
            "rows": [p.rows for p in pulls],
            "held_rows": pulled.held_rows,
            "calls": [p.calls for p in pulls],
            "wall_s": round(min(p.wall_s for p in pulls), 2),
            "server_cpu_s": round(min(p.server_cpu_s for p in pulls), 3),
            "library_cpu_s": round(min(p.library_cpu_s for p in pulls), 3),
        },
        "phases": best,
        "per_1000_contacts": {p: round(s * 1000 / args.contacts, 4) for p, s in best.items()},
        "total_s": round(sum(best.values()), 3),
        "spread": {p: round(worst[p] / best[p] - 1, 3) if best[p] else 0.0 for p in PARTS},
        "state_hashes": [r["hash"] for r in repeats],
        "state_tables": repeats[0]["tables"],
        "repeats": repeats,
    }
    if not args.save_baseline:
        baseline.attach_replay(result)
    return result


def _line(seconds: dict[str, float]) -> str:
    return " ".join(f"{p} {s:.3f}" for p, s in seconds.items())


def markdown(result: dict[str, Any]) -> str:
    """The result as a markdown table, the previous release's figures beside it if kept."""
    w, pull, contacts = result["world"], result["pull"], result["contacts"]
    base = result.get("baseline")
    hashes = sorted(set(result["state_hashes"]))
    calls = pull["calls"]
    later = "" if len(set(calls)) == 1 else f" ({calls[1:]} on the later ones: metadata kept)"
    rows = (
        f"{pull['rows'][0]:,} rows (records and deletions) of the {pull['held_rows']:,} the "
        "sandbox holds"
        if len(set(pull["rows"])) == 1
        else f"rows {pull['rows']} (the pulls differ!) of the {pull['held_rows']:,} held"
    )
    lines = [
        f"### Replay: {result['provider']}, {contacts:,} contacts",
        "",
        f"{w['people']:,} people, {w['deals']:,} deals, {w['activities']:,} activities. "
        f"{result['repeat']} full pulls (pacing waits skipped), each reading {rows}, in "
        f"{pull['pages']} pages and {calls[0]} calls{later}; the fastest took {pull['wall_s']} s "
        f"wall, the sandbox's own CPU at least {pull['server_cpu_s']} s; of the pull's own "
        f"CPU, {pull['library_cpu_s']} s was inside the requests (the vendor's client library "
        "and JSON decoding). The first pull's pages "
        f"replayed {result['repeat']} times into a fresh state. CPU of this thread, best of the "
        "repeats (spread: the slowest over the best). "
        f"State hash {', '.join(hashes)}"
        + (" (the same at every repeat)." if len(hashes) == 1 else " (differs between repeats!)."),
        "",
    ]
    header = "| part | CPU s | per 1,000 contacts | spread |"
    rule = "| --- | ---: | ---: | ---: |"
    if base is not None:
        release = base["release"]
        header += f" {release} CPU s | {release} per 1,000 | now / {release} |"
        rule += " ---: | ---: | ---: |"
    lines += [header, rule]
    for part in [*result["phases"], "total"]:
        seconds = result["total_s"] if part == "total" else result["phases"][part]
        spread = result["spread"].get(part)
        cells = [
            LABELS.get(part, "**total**"),
            f"{seconds:.3f}",
            f"{seconds * 1000 / contacts:.4f}",
            "" if spread is None else f"{spread:.0%}",
        ]
        if base is not None:
            before = base["total_s"] if part == "total" else base["phases"].get(part)
            cells += (
                ["n/a", "n/a", "n/a"]
                if not before
                else [
                    f"{before:.3f}",
                    f"{before * 1000 / contacts:.4f}",
                    f"{seconds / before:.2f}x",
                ]
            )
        lines.append("| " + " | ".join(cells) + " |")
    if base is None:
        lines += ["", "No previous release's replay figures are kept for this set-up."]
    else:
        lines += [
            "",
            f"Release {base['release']} ({base['date']}): state hash {base['state_hash']}, "
            + differing_tables(result, base),
        ]
    lines += ["", f"Command: `{result['command']}`", ""]
    return "\n".join(lines)


def differing_tables(result: dict[str, Any], base: dict[str, Any]) -> str:
    """Whether a release's replay left this one's state, and if not, in which tables."""
    if base["state_hash"] in result["state_hashes"]:
        return "the same as this tree's."
    kept = base.get("state_tables")
    if not kept:
        return "not this tree's: the two store different state."
    ours = result["state_tables"]
    tables = sorted(t for t in set(kept) | set(ours) if kept.get(t) != ours.get(t))
    return "not this tree's: the two differ in " + ", ".join(tables) + "."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = in_process_parser(__doc__.splitlines()[0], RESULTS, "replays of the pulled pages")
    parser.add_argument(
        "--save-baseline",
        metavar="RELEASE",
        help="keep this result in baseline.json as RELEASE's replay figures",
    )
    return in_process_args(parser, argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run_benchmark(args)
    if args.save_baseline:
        baseline.save_replay(result, args.save_baseline)
    out = None if args.no_save else args.out
    save_and_print(result, markdown(result), out, f"replay-{args.provider}-{args.contacts}")


if __name__ == "__main__":
    main()
