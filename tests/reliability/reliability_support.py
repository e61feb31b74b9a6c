"""Shared pieces of the reliability suite: a sandbox CRM, a config for it, runs of the engine.

A ``Crm`` is one running sandbox (HubSpot or Salesforce flavour) over real HTTP on 127.0.0.1,
a config file pointing at it and a state file. ``Crm.sync()`` runs the engine in-process,
built from that config exactly as ``milestones sync`` builds it (``open_engine``), except
that the connector's sleep and clock are virtual: fault storms are retried with the waits
the connector decides on, without spending them on the wall clock.

Outcomes are always judged in the sandbox's records (``crm_values``), never in our state.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

from milestones.cli.main import main
from milestones.config.settings import load_config
from milestones.connectors.hubspot.settings import HUBSPOT_FIELD_NAMES
from milestones.connectors.salesforce.settings import SALESFORCE_FIELD_NAMES
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.server.core import Request, Response, SandboxServer, json_response
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World
from milestones.store.sqlite import Store
from milestones.sync.engine import Engine
from milestones.sync.factory import build_connector, build_engine
from milestones.sync.run import CrashHook, RunOptions, RunReport

SEED = 23
HUBSPOT_TOKEN = "pat-na1-reliability-0f3c9a7e-hubspot-token"
SALESFORCE_SESSION = "00D000000000001!AQ0AQReliabilitySessionSecretValue"
CrmValues = dict[tuple[str, int], dict[str, Any]]


class VirtualTime:
    """A monotonic clock that only moves when the connector sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        seconds = max(1e-6, seconds)
        self.now += seconds
        self.slept += seconds


@dataclass
class Crm:
    """One sandbox CRM, its config file and the worker's state file."""

    provider: str
    server: SandboxServer
    world: World
    config: Path
    state: Path
    env: dict[str, str] = field(default_factory=dict)
    time: VirtualTime = field(default_factory=VirtualTime)

    @property
    def names(self) -> dict[str, str]:
        """Canonical key -> this CRM's field name."""
        return dict(HUBSPOT_FIELD_NAMES if self.provider == "hubspot" else SALESFORCE_FIELD_NAMES)

    def engine(
        self, state: Store, batch_size: int | None = None, crash: CrashHook | None = None
    ) -> Engine:
        """The engine ``milestones sync`` would build from the config, with virtual waits.

        Like the command, it honours ``MILESTONES_CRASH_AT`` unless ``crash`` is given.
        """
        config = load_config(self.config, environ=self.env)
        connector = build_connector(config, sleep=self.time.sleep, clock=self.time.clock)
        if batch_size is not None:
            connector.write_batch_size = batch_size
        return build_engine(
            config, state, connector, crash=crash or CrashHook.from_environ(os.environ)
        )

    def sync(self, mode: str = "incremental", batch_size: int | None = None) -> RunReport:
        """One engine run against this CRM (the connector is closed after it)."""
        with Store(self.state) as state:
            engine = self.engine(state, batch_size)
            try:
                return engine.run(RunOptions(mode=mode))  # type: ignore[arg-type]
            finally:
                engine.connector.close()

    def cli(self, *args: str, env: Mapping[str, str] | None = None) -> Outcome:
        """``milestones --config <config> <args>`` in-process, with virtual retry waits."""
        return run_cli(["--config", str(self.config), *args], {**self.env, **(env or {})}, self)

    def ensure_fields(self) -> None:
        """Create our fields in the CRM (``milestones fields --create``)."""
        config = load_config(self.config, environ=self.env)
        connector = build_connector(config, sleep=self.time.sleep, clock=self.time.clock)
        try:
            connector.ensure_fields(dry_run=False)
        finally:
            connector.close()

    def crm_values(self) -> CrmValues:
        """Every person's and deal's values of our fields, as the CRM holds them."""
        ours = set(self.names.values())
        result: CrmValues = {}
        with self.world.lock:
            for kind in ("person", "deal"):
                for rid in self.world.ids(kind):
                    record = self.world.get(kind, rid)
                    extra = (record.extra or {}) if record is not None else {}
                    result[(kind, rid)] = {k: v for k, v in extra.items() if k in ours}
        return result

    def settle(self) -> None:
        """Salesforce's SystemModstamp has one-second granularity: let a changed second pass."""
        if self.provider == "salesforce":
            time.sleep(1.1)

    def stop(self) -> None:
        self.server.stop()


