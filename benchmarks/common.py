"""What the sync benchmark measures with: the worker as a child process, and the floors.

The floor of a run is the fewest API calls that can do its work (DESIGN.md, Scale): the
pages that read every record changed in its window (records / page size per kind, plus the
association reads; the first run of a day also reads the owner names), plus the batches that
write every changed value (changed records / batch size per object). Records are counted
from the sandbox's own world and org, never from the worker's figures; the read arithmetic
is the pull benchmarks' (``hubspot_pull``, ``salesforce_pull``).

Documented sizes (reference/hubspot-api.md §1, §4.2; reference/salesforce-api.md §1.2, §2.1):
HubSpot lists page 100 records, search 200, v4 association reads take 1,000 ids, batch
update 100 inputs; Salesforce queries page 2,000 rows and sObject Collections take 200.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.hubspot_pull import TYPES as HUBSPOT_TYPES
from benchmarks.salesforce_pull import floor as salesforce_read_floor
from milestones.connectors.hubspot.settings import HUBSPOT_FIELD_NAMES
from milestones.connectors.salesforce.settings import SALESFORCE_FIELD_NAMES
from milestones.sandbox.world.store import World

HUBSPOT_LIST_PAGE, HUBSPOT_SEARCH_PAGE, HUBSPOT_ASSOC_IDS, HUBSPOT_BATCH = 100, 200, 1_000, 100
SALESFORCE_BATCH = 200
# HubSpot's pacing (reference/hubspot-api.md §6.1): ordinary calls 10 per second on average
# (100 per rolling 10 s), searches 5 per second on their own limit.
HUBSPOT_CALLS_PER_S, HUBSPOT_SEARCHES_PER_S = 10.0, 5.0


@dataclass
class Floor:
    """The fewest calls of one run, split the way the provider paces them."""

    reads: int = 0
    searches: int = 0  # HubSpot only: paced on their own limit
    writes: int = 0
    formula: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.reads + self.searches + self.writes

    def pacing_seconds(self, provider: str) -> float | None:
        """Shortest wall time the provider's rate limits allow one sequential client."""
        if provider != "hubspot":
            return None  # Salesforce limits concurrency and daily totals, not request rate
        ordinary = self.reads + self.writes
        return max(0, ordinary - 1) / HUBSPOT_CALLS_PER_S + self.searches / HUBSPOT_SEARCHES_PER_S


def _pages(n: int, size: int) -> int:
    return max(1, math.ceil(n / size))


def hubspot_floor(
    world: World, since_ms: int | None, until_ms: int, catalogue: bool = True
) -> Floor:
    """Read calls of one HubSpot pull: the stage catalogue, list or search pages, associations.

    ``catalogue``: whether the run must read the stage catalogue (a full run, or the first
    run of a day); other runs take the one kept in the state.

    A full pull lists each type's live and archived records (100 a page, one call even when
    empty); an incremental one searches records touched in the window (200 a page, one call
    even when nothing changed). Each association read covers 1,000 records.
    """
    floor = Floor(reads=int(catalogue), formula=["1 stage catalogue"] if catalogue else [])
    for kind, associations in HUBSPOT_TYPES.items():
        if since_ms is None:
            live, archived = world.count(kind), world.count(kind, True)
            lists = _pages(live, HUBSPOT_LIST_PAGE) + _pages(archived, HUBSPOT_LIST_PAGE)
            floor.reads += lists
            text = f"{kind}: ceil({live}/100)+ceil({archived}/100) list"
        else:
            with world.lock:
                live = sum(1 for r in world.iter(kind) if since_ms <= r.touched <= until_ms)
            floor.searches += _pages(live, HUBSPOT_SEARCH_PAGE)
            text = f"{kind}: ceil({live}/200) search"
        assoc = associations * math.ceil(live / HUBSPOT_ASSOC_IDS)
        floor.reads += assoc
        if associations:
            text += f" + {associations}*ceil({live}/1000) assoc"
        floor.formula.append(text)
    if since_ms is None:  # the day's first run: the owner names (500 a page)
        floor.reads += _pages(world.count("owner"), 500)
        floor.formula.append("1 owner list (first run of a day)")
    return floor


