"""Shared pieces of the reliability suite: a sandbox CRM, a config for it, runs of the engine.

A ``Crm`` is one running sandbox (HubSpot or Salesforce flavour) over real HTTP on 127.0.0.1,
a config file pointing at it and a state file. ``Crm.sync()`` runs the engine in-process,
built from that config exactly as ``milestones sync`` builds it (``open_engine``), except
that the connector's sleep and clock are virtual: fault storms are retried with the waits
the connector decides on, without spending them on the wall clock.

Outcomes are always judged in the sandbox's records (``crm_values``), never in our state.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from milestones.connectors.settings import HUBSPOT_FIELD_NAMES, SALESFORCE_FIELD_NAMES
from milestones.sandbox.hubspot_api import HubSpotServer
from milestones.sandbox.salesforce_api import SalesforceServer
from milestones.sandbox.server import SandboxServer
from milestones.sandbox.world import World
from milestones.sync.config import load_config
from milestones.sync.engine import Engine, RunOptions, RunReport
from milestones.sync.factory import build_connector
from milestones.sync.state import State

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

    def engine(self, state: State, batch_size: int | None = None) -> Engine:
        """The engine ``milestones sync`` would build from the config, with virtual waits."""
        config = load_config(self.config, environ=self.env)
        connector = build_connector(config, sleep=self.time.sleep, clock=self.time.clock)
        if batch_size is not None:
            connector.write_batch_size = batch_size
        return Engine(
            state,
            connector,
            config.mapping,
            config.write_spec.names,
            lookback=timedelta(seconds=config.sync.lookback_seconds),
            lag=timedelta(seconds=config.sync.lag_seconds),
            chunk_size=config.sync.derive_chunk,
            objects=(*config.write_spec.person_objects, "deal"),
        )

    def sync(self, mode: str = "incremental", batch_size: int | None = None) -> RunReport:
        """One engine run against this CRM (the connector is closed after it)."""
        with State(self.state) as state:
            engine = self.engine(state, batch_size)
            try:
                return engine.run(RunOptions(mode=mode))  # type: ignore[arg-type]
            finally:
                engine.connector.close()

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
    world = World.generate(seed=seed, contacts=contacts)
    state = tmp / "state.db"
    config = tmp / "milestones.toml"
    common = f'[state]\npath = "{state}"\n[sync]\nlag_seconds = 0\n{extra_config}'
    if provider == "hubspot":
        server: SandboxServer = HubSpotServer(world, token=HUBSPOT_TOKEN, faults=faults).start()
        config.write_text(
            f'provider = "hubspot"\n[hubspot]\naccess_token = "${{HUBSPOT_ACCESS_TOKEN}}"\n'
            f'base_url = "{server.url}"\n[hubspot.pacing]\nmax_attempts = 12\n{common}'
        )
        env = {"HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN}
    else:
        sf = SalesforceServer(world, session_id=SALESFORCE_SESSION, faults=faults).start()
        server = sf
        config.write_text(
            f'provider = "salesforce"\n[salesforce]\ninstance_url = "{sf.url}"\n'
            f'auth = "session"\nsession_id = "${{SF_SESSION_ID}}"\n'
            f'ca_bundle = "{sf.ca_bundle}"\n[salesforce.pacing]\nmax_attempts = 12\n{common}'
        )
        env = {"SF_SESSION_ID": SALESFORCE_SESSION}
    return Crm(provider, server, world, config, state, env)


def differing(expected: CrmValues, actual: CrmValues) -> dict[tuple[str, int], Any]:
    """Records whose written fields differ: key -> (expected, actual)."""
    keys = set(expected) | set(actual)
    return {k: (expected.get(k), actual.get(k)) for k in keys if expected.get(k) != actual.get(k)}


def failed_writes(state: Path) -> dict[str, tuple[str, str]]:
    """Record id -> (code, reason) of every write the state keeps as failed."""
    import sqlite3

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