@dataclass
class Outcome:
    """What a command printed and its exit code."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(argv: list[str], env: Mapping[str, str], crm: Crm | None = None) -> Outcome:
    """Run ``milestones`` in-process with ``env`` set; connectors wait in virtual time."""
    waits = crm.time if crm is not None else VirtualTime()

    def build(config: Any, **options: Any) -> Any:
        return build_connector(config, **{"sleep": waits.sleep, "clock": waits.clock, **options})

    out, err = io.StringIO(), io.StringIO()
    patches = [
        mock.patch(f"milestones.{module}.build_connector", build)
        # the CLI imports the factory when a command runs; sync.checks holds its own name
        for module in ("sync.checks", "sync.factory")
    ]
    code = 0
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        stack.enter_context(mock.patch.dict(os.environ, dict(env)))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Outcome(code, out.getvalue(), err.getvalue())


def start_crm(
    provider: str,
    tmp: Path,
    contacts: int,
    *,
    seed: int = SEED,
    faults: str | None = None,
    extra_config: str = "",
) -> Crm:
    """Generate a world, serve it as ``provider`` on 127.0.0.1, write a config for it."""
    tmp.mkdir(parents=True, exist_ok=True)
    world = generate_world(seed=seed, contacts=contacts)
    state = tmp / "state.db"
    config = tmp / "milestones.toml"
    common = f'[state]\npath = "{state}"\n[sync]\nlag_seconds = 0\n{extra_config}'
    if provider == "hubspot":
        server: SandboxServer = HubSpotServer(world, token=HUBSPOT_TOKEN, faults=faults).start()
        config.write_text(
            f'provider = "hubspot"\n[hubspot]\naccess_token = "${{HUBSPOT_ACCESS_TOKEN}}"\n'
            f'base_url = "{server.url}"\n{common}'
        )
        env = {"HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN}
    else:
        sf = SalesforceServer(world, session_id=SALESFORCE_SESSION, faults=faults).start()
        server = sf
        config.write_text(
            f'provider = "salesforce"\n[salesforce]\ninstance_url = "{sf.url}"\n'
            f'auth = "session"\nsession_id = "${{SF_SESSION_ID}}"\n'
            f'ca_bundle = "{sf.ca_bundle}"\n{common}'
        )
        env = {"SF_SESSION_ID": SALESFORCE_SESSION}
    return Crm(provider, server, world, config, state, env)


def differing(expected: CrmValues, actual: CrmValues) -> dict[tuple[str, int], Any]:
    """Records whose written fields differ: key -> (expected, actual).

    A property never set and one set then cleared both read as null in the CRM: equal here.
    """

    def present(values: dict[str, Any] | None) -> dict[str, Any]:
        return {k: v for k, v in (values or {}).items() if v is not None}

    keys = set(expected) | set(actual)
    return {
        k: (expected.get(k), actual.get(k))
        for k in keys
        if present(expected.get(k)) != present(actual.get(k))
    }


def failed_writes(state: Path) -> dict[str, tuple[str, str]]:
    """Record id -> (code, reason) of every write the state keeps as failed."""
    with sqlite3.connect(state) as db:
        rows = db.execute(
            "SELECT record_id, code, message FROM writes WHERE status = 'failed'"
        ).fetchall()
    return {rid: (code or "", message or "") for rid, code, message in rows}


def apply_changes(crms: list[Crm], changes: list[Mapping[str, Any]]) -> None:
    """Apply the same sandbox mutations to every CRM (their worlds stay twins)."""
    for crm in crms:
        for change in changes:
            crm.server.mutate(**dict(change))


Rewrite = Callable[[Request, Response | None], Response | None]


class Tamper:
    """Rewrites some of a sandbox's answers: the API misbehaving in one precise way.

    ``matches`` picks requests (method and path); ``before`` runs first (e.g. deletes a field
    mid-run); ``rewrite`` gets the request and the answer the sandbox sent (None when
    ``serve`` is false: the sandbox never saw the request) and returns what to send instead
    (None drops the connection). ``times`` bounds how many matching requests are tampered.
    """

    def __init__(
        self,
        server: SandboxServer,
        matches: Callable[[Request], bool],
        rewrite: Rewrite | None = None,
        times: int | None = None,
        *,
        before: Callable[[Request], None] | None = None,
        serve: bool = True,
    ) -> None:
        self.server, self.matches, self.rewrite, self.times = server, matches, rewrite, times
        self.before, self.serve = before, serve
        self.hits = 0
        self._handle = server.handle
        server.handle = self._handle_one  # type: ignore[method-assign]

    def _handle_one(self, req: Request) -> Response | None:
        hit = not req.path.startswith("/_sandbox/") and self.matches(req)
        if hit and self.times is not None and self.hits >= self.times:
            hit = False
        if not hit:
            return self._handle(req)
        self.hits += 1
        if self.before is not None:
            self.before(req)
        answer = self._handle(req) if self.serve else None
        return answer if self.rewrite is None else self.rewrite(req, answer)

    def remove(self) -> None:
        self.server.handle = self._handle  # type: ignore[method-assign]


def edit_json(edit: Callable[[Any], Any]) -> Rewrite:
    """A rewrite that edits the JSON body of the sandbox's answer."""

    def rewrite(req: Request, answer: Response | None) -> Response | None:
        assert answer is not None
        payload = json.loads(answer.body)
        edited = edit(payload)
        return json_response(answer.status, payload if edited is None else edited)

    return rewrite


