"""The state store's own time on SQLite and on PostgreSQL, for the same full sync.

    python -m benchmarks.state_engines --contacts 2000 \\
        --postgres-url postgresql://milestones@127.0.0.1/milestones_test   # PGPASSWORD set

One seeded world is served by the sandbox in this process (rate limits off, the worker's
pacing waits skipped), and the engine runs in this process twice per state engine: the full
sync of the org, then a rerun (which reads back our own writes and writes nothing). Every
statement the store sends goes through a timing wrapper around its connection, so "store
seconds" is the time spent inside the database driver: executing, fetching, committing.
Printed per 1,000 contacts; nothing is asserted. The PostgreSQL org is a fresh schema,
dropped afterwards. Results go to ``benchmarks/results/state-engines-<contacts>.json``/``.md``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import machine, save_and_print
from benchmarks.sync import start_server
from milestones.config.settings import load_config
from milestones.sandbox.world.gen import generate_world
from milestones.store.location import StateLocation, open_state
from milestones.store.sqlite import Store
from milestones.sync.factory import build_connector, build_engine
from milestones.sync.run import RunOptions

RESULTS = Path(__file__).parent / "results"


@dataclass
class Clock:
    """Seconds spent inside the store's connection, and statements sent."""

    seconds: float = 0.0
    statements: int = 0


class TimedCursor:
    def __init__(self, cursor: Any, clock: Clock) -> None:
        self.cursor, self.clock = cursor, clock
        self.rowcount, self.lastrowid = cursor.rowcount, cursor.lastrowid

    def _timed(self, call: Any) -> Any:
        start = time.perf_counter()
        try:
            return call()
        finally:
            self.clock.seconds += time.perf_counter() - start

    def fetchone(self) -> Any:
        return self._timed(self.cursor.fetchone)

    def fetchall(self) -> list[Any]:
        return list(self._timed(self.cursor.fetchall))

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class TimedConnection:
    """The store's connection with a stopwatch around every call."""

    def __init__(self, db: Any, clock: Clock) -> None:
        self.db, self.clock = db, clock

    @property
    def in_transaction(self) -> bool:
        return bool(self.db.in_transaction)

    def close(self) -> None:
        self.db.close()

    def execute(self, sql: str, parameters: Any = (), /) -> TimedCursor:
        return self._run(self.db.execute, sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> TimedCursor:
        return self._run(self.db.executemany, sql, list(parameters))

    def _run(self, call: Any, sql: str, parameters: Any) -> TimedCursor:
        start = time.perf_counter()
        try:
            cursor = call(sql, parameters)
        finally:
            self.clock.seconds += time.perf_counter() - start
            self.clock.statements += 1
        return TimedCursor(cursor, self.clock)


def timed(store: Store, clock: Clock) -> Store:
    """Put the stopwatch between ``store``'s sub-APIs and its connection."""
    store.db = TimedConnection(store.db, clock)
    store._open_apis()
    return store


def run_engine(config_path: Path, where: StateLocation, env: dict[str, str]) -> dict[str, Any]:
    config = load_config(config_path, environ=env)
    figures: dict[str, Any] = {}
    for run in ("full", "rerun"):
        clock = Clock()
        start = time.perf_counter()
        with open_state(where) as state:
            timed(state, clock)
            connector = build_connector(config, sleep=lambda _s: None)
            engine = build_engine(config, state, connector)
            try:
                report = engine.run(RunOptions(mode="full" if run == "full" else "incremental"))
            finally:
                connector.close()
        figures[run] = {
            "wall_s": round(time.perf_counter() - start, 2),
            "store_s": round(clock.seconds, 3),
            "statements": clock.statements,
            "written": report.figures["written"],
            "api_calls": report.figures["api_calls"],
        }
    return figures


def drop_schema(url: str, org: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{org}" CASCADE')  # type: ignore[arg-type]


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="milestones-state-engines-"))
    org = f"bench_{os.getpid()}"
    engines: dict[str, StateLocation] = {"sqlite": StateLocation(folder / "state.db")}
    if args.postgres_url:
        engines["postgresql"] = StateLocation(folder / "state.db", args.postgres_url, org)
    result: dict[str, Any] = {"contacts": args.contacts, "provider": args.provider, "runs": {}}
    try:
        for engine, where in engines.items():
            world = generate_world(seed=args.seed, contacts=args.contacts)
            server, section, token = start_server(args.provider, world, rate_limits=False)
            try:
                config = folder / f"{engine}.toml"
                state = f'path = "{where.path.with_name(engine + ".db")}"\n'
                if where.url:
                    state += f'url = "{where.url}"\norg = "{org}"\n'
                    where = StateLocation(where.path, where.url, org)
                else:
                    where = StateLocation(where.path.with_name(engine + ".db"))
                config.write_text(
                    f'provider = "{args.provider}"\n{section}[state]\n{state}'
                    "[sync]\nlag_seconds = 0\nlookback_seconds = 0\n",
                    encoding="utf-8",
                )
                env = {**os.environ, "BENCH_TOKEN": token}
                ensure = build_connector(load_config(config, environ=env))
                ensure.ensure_fields(dry_run=False)
                ensure.close()
                result["runs"][engine] = run_engine(config, where, env)
            finally:
                server.stop()
    finally:
        if args.postgres_url:
            drop_schema(args.postgres_url, org)
    result["machine"] = machine()
    return result


def markdown(result: dict[str, Any]) -> str:
    per = 1000 / result["contacts"]
    lines = [
        f"State store time, {result['provider']} sandbox, {result['contacts']} contacts "
        "(seconds inside the store's driver; per 1,000 contacts in brackets)",
        "",
        "| engine | run | store s | per 1,000 | statements | wall s | API calls | written |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for engine, runs in result["runs"].items():
        for run, f in runs.items():
            lines.append(
                f"| {engine} | {run} | {f['store_s']:.2f} | {f['store_s'] * per:.2f} | "
                f"{f['statements']} | {f['wall_s']:.1f} | {f['api_calls']} | {f['written']} |"
            )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--provider", choices=("hubspot", "salesforce"), default="salesforce")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MILESTONES_TEST_POSTGRES_URL"),
        help="PostgreSQL database for the second engine (password in PGPASSWORD)",
    )
    parser.add_argument("--no-save", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run_benchmark(args)
    out = None if args.no_save else RESULTS
    save_and_print(result, markdown(result), out, f"state-engines-{args.contacts}")


if __name__ == "__main__":
    main()