def salesforce_floor(
    server: Any, since: datetime | None, until: datetime, catalogue: bool = True
) -> Floor:
    """The stage catalogue (when due), then query pages: ceil(rows / 2000) per object, at
    least one."""
    pages = salesforce_read_floor(server, since, until)
    # The day's first run (the full one here) also reads the users' names: one page of 2000.
    owners = 1 if since is None else 0
    return Floor(
        reads=int(catalogue) + owners + sum(pages.values()),
        formula=(["1 stage catalogue"] if catalogue else [])
        + (["1 user list (first run of a day)"] if owners else [])
        + [f"{obj}: {n} page(s) of 2000" for obj, n in pages.items()],
    )


def add_history_floor(floor: Floor, world: World) -> Floor:
    """HubSpot's first sync with advocacy flags configured: the flagged people's property
    history, 50 a batch read (``propertiesWithHistory``); Salesforce reads it in the pull."""
    with world.lock:
        flagged = sum(1 for p in world.iter("person") if p.is_reference and not p.archived)
    if flagged:
        floor.reads += math.ceil(flagged / 50)
        floor.formula.append(f"flag history: ceil({flagged}/50) batch read")
    return floor


def add_write_floor(floor: Floor, provider: str, changed: Counter[str]) -> Floor:
    """Batches that write every changed record: ceil(changed / batch) per object."""
    size = HUBSPOT_BATCH if provider == "hubspot" else SALESFORCE_BATCH
    for obj, n in sorted(changed.items()):
        floor.writes += math.ceil(n / size)
        floor.formula.append(f"{obj}: ceil({n}/{size}) write")
    return floor


def written_values(world: World, provider: str) -> dict[tuple[str, int], tuple[Any, ...]]:
    """Our fields' values on every person and deal, as the CRM holds them now."""
    names = tuple(
        sorted(
            set((HUBSPOT_FIELD_NAMES if provider == "hubspot" else SALESFORCE_FIELD_NAMES).values())
        )
    )
    values = {}
    with world.lock:
        for kind in ("person", "deal"):
            for rec in world.records[kind].values():
                extra = rec.extra or {}
                values[(kind, rec.id)] = tuple(extra.get(n) for n in names)
    return values


def changed_objects(
    world: World, provider: str, before: dict[tuple[str, int], tuple[Any, ...]]
) -> Counter[str]:
    """How many records of each written object a run changed (values differ from before)."""
    after = written_values(world, provider)
    changed: Counter[str] = Counter()
    for key, value in after.items():
        if before.get(key, (None,) * len(value)) == value:
            continue
        kind, rid = key
        if kind == "deal":
            changed["deal" if provider == "hubspot" else "Opportunity"] += 1
        elif provider == "hubspot":
            changed["contact"] += 1
        else:
            person = world.get("person", rid)
            changed["Lead" if person.is_lead_only else "Contact"] += 1
    return changed