def answer_with(status: int, body: bytes | str, content_type: str = "text/html") -> Rewrite:
    """A rewrite that answers ``status`` with ``body`` whatever the sandbox said."""
    data = body.encode() if isinstance(body, str) else body

    def rewrite(req: Request, answer: Response | None) -> Response | None:
        return Response(status, data, [("Content-Type", content_type)])

    return rewrite


def path_is(method: str, fragment: str) -> Callable[[Request], bool]:
    """Requests with this method whose path contains ``fragment``."""
    return lambda req: req.method == method and fragment in req.path


@contextlib.contextmanager
def connections() -> Iterator[list[str]]:
    """Every host the process resolves or connects to while the block runs."""
    seen: list[str] = []
    resolve, connect = socket.getaddrinfo, socket.socket.connect

    def recording_resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(host))
        return resolve(host, *args, **kwargs)

    def recording_connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple):
            seen.append(str(address[0]))
        return connect(self, address)

    with (
        mock.patch.object(socket, "getaddrinfo", recording_resolve),
        mock.patch.object(socket.socket, "connect", recording_connect),
    ):
        yield seen


WORLD_KINDS = {"contacts": ("person",), "deals": ("deal",), "activities": ("email", "call")}
WORLD_KINDS["activities"] += ("meeting", "note")
SALESFORCE_KINDS = {"contacts": ("person",), "deals": ("deal",)}


def crm_id(crm: Crm, kind: str, record: Any) -> str:
    """The id the CRM shows for a world record (HubSpot: the world id; Salesforce: its Id)."""
    if crm.provider == "hubspot":
        return str(record.id)
    rendered = crm.server.render(kind, record)
    row = rendered.get("Contact") or rendered.get("Opportunity") or rendered.get("Lead")
    return str(row["Id"])


def check_cursors_cover_the_mirror(crm: Crm) -> int:
    """No completed cursor passes a record the mirror lacks; returns the records checked."""
    checked = 0
    kinds = WORLD_KINDS if crm.provider == "hubspot" else SALESFORCE_KINDS
    with sqlite3.connect(crm.state) as db:
        cursors = db.execute(
            "SELECT kind, committed FROM cursors WHERE committed IS NOT NULL AND lane = 'sync'"
        ).fetchall()
        for kind, committed in cursors:
            if kind not in kinds:
                continue
            stored = {row[0] for row in db.execute(f"SELECT id FROM {kind}")}
            until_ms = int(datetime.fromisoformat(committed).timestamp() * 1000)
            with crm.world.lock:
                for world_kind in kinds[kind]:
                    for record in crm.world.iter(world_kind):
                        if record.touched < until_ms:  # also < until at Salesforce's seconds
                            rid = crm_id(crm, world_kind, record)
                            assert rid in stored, (kind, record.id, rid, committed)
                            checked += 1
    return checked