@dataclass
class ChildRun:
    """One worker process: exit code, output, and what it cost the machine."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


def run_child(argv: list[str], env: dict[str, str], folder: Path, name: str) -> ChildRun:
    """Run ``argv`` and read its own CPU time and peak RSS from ``wait4`` (not the sandbox's)."""
    out, err = folder / f"{name}.out", folder / f"{name}.err"
    hwm = folder / f"{name}.hwm"
    hwm.unlink(missing_ok=True)
    started = time.perf_counter()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        env = {**env, "BENCH_HWM_FILE": str(hwm)}
        proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return ChildRun(
        returncode=proc.returncode,
        stdout=out.read_text(),
        stderr=err.read_text(),
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=int(hwm.read_text()) / 1024 if hwm.exists() else 0.0,  # kB
    )


# Linux carries the parent's RSS at fork into a child's ru_maxrss across exec, so wait4 would
# report at least the benchmark's own size (the sandbox world). The worker therefore reads its
# own high-water mark (VmHWM, which belongs to the exec'd image) as it exits.
_WORKER = """
import atexit, os, runpy, sys
def _hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            open(os.environ['BENCH_HWM_FILE'], 'w').write(line.split()[1])
atexit.register(_hwm)
sys.argv[0] = 'milestones'
runpy.run_module('milestones', run_name='__main__', alter_sys=True)
"""


def worker_argv(config: Path, *args: str, profile: Path | None = None) -> list[str]:
    """The real CLI, ``python -m milestones --config <config> <args>``, in this interpreter.

    A few lines around it record the process's peak RSS at exit (see ``_WORKER``). With
    ``profile``, the worker runs under the standard library's cProfile on process CPU time
    instead and writes its statistics there (``.prof``; ``profile_table`` prints them).
    """
    tail = ["--config", str(config), *args]
    if profile is not None:
        return [sys.executable, "-c", _PROFILED, str(profile), *tail]
    return [sys.executable, "-c", _WORKER, *tail]


# cProfile timed on process CPU time, so waits for the API (pacing, the network) do not count.
_PROFILED = """
import cProfile, runpy, sys, time
out = sys.argv.pop(1)
sys.argv[0] = 'milestones'
profiler = cProfile.Profile(time.process_time)
try:
    profiler.runcall(runpy.run_module, 'milestones', run_name='__main__', alter_sys=True)
finally:
    profiler.dump_stats(out)
"""


def profile_table(path: Path, top: int = 10) -> str:
    """The ``top`` functions by their own CPU time in a cProfile dump, as a markdown table."""
    import pstats

    stats = pstats.Stats(str(path))
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    lines = [
        "| own s | share | calls | cumulative s | function |",
        "| ---: | ---: | ---: | ---: | --- |",
    ]
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in rows[:top]:
        where = f"{Path(filename).name}:{line}" if line else filename
        lines.append(
            f"| {own:.3f} | {own / total:.1%} | {calls:,} | {cumulative:.3f} | `{name}` ({where}) |"
        )
    return f"Total {total:.2f} CPU s\n\n" + "\n".join(lines)


STARTUP = (
    "import milestones.cli.main, milestones.cli.run, milestones.cli.running, "
    "milestones.sync.factory, "
    "milestones.connectors.hubspot.connector, milestones.connectors.salesforce.connector"
)


def startup_argv() -> list[str]:
    """A child that only imports what ``milestones sync`` imports: the start-up cost."""
    return [sys.executable, "-c", STARTUP]


def machine() -> dict[str, Any]:
    """Where the figures came from."""
    import platform

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def save_and_print(result: dict[str, Any], text: str, out: Path | None, stem: str) -> None:
    """Write ``<out>/<stem>.json`` and ``.md`` (unless ``out`` is None), then print the table."""
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        base = out / stem
        base.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
        base.with_suffix(".md").write_text(text)
    print(text)


def in_process_parser(description: str, results: Path, repeat_help: str) -> argparse.ArgumentParser:
    """The options of the in-process benchmarks (``replay``, ``floor``): which CRM, how big a
    world, how many repeats, where the results go. Read them with ``in_process_args``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--provider", choices=("hubspot", "salesforce"), default="salesforce")
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help=repeat_help)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=results, help="folder for the results")
    parser.add_argument("--no-save", action="store_true", help="print only, write no files")
    return parser


def in_process_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``in_process_parser``'s options read, a repeat count under one refused."""
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def in_process_header(name: str, args: argparse.Namespace, world: dict[str, Any]) -> dict[str, Any]:
    """What every in-process benchmark's result starts with: which, on what, where, when."""
    return {
        "benchmark": name,
        "provider": args.provider,
        "contacts": args.contacts,
        "seed": args.seed,
        "repeat": args.repeat,
        "world": world,
        "machine": machine(),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([f"python -m benchmarks.{name}", *sys.argv[1:]]),
    }
